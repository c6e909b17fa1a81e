from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    """What auditors browse and download: the change-log pages, exports and evidence packs.

    It sits above the domain apps because it reads all of them; the change log
    itself (`audit`) stays at the bottom and imports none.
    """

    name = "evidence"
    verbose_name = "Change-log pages and evidence packs"
