"""Reads of the change log: filtered, keyset-paginated, constant queries per page."""

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.chain import GENESIS_HASH, HASHED_FIELDS, entry_document, entry_hash
from audit.models import Action, ChangeLogEntry

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class ChangelogFilters:
    """What an auditor narrows the log to; every part is optional.

    `date_from`/`date_to` are whole days in the display time zone, both
    included.
    """

    release: Any = None
    product: Any = None
    actor: Any = None
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def describe(self) -> dict[str, str]:
        """The filters in force, as text (for export headers)."""
        described = {
            "release": str(self.release) if self.release is not None else "",
            "release_id": str(self.release.pk) if self.release is not None else "",
            "product": self.product.slug if self.product is not None else "",
            "actor": self.actor.get_username() if self.actor is not None else "",
            "action": self.action,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
        }
        return {key: value for key, value in described.items() if value}


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def changelog_queryset(*, filters: ChangelogFilters) -> QuerySet[ChangeLogEntry]:
    """Entries matching the filters, unordered.

    Release, product, actor and action each hit their (column, -seq) index,
    so `ORDER BY seq` with a LIMIT reads only the rows it shows.
    """
    entries = ChangeLogEntry.objects.all()
    if filters.release is not None:
        entries = entries.filter(release_id=filters.release.pk)
    if filters.product is not None:
        entries = entries.filter(product_id=filters.product.pk)
    if filters.actor is not None:
        entries = entries.filter(actor_id=filters.actor.pk)
    if filters.action:
        entries = entries.filter(action=filters.action)
    if filters.date_from is not None:
        entries = entries.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to is not None:
        entries = entries.filter(created_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    return entries


@dataclass
class ChangelogPage:
    """One page, newest first, with the cursors for its neighbours.

    `newer_after` goes into `?after=` for the page of newer entries and
    `older_before` into `?before=` for older ones; None means no such page.
    """

    entries: list[ChangeLogEntry] = field(default_factory=list)
    newer_after: int | None = None
    older_before: int | None = None


def changelog_page(
    *,
    filters: ChangelogFilters,
    before_seq: int | None = None,
    after_seq: int | None = None,
    limit: int = PAGE_SIZE,
) -> ChangelogPage:
    """A page of entries by keyset on seq: never OFFSET, so page 20,000 costs
    what page 1 costs. Two queries: the page (one row more than shown, to
    know whether more follow) and an EXISTS for the other direction.
    """
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    matching = changelog_queryset(filters=filters)
    rows = matching.select_related("release__product", "product")
    if after_seq is not None:
        entries = list(rows.filter(seq__gt=after_seq).order_by("seq")[: limit + 1])
        has_newer = len(entries) > limit
        entries = entries[:limit][::-1]
        has_older = bool(entries) and matching.filter(seq__lt=entries[-1].seq).exists()
    else:
        if before_seq is not None:
            rows = rows.filter(seq__lt=before_seq)
        entries = list(rows.order_by("-seq")[: limit + 1])
        has_older = len(entries) > limit
        entries = entries[:limit]
        has_newer = (
            before_seq is not None
            and bool(entries)
            and matching.filter(seq__gt=entries[0].seq).exists()
        )
    return ChangelogPage(
        entries=entries,
        newer_after=entries[0].seq if has_newer else None,
        older_before=entries[-1].seq if has_older else None,
    )


REFUSALS = (Action.ACCESS_REFUSED, Action.SIGNOFF_REFUSED)


def changelog_for_release(*, release, limit: int = 200, reader=None) -> list[ChangeLogEntry]:
    """A release's timeline, oldest first (the release page shows it).

    With a `reader`, other people's refusals are left out: they are noise on
    the release page and stay in the change log itself.
    """
    entries = ChangeLogEntry.objects.filter(release_id=release.pk)
    if reader is not None:
        entries = entries.exclude(Q(action__in=REFUSALS) & ~Q(actor_id=reader.pk))
    return list(entries.order_by("-seq")[:limit])[::-1]


# --- one entry ------------------------------------------------------------


@dataclass(frozen=True)
class EntryIntegrity:
    """Whether one entry's stored hash matches its contents and its predecessor."""

    hash_matches: bool
    linked: bool

    @property
    def ok(self) -> bool:
        return self.hash_matches and self.linked


def changelog_entry_integrity(*, entry: ChangeLogEntry) -> EntryIntegrity:
    values = {name: getattr(entry, name) for name in HASHED_FIELDS}
    recomputed = entry_hash(entry.prev_hash, entry_document(values))
    if entry.seq == 1:
        previous_hash = GENESIS_HASH
    else:
        previous_hash = (
            ChangeLogEntry.objects.filter(seq=entry.seq - 1).values_list("hash", flat=True).first()
        )
    return EntryIntegrity(
        hash_matches=recomputed == entry.hash, linked=previous_hash == entry.prev_hash
    )


@dataclass(frozen=True)
class DiffRow:
    name: str
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def changelog_entry_diff(*, before: Any, after: Any) -> list[DiffRow]:
    """Field-by-field before/after. A missing side is None (shown as "—")."""
    if before is None and after is None:
        return []
    if isinstance(before, dict | None) and isinstance(after, dict | None):
        old, new = before or {}, after or {}
        names = sorted(set(old) | set(new))
        return [
            DiffRow(
                name=name,
                before=_shown(old[name]) if name in old else None,
                after=_shown(new[name]) if name in new else None,
            )
            for name in names
        ]
    return [
        DiffRow(
            name="value",
            before=None if before is None else _shown(before),
            after=None if after is None else _shown(after),
        )
    ]
