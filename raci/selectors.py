from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q
from django.http import Http404

from raci.models import Activity, Assignment, Delegation, Team, TemplateActivity


@dataclass
class Matrix:
    activities: list
    people: list
    cells: dict = field(default_factory=dict)  # (activity id, user id) -> letter

    def rows(self):
        for activity in self.activities:
            yield (
                activity,
                [(person, self.cells.get((activity.pk, person.pk), "")) for person in self.people],
            )


def _with_people():
    """Each activity's assignments with their person joined in (one query, not two)."""
    return Prefetch("assignments", queryset=Assignment.objects.select_related("user"))


def release_activities(*, release) -> list:
    """The release's activities with their team, its members and the assignments' people,
    for the pages that show both the progress and the matrix (read once for both)."""
    return list(
        Activity.objects.filter(release=release)
        .select_related("team")
        .prefetch_related(_with_people(), "team__members")
    )


def raci_matrix(*, release, activities=None) -> Matrix:
    """The release's matrix with its people as columns (two queries, none when the
    caller already has `activities` with their assignments' users prefetched)."""
    if activities is None:
        activities = list(Activity.objects.filter(release=release).prefetch_related(_with_people()))
    people: dict[int, object] = {}
    cells = {}
    for activity in activities:
        for assignment in activity.assignments.all():
            people[assignment.user_id] = assignment.user
            cells[(activity.pk, assignment.user_id)] = assignment.letter
    ordered = sorted(people.values(), key=lambda u: u.get_username())
    return Matrix(activities=activities, people=ordered, cells=cells)


def raci_candidates():
    return get_user_model().objects.filter(is_active=True).order_by("username")


def raci_template_matrix(*, product) -> Matrix:
    """The product's RACI template as a matrix, people as columns (two queries)."""
    activities = list(
        TemplateActivity.objects.filter(product=product).prefetch_related("assignments__user")
    )
    people: dict[int, object] = {}
    cells = {}
    for activity in activities:
        for assignment in activity.assignments.all():
            people[assignment.user_id] = assignment.user
            cells[(activity.pk, assignment.user_id)] = assignment.letter
    ordered = sorted(people.values(), key=lambda u: u.get_username())
    return Matrix(activities=activities, people=ordered, cells=cells)


def team_list():
    """Every approver team with its members (two queries)."""
    return Team.objects.prefetch_related("members").order_by("name")


def team_get(*, team_id: int) -> Team:
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise Http404("No such team.")
    return team


def delegations_for_delegate(*, user, now) -> list:
    """The delegations `user` may sign under at `now` (one query)."""
    return list(
        Delegation.objects.filter(
            delegate=user, starts_at__lte=now, ends_at__gt=now, cancelled_at__isnull=True
        ).select_related("absent")
    )


def delegations_of(*, user) -> list:
    """Delegations the user gave or received, newest first (one query)."""
    return list(
        Delegation.objects.filter(Q(absent=user) | Q(delegate=user))
        .select_related("absent", "delegate", "created_by")
        .order_by("-starts_at", "-id")
    )


def delegations_all() -> list:
    return list(
        Delegation.objects.select_related("absent", "delegate", "created_by").order_by(
            "-starts_at", "-id"
        )[:200]
    )


def delegation_get(*, delegation_id: int) -> Delegation:
    delegation = Delegation.objects.select_related("absent", "delegate").filter(pk=delegation_id)
    found = delegation.first()
    if found is None:
        raise Http404("No such delegation.")
    return found


PERSON_SUGGESTIONS = 20  # at most this many people per answer of the suggestion endpoints


def person_suggestions(*, text: str, exclude_ids=()) -> list[dict[str, str]]:
    """Up to PERSON_SUGGESTIONS active people whose username or name holds every typed word.

    The RACI editors ask this as one types instead of listing every user on the page.
    """
    words = " ".join(text.split())[:100].split(" ")
    if not any(words):
        return []
    people = raci_candidates().exclude(pk__in=list(exclude_ids))
    for word in words:
        people = people.filter(
            Q(username__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
        )
    return [
        {
            "value": person.get_username(),
            "label": f"{person.get_full_name()} ({person.get_username()})"
            if person.get_full_name()
            else person.get_username(),
        }
        for person in people[:PERSON_SUGGESTIONS]
    ]
