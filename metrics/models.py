import uuid

from django.db import models


class DataVersion(models.Model):
    """One row whose token changes whenever anything the figures read changes.

    The figures are a pure function of the data, the reader's scope and the
    filter, so a result cached under this token can never be stale: on
    PostgreSQL a trigger on every table the figures or the scope read
    (releases, deployments, sign-offs, artifacts, activities, users and their
    permissions, submission and halt entries of the change log) gives the row
    a new random token when the writing transaction commits, whatever door the
    write came through (services, API, admin, a management command, raw SQL).
    Random, not a counter, so a restored backup or a rolled-back test never
    brings an old token, and its cached figures, back.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    token = models.UUIDField(default=uuid.uuid4)

    def __str__(self) -> str:
        return f"metrics data version {self.token}"
