"""Every release URL and action × every persona → the expected status.

Denials (403/404/405) must change nothing. The table is data: a URL added to
approvals.urls without a row here fails `test_every_url_has_a_row`.
"""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from approvals import services
from approvals.models import Comment, Deployment, RadRevision, Release, SignOff
from audit.models import Action, ChangeLogEntry
from raci.models import Assignment
from tests.factories import (
    PASSWORD_FACTORY,
    UserFactory,
    activity,
    build_team,
    complete_rad,
    release_in_review,
)
from tests.test_approvals_views import rad_post

PERSONAS = ("R", "A", "A_other", "C", "I", "outsider", "auditor", "rm", "superuser")
VIEWERS = {"R", "A", "A_other", "C", "I", "auditor", "rm", "superuser"}
EVERYONE = set(PERSONAS)


def rest(allowed: set[str], ok: int, denied: int = 403) -> dict[str, int]:
    """`ok` for the allowed personas, 404 for the outsider, `denied` for the others."""
    return {p: ok if p in allowed else (404 if p == "outsider" else denied) for p in PERSONAS}


# (url name, method, kwargs kind, POST data kind) -> persona -> status
MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("release_detail", "GET"): rest(VIEWERS, 200),
    ("rad_edit", "GET"): rest({"R", "rm", "superuser"}, 200),
    ("rad_edit", "POST"): rest({"R", "rm", "superuser"}, 302),
    ("rad_diff", "GET"): rest(VIEWERS, 200),
    ("release_submit", "POST"): rest({"R", "rm", "superuser"}, 302),  # refused: already in review
    ("release_cancel", "POST"): rest({"rm", "superuser"}, 302),
    ("comment_create", "POST"): rest({"R", "A", "A_other", "C", "rm", "superuser"}, 302),
    ("signoff", "GET"): rest({"A"}, 200),
    ("signoff", "POST"): rest({"A"}, 302),
    ("verbal_record", "GET"): rest({"rm", "superuser"}, 200),
    ("verbal_record", "POST"): rest({"rm", "superuser"}, 302),
    ("release_halt", "POST"): rest(
        {"R", "A", "A_other", "rm", "superuser"}, 302
    ),  # refused: not approved
    ("release_revise", "POST"): rest({"R", "rm", "superuser"}, 302),  # refused: not halted
    ("deployment_create", "POST"): rest({"rm", "superuser"}, 302),  # refused: not approved
    ("review_create", "GET"): rest({"R", "rm", "superuser"}, 200),
    ("review_create", "POST"): rest({"R", "rm", "superuser"}, 302),  # refused: not deployed
    ("raci_edit", "GET"): rest({"rm", "superuser"}, 200),
    ("raci_edit", "POST"): rest({"rm", "superuser"}, 200),  # empty grid: field errors
    ("verbal_respond", "GET"): {p: 200 if p == "A_verbal" else 404 for p in PERSONAS},
    ("verbal_respond", "POST"): {p: 302 if p == "A_verbal" else 404 for p in PERSONAS},
    ("release_list", "GET"): dict.fromkeys(EVERYONE, 200),
    ("product_list", "GET"): dict.fromkeys(EVERYONE, 200),
    ("my_signoffs", "GET"): dict.fromkeys(EVERYONE, 200),
    ("product_create", "GET"): {p: 200 if p in {"rm", "superuser"} else 403 for p in PERSONAS},
    ("product_create", "POST"): {p: 302 if p in {"rm", "superuser"} else 403 for p in PERSONAS},
    ("release_create", "GET"): {p: 200 if p in {"rm", "superuser"} else 403 for p in PERSONAS},
    ("release_create", "POST"): {p: 302 if p in {"rm", "superuser"} else 403 for p in PERSONAS},
}
# Nobody in PERSONAS is the verbal Accountable: sre answers it (checked separately).
for method in ("GET", "POST"):
    MATRIX[("verbal_respond", method)] = dict.fromkeys(PERSONAS, 404)

CASES = [(name, method, persona) for (name, method), row in MATRIX.items() for persona in PERSONAS]


@pytest.fixture
def world(db):
    team = build_team()
    release = release_in_review(team)
    verbal = services.signoff_record_verbal(
        release=release,
        activity_id=activity(release, "Operational readiness").pk,
        recorded_by=team["rm"],
        channel="call",
        given_at=timezone.now(),
        note="",
    )
    pure_rm = UserFactory(username="rm2")
    pure_rm.groups.add(Group.objects.get(name="Release managers"))
    personas = {
        "R": team["dev"],
        "A": team["po"],  # Accountable of Business scope, the activity the URLs target
        "A_other": team["qa"],
        "C": team["cc"],
        "I": team["ii"],
        "outsider": team["outsider"],
        "auditor": team["auditor"],
        "rm": pure_rm,  # a release manager outside this release's matrix
        "superuser": team["admin"],
    }
    return {"team": team, "release": release, "verbal": verbal, "personas": personas}


