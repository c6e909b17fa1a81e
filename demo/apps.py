from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo users and releases for `make run` (`python manage.py seed_demo`).

    Kept out of the domain apps: it only calls their services, like any other client.
    """

    name = "demo"
    verbose_name = "Demo data"
