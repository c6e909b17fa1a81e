from django.db import models


class RefusalTally(models.Model):
    """Refusals without an authenticated user from one address in one minute.

    The first refusal of the minute is written to the change log at once; the
    others only add to `count`, and once the minute is over one summary entry
    carries the count (relapp.refusals). Anyone can send requests, so without
    this anyone could grow the append-only log at will.
    """

    client_ip = models.GenericIPAddressField()
    minute = models.DateTimeField()
    count = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client_ip", "minute"], name="refusal_tally_once")
        ]

    def __str__(self) -> str:
        return f"{self.client_ip} {self.minute:%Y-%m-%d %H:%M}: {self.count}"