def _url(name: str, world) -> str:
    release = world["release"]
    if name in {"release_list", "product_list", "my_signoffs", "product_create", "release_create"}:
        return reverse(f"approvals:{name}")
    if name == "verbal_respond":
        return reverse("approvals:verbal_respond", kwargs={"signoff_id": world["verbal"].pk})
    kwargs = {"product": release.product.slug, "version": release.version}
    if name in {"signoff", "verbal_record"}:
        kwargs["activity_id"] = activity(release, "Business scope").pk
    return reverse(f"approvals:{name}", kwargs=kwargs)


def _data(name: str, world) -> dict:
    release = world["release"]
    return {
        "rad_edit": rad_post(complete_rad(scope="Edited in the matrix test")),
        "release_cancel": {"reason": "Matrix test"},
        "comment_create": {"body": "Matrix test comment"},
        "signoff": {
            "decision": "approve",
            "revision": services.rad_current(release).number,
            "comment": "",
            "password": PASSWORD_FACTORY,
        },
        "verbal_record": {"channel": "call", "given_at": "2020-01-01T10:00", "note": ""},
        "release_halt": {"reason": "Matrix test"},
        "release_revise": {"reason": "Matrix test"},
        "deployment_create": {"status": "started", "environment": "production", "details": ""},
        "review_create": {"went_well": "a", "slipped": "b", "template_changes": ""},
        "verbal_respond": {"response": "dispute", "note": "", "password": PASSWORD_FACTORY},
        "product_create": {"name": "Matrix product", "slug": "matrix-product"},
        "release_create": {
            "product": world["team"]["product"].pk,
            "version": "9.9.9",
            "title": "Matrix",
            "release_type": "normal",
            "window_start": "2031-01-01T10:00",
            "window_end": "2031-01-01T12:00",
        },
    }.get(name, {})


def _state(release) -> tuple:
    release.refresh_from_db()
    return (
        release.status,
        Release.objects.count(),
        RadRevision.objects.count(),
        Comment.objects.count(),
        SignOff.objects.filter(voided_at__isnull=True).count(),
        Assignment.objects.count(),
        Deployment.objects.count(),
    )


def test_every_url_has_a_row():
    from approvals import urls

    names = {pattern.name for pattern in urls.urlpatterns}
    covered = {name for name, _ in MATRIX}
    assert names == covered


@pytest.mark.parametrize(("name", "method", "persona"), CASES)
def test_permission_matrix(client, world, name, method, persona):
    user = world["personas"][persona]
    client.force_login(user)
    before = _state(world["release"])
    refusals = ChangeLogEntry.objects.filter(
        action__in=[Action.ACCESS_REFUSED, Action.SIGNOFF_REFUSED]
    ).count()
    url = _url(name, world)
    response = client.get(url) if method == "GET" else client.post(url, _data(name, world))
    expected = MATRIX[(name, method)][persona]
    assert response.status_code == expected, (name, method, persona)
    if expected in (403, 404, 405):
        assert _state(world["release"]) == before
    if expected == 403:
        after = ChangeLogEntry.objects.filter(
            action__in=[Action.ACCESS_REFUSED, Action.SIGNOFF_REFUSED]
        ).count()
        assert after == refusals + 1, "every refused action is logged"


@pytest.mark.parametrize("name", sorted({n for n, m in MATRIX if m == "POST"}))
def test_no_state_changes_on_get(client, world, name):
    client.force_login(world["personas"]["superuser"])
    before = _state(world["release"])
    response = client.get(_url(name, world))
    assert response.status_code in (200, 403, 404, 405)
    assert _state(world["release"]) == before


def test_only_the_named_accountable_answers_a_verbal_approval(client, world):
    client.force_login(world["team"]["sre"])
    url = _url("verbal_respond", world)
    assert client.get(url).status_code == 200
    response = client.post(url, _data("verbal_respond", world))
    assert response.status_code == 302
    world["verbal"].refresh_from_db()
    assert world["verbal"].verbal_state == "disputed"


def test_anonymous_visitors_are_sent_to_login_everywhere(client, world):
    for name, method in MATRIX:
        url = _url(name, world)
        response = client.get(url) if method == "GET" else client.post(url, _data(name, world))
        assert response.status_code == 302, name
        assert response["Location"].startswith("/login/")
