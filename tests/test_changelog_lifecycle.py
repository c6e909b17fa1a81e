"""One release from creation to close: the change log tells the whole story, in
order, each event exactly once, and the chain verifies."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals import services
from approvals.lifecycle import Status
from approvals.models import SignOff
from approvals.services import release_raci_update
from audit.models import Action, ChangeLogEntry
from audit.verify import changelog_verify
from meetings import services as meeting_services
from meetings.models import GateMeeting
from raci.models import TemplateAssignment
from raci.selectors import raci_matrix
from tests.factories import ACCOUNTABLES, PASSWORD, UserFactory, activity, build_team, complete_rad
from tests.helpers import sign

pytestmark = pytest.mark.django_db

TEAM = {"po", "qa", "sre", "rm", "dev", "cc", "ii"}


def product_with_template(team):
    """A product created through the service, with build_team's RACI template."""
    product = services.product_create(name="Ledger", slug="ledger", actor=team["rm"])
    for template in product.template_activities.all():
        for username, letter in (
            (ACCOUNTABLES[template.name], "A"),
            ("dev", "R"),
            ("cc", "C"),
            ("ii", "I"),
        ):
            TemplateAssignment.objects.create(activity=template, user=team[username], letter=letter)
    return product


def matrix_cells(release) -> dict[int, dict[int, str]]:
    matrix = raci_matrix(release=release)
    cells: dict[int, dict[int, str]] = {a.pk: {} for a in matrix.activities}
    for (activity_id, user_id), letter in matrix.cells.items():
        cells[activity_id][user_id] = letter
    return cells


def who(entry: ChangeLogEntry) -> str:
    return entry.actor.get_username() if entry.actor_id else entry.actor_name


