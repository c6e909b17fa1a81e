from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min
from django.utils import timezone

from audit.models import ChangeLogEntry
from auditstream.models import StreamDestination


@dataclass(frozen=True)
class DestinationStatus:
    """One destination as its page shows it: how far behind, since when, and why."""

    destination: StreamDestination
    head_seq: int
    pending: int
    oldest_pending_at: datetime | None

    @property
    def lag_entries(self) -> int:
        return max(0, self.head_seq - self.destination.delivered_seq)

    @property
    def lag_seconds(self) -> int | None:
        if self.oldest_pending_at is None:
            return None
        return int((timezone.now() - self.oldest_pending_at).total_seconds())


def destination_statuses() -> list[DestinationStatus]:
    """Every destination with its lag; two queries whatever the number of destinations."""
    head = ChangeLogEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    destinations = StreamDestination.objects.annotate(
        pending_count=Count("outbox"), oldest_pending=Min("outbox__created_at")
    ).order_by("name")
    return [
        DestinationStatus(
            destination=destination,
            head_seq=head,
            pending=destination.pending_count,
            oldest_pending_at=destination.oldest_pending,
        )
        for destination in destinations
    ]
