"""Which provider account a Relapp account belongs to."""

from django.conf import settings
from django.db import models


class ExternalIdentity(models.Model):
    """The OpenID Connect subject (`sub`) a Relapp account was created for.

    Users are found by the username claim, but a provider may reuse a
    username for someone else (a rename, a deleted and re-created account).
    The subject is stable, so a sign-in whose subject differs from the one
    recorded for that username is refused.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities"
    )
    provider = models.CharField(max_length=40)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="one_account_per_subject"),
            models.UniqueConstraint(fields=["user", "provider"], name="one_subject_per_account"),
        ]

    def __str__(self) -> str:
        return f"{self.user} = {self.provider}:{self.subject}"


class UserTimeZone(models.Model):
    """The IANA time zone a person reads and enters times in (stored times stay UTC).

    No row means UTC. The first sign-in fills it from the browser.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="time_zone"
    )
    name = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.name}"
