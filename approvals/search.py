"""Reads for the global search in the header: releases, products and people the reader may see.

Selectors, like `approvals.selectors`: every group is scoped by the same rules as
its own page (`release_list_for_user`, `products_visible_to`), bounded, and costs a
fixed number of queries whatever the data.
"""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Concat

from approvals.models import Release
from approvals.selectors import ReleaseFilters, products_visible_to, release_list_for_user
from raci import permissions
from raci.models import Assignment, Letter

# The shortest query searched, and the longest kept (the rest is cut off).
SEARCH_MIN_LENGTH = 2
SEARCH_MAX_LENGTH = 100
# What one group shows on the search page; its "more" link lists the rest.
SEARCH_GROUP_SIZE = 20
# The releases listed under one person; the rest is counted.
ROLES_PER_PERSON = 5


def search_query_clean(raw: str) -> str:
    """The query as searched: spaces collapsed, control characters dropped, cut to length."""
    text = "".join(ch for ch in raw if ch.isprintable())
    return " ".join(text.split())[:SEARCH_MAX_LENGTH]


@dataclass
class Group:
    """One group of results: the first rows and how many match in all."""

    rows: list
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


@dataclass
class PersonHit:
    person: object
    roles: list = field(default_factory=list)  # (release, "Accountable") the reader may see
    more_roles: int = 0


def search_releases(*, user, q: str) -> QuerySet[Release]:
    """Releases whose product, version or title matches, as the release list scopes them."""
    return release_list_for_user(user=user, filters=ReleaseFilters(q=q))


def search_products(*, user, q: str):
    return (
        products_visible_to(user=user)
        .filter(Q(name__icontains=q) | Q(slug__icontains=q))
        .order_by("name", "id")
    )


def search_people(*, user, q: str):
    """Active people matching by name or username who hold a RACI role on a release the
    reader may see (nobody else is found: the search does not list the directory)."""
    visible = permissions.releases_visible_to(user, Release.objects.all())
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .annotate(full_name=Concat("first_name", Value(" "), "last_name"))
        .filter(
            Q(username__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(full_name__icontains=q)
        )
        .filter(
            pk__in=Assignment.objects.filter(activity__release__in=visible.values("pk")).values(
                "user_id"
            )
        )
        .only("id", "username", "first_name", "last_name")
        .order_by("username", "id")
    )


def people_with_roles(*, user, people: list) -> list[PersonHit]:
    """Each person with the releases (the reader may see) where they hold a RACI letter."""
    visible = permissions.releases_visible_to(user, Release.objects.all())
    cells = (
        Assignment.objects.filter(
            user__in=[p.pk for p in people], activity__release__in=visible.values("pk")
        )
        .select_related("activity__release__product")
        .order_by("-activity__release__created_at", "activity__release_id", "letter")
    )
    letters: dict[int, dict[Release, set[str]]] = {}
    for cell in cells:
        letters.setdefault(cell.user_id, {}).setdefault(cell.activity.release, set()).add(
            cell.letter
        )
    hits = []
    for person in people:
        held = list(letters.get(person.pk, {}).items())
        hits.append(
            PersonHit(
                person=person,
                roles=[
                    (r, ", ".join(Letter(letter).label for letter in sorted(ls)))
                    for r, ls in held[:ROLES_PER_PERSON]
                ],
                more_roles=max(0, len(held) - ROLES_PER_PERSON),
            )
        )
    return hits


def group_of(queryset, *, size: int = SEARCH_GROUP_SIZE) -> Group:
    """The first `size` rows and the total: two queries, whatever the number of matches."""
    return Group(rows=list(queryset[:size]), total=queryset.count())