def test_the_change_log_tells_a_release_s_whole_life_in_order(client):
    team = build_team()
    rm, dev, sre = team["rm"], team["dev"], team["sre"]
    assert not ChangeLogEntry.objects.exists()  # the story starts on an empty log

    # Created, with the product's RACI template and the permissions it grants.
    product = product_with_template(team)
    start = timezone.now() + timedelta(days=3)
    release = services.release_create(
        product=product,
        version="1.0.0",
        title="General ledger",
        release_type="normal",
        window_start=start,
        window_end=start + timedelta(hours=2),
        actor=rm,
    )

    # Written, checked and submitted.
    services.rad_revise(release=release, content=complete_rad(), actor=dev)
    services.gate_check_report(release=release, actor=rm, name="security-scan", status="pass")
    services.release_submit(release=release, actor=dev)

    # The matrix changes: ii leaves, a newcomer is Informed.
    newcomer = UserFactory(username="newcomer")
    cells = matrix_cells(release)
    for row in cells.values():
        row.pop(team["ii"].pk)
    cells[activity(release, "Business scope").pk][newcomer.pk] = "I"
    assert release_raci_update(release=release, actor=rm, cells=cells)

    # The gate meeting is scheduled, then moved.
    meeting = meeting_services.meeting_schedule(
        release=release, actor=rm, start=timezone.now() + timedelta(days=1), location="Room 4"
    )
    meeting = meeting_services.meeting_reschedule(
        meeting=meeting,
        actor=rm,
        start=timezone.now() + timedelta(days=2),
        duration_minutes=30,
        location="Room 5",
    )

    # One sign-off, one refused for a wrong password.
    first_signoff, _ = sign(release, team["po"], "Business scope")
    with pytest.raises(services.SignOffRefused, match="Wrong password"):
        sign(release, team["qa"], "Test thresholds", password="not-my-password")

    # Through the web: a failed and a good sign-in, then a refused action.
    login = reverse("login")
    assert client.post(login, {"username": "cc", "password": "guess"}).status_code == 200
    assert client.post(login, {"username": "cc", "password": PASSWORD}).status_code == 302
    refused = client.post(release.url("release_halt"), {"reason": "I am only Consulted"})
    assert refused.status_code == 403

    # A new revision voids the sign-off on the old one; everyone signs again.
    services.rad_revise(
        release=release, content=complete_rad(scope="Ledger, with the year-end fix"), actor=dev
    )
    for name, username in ACCOUNTABLES.items():
        sign(release, team[username], name)
    release.refresh_from_db()
    assert release.status == Status.APPROVED

    # Halted, then resumed by the Go/no-go Accountable signing again.
    services.release_halt(release=release, actor=sre, reason="Card network outage")
    sign(release, rm, "Go/no-go decision")
    release.refresh_from_db()
    assert release.status == Status.APPROVED

    # The meeting is held (moved into the past: its outcome needs a started meeting).
    GateMeeting.objects.filter(pk=meeting.pk).update(start=timezone.now() - timedelta(minutes=1))
    meeting.refresh_from_db()
    meeting_services.meeting_record_outcome(
        meeting=meeting, actor=rm, minutes="Go after the outage", decision="go"
    )

    # Deployed inside its window (moved to now: a deployment outside it is flagged), reviewed,
    # closed.
    type(release).objects.filter(pk=release.pk).update(
        window_start=timezone.now() - timedelta(hours=1),
        window_end=timezone.now() + timedelta(hours=1),
    )
    release.refresh_from_db()
    services.deployment_record(release=release, actor=rm, status="started")
    services.deployment_record(release=release, actor=rm, status="succeeded")
    services.review_record(
        release=release, actor=rm, went_well="Smooth", slipped="The outage cost a day"
    )
    release.refresh_from_db()
    assert release.status == Status.CLOSED

    # --- the story, as the change log tells it ---------------------------------
    entries = list(ChangeLogEntry.objects.select_related("actor").order_by("seq"))
    R, NONE = release.pk, None  # noqa: N806 - read as columns of the table below
    story = [
        (Action.PRODUCT_CREATED, "rm", NONE),
        (Action.RELEASE_CREATED, "rm", R),
        (Action.RACI_CHANGED, "rm", R),
        *[(Action.PERMISSION_GRANTED, "rm", R)] * len(TEAM),
        (Action.RAD_REVISED, "dev", R),
        (Action.GATE_CHECK_REPORTED, "rm", R),
        (Action.RELEASE_SUBMITTED, "dev", R),
        (Action.RACI_CHANGED, "rm", R),
        (Action.PERMISSION_GRANTED, "rm", R),
        (Action.PERMISSION_REVOKED, "rm", R),
        (Action.MEETING_SCHEDULED, "rm", R),
        (Action.MEETING_RESCHEDULED, "rm", R),
        (Action.SIGNOFF_RECORDED, "po", R),
        (Action.SIGNOFF_REFUSED, "qa", R),
        (Action.LOGIN_FAILED, "cc", NONE),
        (Action.LOGIN, "cc", NONE),
        (Action.ACCESS_REFUSED, "cc", R),
        (Action.RAD_REVISED, "dev", R),
        (Action.SIGNOFF_VOIDED, "dev", R),
        (Action.SIGNOFF_RECORDED, "po", R),
        (Action.SIGNOFF_RECORDED, "qa", R),
        (Action.SIGNOFF_RECORDED, "sre", R),
        (Action.SIGNOFF_RECORDED, "rm", R),
        (Action.SIGNOFF_RECORDED, "rm", R),
        (Action.RELEASE_APPROVED, "rm", R),
        (Action.RELEASE_HALTED, "sre", R),
        (Action.SIGNOFF_VOIDED, "sre", R),
        (Action.SIGNOFF_RECORDED, "rm", R),
        (Action.RELEASE_RESUMED, "rm", R),
        (Action.MEETING_MINUTES, "rm", R),
        (Action.DEPLOYMENT_RECORDED, "rm", R),
        (Action.RELEASE_DEPLOYED, "rm", R),
        (Action.RELEASE_CLOSED, "rm", R),
    ]
    assert [(e.action, who(e), e.release_id) for e in entries] == story
    assert [e.seq for e in entries] == list(range(1, len(story) + 1))
    by_action: dict[str, list[ChangeLogEntry]] = {}
    for entry in entries:
        by_action.setdefault(entry.action, []).append(entry)

    # What each entry is about: the right object and the right change.
    [created] = by_action[Action.PRODUCT_CREATED]
    assert (created.product_id, created.after) == (product.pk, {"name": "Ledger", "slug": "ledger"})
    assert all(e.product_id == product.pk for e in entries if e.release_id is not None)
    granted = by_action[Action.PERMISSION_GRANTED]
    assert {e.after["user"] for e in granted[: len(TEAM)]} == TEAM
    assert granted[-1].after == {"user": "newcomer", "permissions": ["view_release"]}
    [revoked] = by_action[Action.PERMISSION_REVOKED]
    assert revoked.before == {"user": "ii", "permissions": ["view_release"]}
    template, change = by_action[Action.RACI_CHANGED]
    assert template.reason == "Applied the product's RACI template"
    assert change.before["Business scope"]["ii"] == "I"
    assert change.after["Business scope"] == {"po": "A", "dev": "R", "cc": "C", "newcomer": "I"}
    assert [e.after["revision"] for e in by_action[Action.RAD_REVISED]] == [1, 2]
    transitions = [
        (e.before["status"], e.after["status"])
        for e in entries
        if e.action.startswith("release.") and e.action != Action.RELEASE_CREATED
    ]
    assert transitions == [
        ("draft", "in_review"),
        ("in_review", "approved"),
        ("approved", "halted"),
        ("halted", "approved"),
        ("approved", "deployed"),
        ("deployed", "closed"),
    ]
    moved = by_action[Action.MEETING_RESCHEDULED][0]
    assert (moved.before["location"], moved.after["location"]) == ("Room 4", "Room 5")
    assert by_action[Action.MEETING_MINUTES][0].after == {
        "decision": "go",
        "minutes": "Go after the outage",
        "signoffs_missing": [],
    }

    # Sign-offs: the refusal, the two voids and the approvals name their objects.
    [wrong_password] = by_action[Action.SIGNOFF_REFUSED]
    assert wrong_password.reason == "Wrong password: the sign-off was not recorded."
    assert wrong_password.object_id == str(activity(release, "Test thresholds").pk)
    rad_void, halt_void = by_action[Action.SIGNOFF_VOIDED]
    assert (rad_void.object_id, rad_void.reason) == (
        str(first_signoff.pk),
        "RAD changed after signing",
    )
    go_no_go = SignOff.objects.get(
        activity=activity(release, "Go/no-go decision"), voided_at__isnull=False
    )
    assert (halt_void.object_id, halt_void.reason) == (
        str(go_no_go.pk),
        "Release halted: Card network outage",
    )
    recorded = by_action[Action.SIGNOFF_RECORDED]
    signoffs = SignOff.objects.filter(release=release).order_by("signed_at", "id")
    assert [e.object_id for e in recorded] == [str(s.pk) for s in signoffs]
    assert [e.after["revision"] for e in recorded] == [1, 2, 2, 2, 2, 2, 2]

    # Web events carry their request id and client address; services called directly do not.
    failed, signed_in, access = (
        by_action[Action.LOGIN_FAILED][0],
        by_action[Action.LOGIN][0],
        by_action[Action.ACCESS_REFUSED][0],
    )
    assert failed.actor_id is None and failed.after == {"username": "cc"}
    assert signed_in.actor == team["cc"]
    assert access.after == {"method": "POST", "path": release.url("release_halt")}
    assert access.request_id == refused["X-Request-ID"]
    for entry in (failed, signed_in, access):
        assert entry.request_id and entry.client_ip == "127.0.0.1"
    assert {e.request_id for e in entries if e not in (failed, signed_in, access)} == {""}

    # The whole chain verifies.
    result = changelog_verify()
    assert result.ok, result.summary()
    assert (result.count, result.last_seq, result.head_hash) == (
        len(story),
        entries[-1].seq,
        entries[-1].hash,
    )
