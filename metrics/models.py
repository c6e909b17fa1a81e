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
    Random, not a counter, so a rolled-back test never brings an old token back.
    A restored backup does bring back the token it was taken with: clear the
    cache after a restore (docs/architecture.md). TRUNCATE fires no row trigger,
    so clearing a watched table by hand needs the same.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    token = models.UUIDField(default=uuid.uuid4)

    def __str__(self) -> str:
        return f"metrics data version {self.token}"
