"""The permission matrix: every URL pattern × persona × method → status, and the effect.

The patterns come from walking `django.urls.get_resolver()`, so a view added
to any app without rows here fails `test_every_url_pattern_has_a_row_per_persona`.
A row says what one persona gets from one method on one URL:

- allowed rows check the effect a user would notice: the object exists, the
  release moved, the page shows the data (and GET pages change nothing);
- refused rows check that nothing changed; every 403 also wrote exactly one
  refusal to the change log (SPEC §4: 404 when the release is invisible, 403
  when visible but not permitted, login for anonymous pages, 401 for the API
  without a token).

The Django admin (`admin:` namespace) is one generated row family: every admin
pattern refuses anonymous, outsider, release-manager and auditor visitors
(none of them is staff) by sending them to the admin login, and a superuser
sees the index, the app pages and every changelist with its data. What staff
may do inside the admin is tested in test_admin_logging and test_changelog_admin.

Matrix size when written: 181 URL patterns, 68 outside the admin and 113 in it.
Outside the admin: 86 (pattern, method) cases × 9 personas = 774 rows, plus
12 for the pipeline token on the 11 /api/ patterns, 2 for the Accountable a
verbal approval names, 2 for an unknown calendar token and 20 GETs on
POST-only views: 810 rows. The admin family: 113 patterns × 4 non-staff
personas + 19 superuser pages = 471 rows. 1281 rows in all, one test each.

The world is built once per module inside an outer transaction that is
rolled back at the end (Django's setUpTestData idiom); each row runs in its
own savepoint, so every row starts from the same state. That transaction
holds the change log's chain lock, so no row may use another database
connection (a live server, a Celery worker).
"""

import base64
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from api import services as api_services
from api.models import ApiToken, ServiceAccount, WebhookEndpoint
from approvals import services
from approvals.lifecycle import Status
from approvals.models import (
    ApprovalPolicy,
    Artifact,
    Attachment,
    Comment,
    Deployment,
    FireDrill,
    FireDrillSchedule,
    FreezeWindow,
    GateCheck,
    MonitoringTick,
    PolicyVersion,
    PostReleaseReview,
    Product,
    RadRevision,
    RadTemplate,
    Release,
    SignOff,
)
from audit.models import Action, ChangeLogEntry
from evidence.models import ExportJob
from meetings import services as meeting_services
from meetings.models import CalendarFeed, GateMeeting, MeetingStatus, Notification
from notifications.events import DEFAULT_CHANNEL
from notifications.models import ChatDestination, NotificationPreference
from notifications.services import chat_destination_create, unsubscribe_token
from raci import permissions
from raci import services as raci_services
from raci.models import Assignment, Delegation, Team, TemplateAssignment
from tests.factories import (
    PASSWORD,
    activity,
    build_team,
    complete_rad,
    release_in_review,
    user_create,
)
from tests.helpers import (
    approve_all,
    new_token,
    rad_post,
    release_attested,
)

pytestmark = pytest.mark.django_db

# --- personas --------------------------------------------------------------------

ANONYMOUS = "anonymous"
OUTSIDER = "outsider"  # signed in, no role, in no RACI
INFORMED = "informed"  # I on every activity: sees the release, may do nothing
CONSULTED = "consulted"  # C on every activity
RESPONSIBLE = "responsible"  # R on every activity (the factory team's `dev`)
ACCOUNTABLE = "accountable"  # A of Business scope (`po`), the activity the URLs sign
RM = "rm"  # in the Release managers group, in no RACI
AUDITOR = "auditor"  # in the Auditors group
SUPERUSER = "superuser"
PERSONAS = (
    ANONYMOUS,
    OUTSIDER,
    INFORMED,
    CONSULTED,
    RESPONSIBLE,
    ACCOUNTABLE,
    RM,
    AUDITOR,
    SUPERUSER,
)
SIGNED_IN = PERSONAS[1:]
VIEWERS = PERSONAS[2:]  # everyone who may see the release
# Extra personas, for the patterns they concern.
PIPELINE = "pipeline"  # a service account's bearer token scoped to the product; /api/ only
VERBAL_ACCOUNTABLE = "verbal_accountable"  # `sre`, named by the pending verbal approval
# Nobody here is staff: the admin must send all of them to its login.
ADMIN_REFUSED = (ANONYMOUS, OUTSIDER, RM, AUDITOR)

# Who holds what on the releases (raci.permissions.LETTER_PERMISSIONS and the groups).
WRITERS = {RESPONSIBLE, RM, SUPERUSER}  # edit RAD, submit, revise, review, meetings
COMMENTERS = {CONSULTED, RESPONSIBLE, ACCOUNTABLE, RM, SUPERUSER}
HALTERS = {RESPONSIBLE, ACCOUNTABLE, RM, SUPERUSER}
MANAGERS = {RM, SUPERUSER}  # RACI, cancel, verbal, freeze, deployments, accounts
LOG_READERS = {RM, AUDITOR, SUPERUSER}

# Refused by a redirect: where the visitor is sent (a prefix when it ends with "=").
TO_LOGIN = "to login"
TO_ADMIN_LOGIN = "to admin login"
TO_ADMIN_INDEX = "to admin index"  # the admin's logout, for someone who is not staff
REDIRECTS = {
    TO_LOGIN: "/login/?next=",
    TO_ADMIN_LOGIN: "/admin/login/?next=",
    TO_ADMIN_INDEX: "/admin/",
}
REFUSED = (*REDIRECTS, 401, 403, 404, 405)
REFUSALS = {Action.ACCESS_REFUSED, Action.SIGNOFF_REFUSED}  # change-log actions of a refusal


def release_rows(allowed: set[str], ok: int) -> dict[str, int | str]:
    """A release page: login for anonymous, 404 unless the release is visible, 403 unless allowed."""
    return {
        ANONYMOUS: TO_LOGIN,
        OUTSIDER: 404,
        **{persona: ok if persona in allowed else 403 for persona in VIEWERS},
    }


def global_rows(allowed: set[str], ok: int) -> dict[str, int | str]:
    """A page outside any release: login for anonymous, 403 unless allowed."""
    return {
        ANONYMOUS: TO_LOGIN,
        **{persona: ok if persona in allowed else 403 for persona in SIGNED_IN},
    }


def everyone(ok: int, *, anonymous: int | str = TO_LOGIN) -> dict[str, int | str]:
    return {ANONYMOUS: anonymous, **dict.fromkeys(SIGNED_IN, ok)}


def api_release_rows(allowed: set[str], ok: int) -> dict[str, int | str]:
    """An API call on one release: 401 without a token, then as `release_rows`."""
    return {**release_rows(allowed, ok), ANONYMOUS: 401, PIPELINE: ok}


# --- the world ---------------------------------------------------------------------


@dataclass
class World:
    """What the rows act on. Shared by every row: read it, never mutate its objects."""

    team: dict[str, Any]
    users: dict[str, Any]
    sessions: dict[str, str]  # persona -> session key
    review: Release  # in review, two RAD revisions, a pending verbal approval
    draft: Release  # complete RAD, not submitted
    approved: Release  # approved, deployment window open now
    halted: Release
    deployed: Release
    hotfix: Release  # draft hotfix of `review`
    meeting: GateMeeting  # on `review`, started a few minutes ago, not yet held
    verbal: SignOff
    freeze: FreezeWindow
    feed_token: str  # RESPONSIBLE's calendar feed
    account: ServiceAccount
    token: str  # the account's bearer token
    token_id: int
    webhook: WebhookEndpoint
    export_job: ExportJob  # AUDITOR's prepared change-log export, ready to download
    submitted_seq: int  # the change-log entry of `review`'s submission
    chat: ChatDestination | None = None  # a Slack channel of the product
    lessons: Release | None = None  # closed, its review suggests RAD template changes
    section_comment: Comment | None = None  # cc's open comment on `review`'s risks
    attachment: Attachment | None = None  # dev's evidence file on `review`

    @property
    def product(self):
        return self.team["product"]


SCOPE_V2 = "## What ships\n\n- Faster checkout\n- Instant refunds"
MEETING_ROOM = "Room 4.12"
FREEZE_REASON = "Quarter-end close"
HOOK_URL = "https://hooks.example.com/relapp"
DIGEST = "sha256:" + "ab" * 32
MATRIX_TEAM = "Matrix leads"
MATRIX_DELEGATION = "Matrix holiday"
LESSON = "Payout queue depth below 100"
MATRIX_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _approved(team, version: str, title: str) -> Release:
    """A release approved by every Accountable, its window opening in two days."""
    start = timezone.now() + timedelta(days=2)
    release = services.release_create(
        product=team["product"],
        version=version,
        title=title,
        release_type="normal",
        window_start=start,
        window_end=start + timedelta(hours=4),
        actor=team["rm"],
    )
    services.rad_revise(release=release, content=complete_rad(), actor=team["dev"])
    services.release_submit(release=release, actor=team["dev"])
    approve_all(release, team)
    release.refresh_from_db()
    assert release.status == Status.APPROVED
    return release


def _session(user) -> str:
    """A signed-in session for `user`, made once so rows do not each sign in."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _build_world() -> World:
    team = build_team()
    rm, dev = team["rm"], team["dev"]
    manager = user_create("manager", groups=(permissions.RELEASE_MANAGERS,))

    review = release_in_review(team)  # 2.4.0 "SEPA Instant"
    services.rad_revise(release=review, content=complete_rad(scope=SCOPE_V2), actor=dev)
    services.artifacts_report(
        release=review,
        actor=rm,
        artifacts=[{"name": "payments-image", "kind": "image", "digest": "sha256:" + "cd" * 32}],
    )
    verbal = services.signoff_record_verbal(
        release=review,
        activity_id=activity(review, "Operational readiness").pk,
        recorded_by=rm,
        channel="call",
        given_at=timezone.now(),
        note="",
    )
    draft = services.release_create(
        product=team["product"],
        version="2.5.0",
        title="Ledger export",
        release_type="normal",
        window_start=timezone.now() + timedelta(days=5),
        window_end=timezone.now() + timedelta(days=5, hours=2),
        actor=rm,
    )
    services.rad_revise(release=draft, content=complete_rad(), actor=dev)
    approved = release_attested(team, version="2.6.0")  # "Instant payouts", attested
    halted = _approved(team, "2.7.0", "Card vault")
    services.release_halt(release=halted, actor=rm, reason="Fraud spike")
    deployed = _approved(team, "2.8.0", "Refund API")
    # Deployed two days before its window: recorded, and flagged as unauthorized.
    services.deployment_record(release=deployed, actor=rm, status="succeeded")
    start = timezone.now() + timedelta(days=3)
    hotfix = services.release_create(
        product=team["product"],
        version="2.4.1",
        title="Settlement hotfix",
        release_type="hotfix",
        fixes=review,
        window_start=start,
        window_end=start + timedelta(hours=1),
        actor=rm,
    )

    meeting = meeting_services.meeting_schedule(
        release=review, actor=rm, start=timezone.now() + timedelta(hours=1), location=MEETING_ROOM
    )
    # Time passes: the meeting has begun, so its outcome may be recorded.
    GateMeeting.objects.filter(pk=meeting.pk).update(start=timezone.now() - timedelta(minutes=5))
    freeze = meeting_services.freeze_create(
        actor=rm,
        product=None,
        start=timezone.now() + timedelta(days=60),
        end=timezone.now() + timedelta(days=61),
        reason=FREEZE_REASON,
    )
    feed_token = meeting_services.calendar_feed_regenerate(user=dev)
    token = new_token(team, name="ci-payments")
    account = ServiceAccount.objects.get(name="ci-payments")
    webhook, _ = api_services.webhook_endpoint_create(
        product=team["product"], url=HOOK_URL, events=["release.approved"], actor=rm
    )
    matrix_team = raci_services.team_create(name=MATRIX_TEAM, actor=rm)
    raci_services.team_member_add(team=matrix_team, user=team["qa"], actor=rm)
    raci_services.delegation_create(
        absent=team["sre"],
        delegate=team["qa"],
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(days=3),
        reason=MATRIX_DELEGATION,
        actor=rm,
        now=timezone.now(),
    )
    users = {
        OUTSIDER: team["outsider"],
        INFORMED: team["ii"],
        CONSULTED: team["cc"],
        RESPONSIBLE: dev,
        ACCOUNTABLE: team["po"],
        RM: manager,
        AUDITOR: team["auditor"],
        SUPERUSER: team["admin"],
        VERBAL_ACCOUNTABLE: team["sre"],
    }
    for user in users.values():
        Notification.objects.create(user=user, title=f"Notice for {user.username}")
    submitted = ChangeLogEntry.objects.get(release=review, action=Action.RELEASE_SUBMITTED)
    lessons = _lessons(team)
    return World(
        team=team,
        users=users,
        sessions={persona: _session(user) for persona, user in users.items()},
        review=review,
        draft=draft,
        approved=approved,
        halted=halted,
        deployed=deployed,
        hotfix=hotfix,
        meeting=meeting,
        verbal=verbal,
        freeze=freeze,
        feed_token=feed_token,
        account=account,
        token=token,
        token_id=ApiToken.objects.get(service_account=account).pk,
        webhook=webhook,
        export_job=_export_job(team["auditor"]),
        submitted_seq=submitted.seq,
        chat=chat_destination_create(
            actor=rm,
            product=team["product"],
            kind="slack",
            name="matrix-releases",
            url=HOOK_URL + "/slack",
            events=[],
        ),
        lessons=lessons,
        section_comment=services.release_comment(
            release=review, actor=team["cc"], body="Who owns risk 1?", section="risks"
        ),
        attachment=services.attachment_add(
            release=review, actor=dev, upload=SimpleUploadedFile("rehearsal.png", MATRIX_PNG)
        ),
    )


def _lessons(team) -> Release:
    """A deployed and closed release whose review suggests a RAD template change."""
    lessons = _approved(team, "2.9.0", "Lessons learned")
    services.deployment_record(release=lessons, actor=team["rm"], status="succeeded")
    services.review_record(
        release=lessons,
        actor=team["rm"],
        went_well="Quiet cut-over.",
        slipped="Payout queue unwatched.",
        template_changes=LESSON,
    )
    # Deployed long ago, outside the metrics' range: the metrics rows count 2.8.0 alone.
    Deployment.objects.filter(release=lessons).update(
        recorded_at=timezone.now() - timedelta(days=3 * 365)
    )
    lessons.refresh_from_db()
    return lessons


def _export_job(requester) -> ExportJob:
    job = ExportJob.objects.create(
        requested_by=requester, format="csv", status=ExportJob.Status.DONE, rows_done=1
    )
    job.file.save(f"matrix-{job.pk}.csv", ContentFile(b"seq\r\n#trailer,count=0\r\n"))
    return job


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


def _fingerprint() -> dict[str, Any]:
    """Everything a refused request must leave as it was."""
    return {
        "releases": sorted(
            Release.objects.values_list("pk", "status", "freeze_override_reason", "status_reason")
        ),
        "products": Product.objects.count(),
        "revisions": RadRevision.objects.count(),
        "comments": Comment.objects.count(),
        "signoffs": sorted(SignOff.objects.values_list("pk", "voided_at", "verbal_state")),
        "raci": sorted(Assignment.objects.values_list("activity_id", "user_id", "letter")),
        "deployments": Deployment.objects.count(),
        "ticks": MonitoringTick.objects.count(),
        "artifacts": sorted(Artifact.objects.values_list("pk", "digest")),
        "checks": GateCheck.objects.count(),
        "reviews": PostReleaseReview.objects.count(),
        "meetings": sorted(
            GateMeeting.objects.values_list("pk", "status", "start", "location", "minutes")
        ),
        "freezes": sorted(FreezeWindow.objects.values_list("pk", "reason")),
        "accounts": sorted(ServiceAccount.objects.values_list("pk", "can_read_changelog")),
        "tokens": sorted(ApiToken.objects.values_list("pk", "revoked_at")),
        "webhooks": sorted(WebhookEndpoint.objects.values_list("pk", "url", "secret")),
        "feeds": sorted(CalendarFeed.objects.values_list("user_id", "token_sha256")),
        "unread": Notification.objects.filter(read_at__isnull=True).count(),
        "passwords": sorted(get_user_model().objects.values_list("pk", "password")),
        "authenticators": sorted(TOTPDevice.objects.values_list("pk", "confirmed")),
        "chat": sorted(ChatDestination.objects.values_list("pk", "is_active")),
        "preferences": sorted(NotificationPreference.objects.values_list("user_id", "channel")),
        "drills": FireDrill.objects.count(),
        "drill_schedules": sorted(FireDrillSchedule.objects.values_list("pk", "rrule")),
        "targets": sorted(Product.objects.values_list("pk", "deploy_targets")),
        "rad_templates": list(RadTemplate.objects.order_by("pk").values_list("pk", "content")),
        "resolved": sorted(Comment.objects.values_list("pk", "resolved_at")),
        "attachments": sorted(Attachment.objects.values_list("pk", "removed_at")),
    }


# --- what a row checks ---------------------------------------------------------------


@dataclass
class Outcome:
    """One request's result, handed to a row's effect check."""

    world: World
    persona: str
    user: Any
    client: Any
    response: Any
    entries: list  # change-log entries the request wrote

    @cached_property
    def text(self) -> str:
        """The body, streamed ones too (read once)."""
        return b"".join(self.response).decode() if self.response.streaming else self.content

    @property
    def content(self) -> str:
        return self.response.content.decode()

    def json(self) -> Any:
        return json.loads(self.response.content)

    def logged(self, action: str) -> list:
        return [e for e in self.entries if e.action == action and e.actor_id == self.user.pk]

    def sees(self, *texts: str) -> None:
        for text in texts:
            assert text in self.text, f"{self.persona} should see {text!r}"

    def does_not_see(self, *texts: str) -> None:
        for text in texts:
            assert text not in self.text, f"{self.persona} must not see {text!r}"


def shows(*texts: str) -> Callable[[Outcome], None]:
    return lambda out: out.sees(*texts)


def shows_to_viewers(text: str) -> Callable[[Outcome], None]:
    """Listed for whoever may see the release; the outsider gets the page without it."""

    def check(out: Outcome) -> None:
        if out.persona == OUTSIDER:
            out.does_not_see(text)
        else:
            out.sees(text)

    return check


def _status(release: Release) -> str:
    return Release.objects.values_list("status", flat=True).get(pk=release.pk)


def moved(attribute: str, to: str, action: str) -> Callable[[Outcome], None]:
    """The release in `world.<attribute>` is now `to`, logged once as this user's `action`."""

    def check(out: Outcome) -> None:
        assert _status(getattr(out.world, attribute)) == to
        assert len(out.logged(action)) == 1

    return check


# --- request data ----------------------------------------------------------------------


def _local(delta: timedelta) -> str:
    return timezone.localtime(timezone.now() + delta).strftime("%Y-%m-%dT%H:%M")


def raci_form(world: World) -> dict[str, str]:
    """The RACI grid as it is, plus the outsider added as Informed on Business scope."""
    data = {
        f"cell-{activity_id}-{user_id}": letter
        for activity_id, user_id, letter in Assignment.objects.filter(
            activity__release=world.review
        ).values_list("activity_id", "user_id", "letter")
    }
    data["new_person"] = world.users[OUTSIDER].username
    data[f"cell-{activity(world.review, 'Business scope').pk}-new"] = "I"
    return data


# --- effects of the allowed rows ------------------------------------------------------------


def release_created(out: Outcome) -> None:
    release = Release.objects.get(product=out.world.product, version="9.9.9")
    assert release.created_by == out.user
    assert out.response["Location"] == release.url("rad_edit")


def product_created(out: Outcome) -> None:
    assert Product.objects.filter(slug="matrix-product").exists()
    assert len(out.logged(Action.PRODUCT_CREATED)) == 1


def rad_revised(out: Outcome) -> None:
    latest = out.world.review.revisions.order_by("-number").first()
    assert latest.number == 3
    assert latest.author == out.user
    assert latest.content["scope"] == "Edited in the permission matrix"


def comment_posted(out: Outcome) -> None:
    assert Comment.objects.filter(
        release=out.world.review, author=out.user, body="Matrix comment"
    ).exists()
    assert len(out.logged(Action.COMMENT_ADDED)) == 1


def signed(out: Outcome) -> None:
    signoff = SignOff.objects.get(
        release=out.world.review, activity__name="Business scope", voided_at__isnull=True
    )
    assert (signoff.signer, signoff.decision, signoff.revision_number) == (out.user, "approve", 2)
    assert len(out.logged(Action.SIGNOFF_RECORDED)) == 1


def verbal_recorded(out: Outcome) -> None:
    signoff = SignOff.objects.get(
        release=out.world.review, activity__name="Business scope", method="verbal"
    )
    assert signoff.recorded_by == out.user
    assert signoff.signer == out.world.users[ACCOUNTABLE]
    assert signoff.verbal_state == "pending"


def verbal_confirmed(out: Outcome) -> None:
    assert SignOff.objects.get(pk=out.world.verbal.pk).verbal_state == "confirmed"
    assert len(out.logged(Action.VERBAL_CONFIRMED)) == 1


def deployed_now(out: Outcome) -> None:
    assert _status(out.world.approved) == Status.DEPLOYED
    assert Deployment.objects.filter(
        release=out.world.approved, status="succeeded", recorded_by=out.user
    ).exists()


def reviewed(out: Outcome) -> None:
    assert _status(out.world.deployed) == Status.CLOSED
    assert PostReleaseReview.objects.filter(release=out.world.deployed, author=out.user).exists()


def artifact_added(out: Outcome) -> None:
    assert Artifact.objects.filter(
        release=out.world.review, name="matrix-image", digest=DIGEST
    ).exists()


def artifact_removed(out: Outcome) -> None:
    assert not Artifact.objects.filter(release=out.world.review).exists()


def raci_changed(out: Outcome) -> None:
    assert Assignment.objects.filter(
        activity__release=out.world.review,
        activity__name="Business scope",
        user=out.world.users[OUTSIDER],
        letter="I",
    ).exists()
    assert len(out.logged(Action.RACI_CHANGED)) == 1


def my_signoffs_listed(out: Outcome) -> None:
    if out.persona == ACCOUNTABLE:
        out.sees("Payments API 2.4.0", "Business scope")
    else:
        out.does_not_see("Payments API 2.4.0")


def meeting_scheduled(out: Outcome) -> None:
    meeting = GateMeeting.objects.get(release=out.world.review, location="Room Matrix")
    assert meeting.created_by == out.user
    assert out.response["Location"] == meeting.get_absolute_url()


def freeze_overridden(out: Outcome) -> None:
    hotfix = Release.objects.get(pk=out.world.hotfix.pk)
    assert hotfix.freeze_override_reason == "Payments are down"


def _meeting(out: Outcome) -> GateMeeting:
    return GateMeeting.objects.get(pk=out.world.meeting.pk)


def meeting_moved(out: Outcome) -> None:
    meeting = _meeting(out)
    assert (meeting.location, meeting.sequence) == ("Room Moved", 1)
    assert len(out.logged(Action.MEETING_RESCHEDULED)) == 1


def meeting_cancelled(out: Outcome) -> None:
    assert _meeting(out).status == MeetingStatus.CANCELLED
    assert len(out.logged(Action.MEETING_CANCELLED)) == 1


def minutes_recorded(out: Outcome) -> None:
    meeting = _meeting(out)
    assert (meeting.status, meeting.decision, meeting.minutes) == (
        MeetingStatus.HELD,
        "go_pending",
        "Go, with the rollback rehearsed.",
    )
    assert "Business scope" in meeting.signoffs_missing
    assert len(out.logged(Action.MEETING_MINUTES)) == 1


def own_notification_listed(out: Outcome) -> None:
    out.sees(f"Notice for {out.user.username}")
    out.does_not_see(f"Notice for {out.world.users[VERBAL_ACCOUNTABLE].username}")


def notifications_read(out: Outcome) -> None:
    assert not Notification.objects.filter(user=out.user, read_at__isnull=True).exists()
    assert Notification.objects.filter(
        user=out.world.users[VERBAL_ACCOUNTABLE], read_at__isnull=True
    ).exists()


def freeze_added(out: Outcome) -> None:
    assert FreezeWindow.objects.filter(reason="Matrix freeze", created_by=out.user).exists()
    assert len(out.logged(Action.FREEZE_CHANGED)) == 1


def freeze_removed(out: Outcome) -> None:
    assert not FreezeWindow.objects.filter(pk=out.world.freeze.pk).exists()
    assert len(out.logged(Action.FREEZE_CHANGED)) == 1


def calendar_settings_shown(out: Outcome) -> None:
    if out.persona == RESPONSIBLE:
        out.sees("You have a calendar link")
    else:
        out.sees("Create my calendar link")


def calendar_link_created(out: Outcome) -> None:
    token = re.search(r"/calendar/([\w-]+)\.ics", out.content).group(1)
    feed = CalendarFeed.objects.get(user=out.user)
    assert feed.token_sha256 == CalendarFeed.hash_token(token)


def calendar_feed_shown(out: Outcome) -> None:
    assert out.response["Content-Type"].startswith("text/calendar")
    out.sees("BEGIN:VCALENDAR", MEETING_ROOM)


def entry_shown(out: Outcome) -> None:
    entry = ChangeLogEntry.objects.get(seq=out.world.submitted_seq)
    out.sees(entry.hash)


def export_has_entry(out: Outcome) -> None:
    out.sees(ChangeLogEntry.objects.get(seq=out.world.submitted_seq).hash)


def export_job_rows() -> dict[str, int | str]:
    """A prepared export is its requester's (AUDITOR): other log readers get 404."""
    return {**global_rows(LOG_READERS, 404), AUDITOR: 200}


def export_job_queued(out: Outcome) -> None:
    job = ExportJob.objects.filter(requested_by=out.user).latest("pk")
    assert out.response["Location"] == reverse("evidence:changelog_export_job", args=[job.pk])
    assert job.status == ExportJob.Status.QUEUED


def export_file_served(out: Outcome) -> None:
    assert b"#trailer" in b"".join(out.response.streaming_content)


def evidence_pack_zipped(out: Outcome) -> None:
    assert out.response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(BytesIO(b"".join(out.response.streaming_content))).namelist()
    assert any("rad" in name for name in names), names


def api_release_listed(out: Outcome) -> None:
    versions = {row["version"] for row in out.json()["results"]}
    if out.persona == OUTSIDER:
        assert versions == set()
    else:
        assert {"2.4.0", "2.5.0", "2.6.0"} <= versions


def api_release_read(out: Outcome) -> None:
    body = out.json()
    assert (body["title"], body["status"], body["rad"]["revision"]) == (
        "SEPA Instant",
        "in_review",
        2,
    )


def api_check_reported(out: Outcome) -> None:
    check = GateCheck.objects.get(release=out.world.review, name="matrix-check")
    assert check.status == "pass"
    assert out.json()["name"] == "matrix-check"
    assert len(out.logged(Action.GATE_CHECK_REPORTED)) == 1


def api_raci_read(out: Outcome) -> None:
    rows = {row["name"]: row for row in out.json()["activities"]}
    assert rows["Business scope"]["A"] == ["po"]


def api_deploy_allowed(out: Outcome) -> None:
    assert out.json() == {"allowed": True}


def api_deployed(out: Outcome) -> None:
    assert out.json()["release_status"] == Status.DEPLOYED
    assert _status(out.world.approved) == Status.DEPLOYED


def api_artifacts_read(out: Outcome) -> None:
    assert [a["name"] for a in out.json()["artifacts"]] == ["payments-image"]


def api_artifact_reported(out: Outcome) -> None:
    assert Artifact.objects.filter(
        release=out.world.review, name="matrix-image", digest=DIGEST
    ).exists()
    assert {a["name"] for a in out.json()["artifacts"]} == {"payments-image", "matrix-image"}


def api_changelog_read(out: Outcome) -> None:
    body = out.json()
    assert out.world.submitted_seq in {entry["seq"] for entry in body["entries"]}


def api_attestation_read(out: Outcome) -> None:
    envelope = out.json()
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["predicate"]["version"] == "2.6.0"


def attestation_keys_listed(out: Outcome) -> None:
    keys = out.json()["keys"]
    assert len(keys) == 1 and "BEGIN PUBLIC KEY" in keys[0]["public_key_pem"]


def api_not_found(out: Outcome) -> None:
    assert out.json()["error"] == "not_found"


def account_created(out: Outcome) -> None:
    account = ServiceAccount.objects.get(name="matrix-ci")
    out.sees(ApiToken.objects.get(service_account=account).prefix)
    assert out.response["Cache-Control"] == "no-store"


def account_rescoped(out: Outcome) -> None:
    assert ServiceAccount.objects.get(pk=out.world.account.pk).can_read_changelog


def token_issued(out: Outcome) -> None:
    newest = ApiToken.objects.filter(service_account=out.world.account).latest("pk")
    assert newest.pk != out.world.token_id
    out.sees(newest.prefix)


def token_revoked(out: Outcome) -> None:
    assert ApiToken.objects.get(pk=out.world.token_id).revoked_at is not None


def webhook_created(out: Outcome) -> None:
    assert WebhookEndpoint.objects.filter(url="https://hooks.example.com/matrix").exists()
    out.sees("whsec_")


def webhook_updated(out: Outcome) -> None:
    assert (
        WebhookEndpoint.objects.get(pk=out.world.webhook.pk).url
        == "https://hooks.example.com/moved"
    )


def webhook_rotated(out: Outcome) -> None:
    secret = WebhookEndpoint.objects.values_list("secret", flat=True).get(pk=out.world.webhook.pk)
    assert secret != out.world.webhook.secret
    out.sees(secret)


def signed_in(out: Outcome) -> None:
    if out.persona == ANONYMOUS:
        assert out.client.session["_auth_user_id"] == str(out.world.users[INFORMED].pk)
        assert out.entries[-1].action == Action.LOGIN
    else:  # already signed in: sent home, still the same person
        assert out.response["Location"] == reverse("home")
        assert out.client.session["_auth_user_id"] == str(out.user.pk)


def signed_out(out: Outcome) -> None:
    out.sees("You are signed out")
    assert "_auth_user_id" not in out.client.session
    if out.user is not None:
        assert len(out.logged(Action.LOGOUT)) == 1


def password_changed(out: Outcome) -> None:
    user = get_user_model().objects.get(pk=out.user.pk)
    assert user.check_password("a-new-Passphrase-42")


def signed_out_elsewhere(out: Outcome) -> None:
    [entry] = out.logged(Action.LOGOUT)
    assert entry.reason == "Signed out everywhere"
    assert "_auth_user_id" in out.client.session  # this session stays


def time_zone_set(out: Outcome) -> None:
    [entry] = out.logged(Action.TIMEZONE_CHANGED)
    assert (entry.before, entry.after) == ({"time_zone": "UTC"}, {"time_zone": "Asia/Tokyo"})
    assert out.client.session["relapp_tz"] == "Asia/Tokyo"


def lock_lifted(out: Outcome) -> None:
    [entry] = out.logged(Action.AUTH_UNLOCKED)
    assert entry.after["username"] == "nobody"


def authenticator_pending(out: Outcome) -> None:
    assert TOTPDevice.objects.filter(user=out.user, confirmed=False).count() == 1
    assert not TOTPDevice.objects.filter(user=out.user, confirmed=True).exists()


def login_page(out: Outcome) -> None:
    if out.persona == ANONYMOUS:
        out.sees('name="password"')
    else:
        assert out.response["Location"] == reverse("home")


def healthy(out: Outcome) -> None:
    assert out.json()["database"] == "ok"


def preferences_shown(out: Outcome) -> None:
    out.sees("Submitted for your signature", "Daily digest")


def preferences_saved(out: Outcome) -> None:
    chosen = NotificationPreference.objects.get(user=out.user, event="signed")
    assert chosen.channel == "none"


def unsubscribe_asked(out: Outcome) -> None:
    out.sees("Stop all notifications about", "Sign-off recorded")


def unsubscribed(out: Outcome) -> None:
    chosen = NotificationPreference.objects.get(user=out.world.users[RESPONSIBLE], event="signed")
    assert chosen.channel == "none"
    out.sees("Unsubscribed")


def one_click_unsubscribed(out: Outcome) -> None:
    chosen = NotificationPreference.objects.get(user=out.world.users[RESPONSIBLE], event="signed")
    assert chosen.channel == "none"
    assert out.response.json() == {"unsubscribed": True}


def chat_listed(out: Outcome) -> None:
    out.sees("#matrix-releases")


def chat_added(out: Outcome) -> None:
    assert ChatDestination.objects.filter(name="matrix-teams", created_by=out.user).exists()
    assert len(out.logged(Action.WEBHOOK_CHANGED)) == 1


def chat_removed(out: Outcome) -> None:
    assert not ChatDestination.objects.get(pk=out.world.chat.pk).is_active
    assert len(out.logged(Action.WEBHOOK_CHANGED)) == 1


def _unsubscribe_url(world: World) -> str:
    token = unsubscribe_token(user=world.users[RESPONSIBLE], event="signed")
    return reverse("notifications:unsubscribe", kwargs={"token": token})


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One URL pattern and method: the status per persona, and how to check success."""

    key: str  # "namespace:name", as get_resolver() names the pattern
    method: str
    expect: dict[str, int | str]
    url: Callable[[World], str]
    effect: Callable[[Outcome], None] | None = None
    data: Callable[[World], dict] | None = None
    api: bool = False  # JSON body
    variant: str = ""


def on(release: str, name: str, **extra) -> Callable[[World], str]:
    """The URL of `name` for the release in `world.<release>`."""

    def build(world: World) -> str:
        target = getattr(world, release)
        kwargs = {"product": target.product.slug, "version": target.version}
        if "activity" in extra:
            kwargs["activity_id"] = activity(target, extra["activity"]).pk
        return reverse(name, kwargs=kwargs)

    return build


def plain(name: str, **kwargs) -> Callable[[World], str]:
    return lambda world: reverse(name, kwargs=kwargs)


def meeting_url(name: str) -> Callable[[World], str]:
    return lambda world: reverse(name, kwargs={"meeting_id": world.meeting.pk})


def account_url(name: str) -> Callable[[World], str]:
    return lambda world: reverse(name, kwargs={"name": world.account.name})


def webhook_url(name: str) -> Callable[[World], str]:
    return lambda world: reverse(name, kwargs={"pk": world.webhook.pk})


def const(data: dict) -> Callable[[World], dict]:
    return lambda world: data


SIGNOFF_POST = {"decision": "approve", "revision": 2, "comment": "", "password": PASSWORD}

# --- the release calendar, metrics and fire drills -------------------------------------


def on_review_day(name: str) -> Callable[[World], str]:
    return lambda world: reverse(name) + f"?date={world.review.window_start.date().isoformat()}"


def product_url(name: str) -> Callable[[World], str]:
    return lambda world: reverse(name, kwargs={"product": world.product.slug})


def metrics_counted(out: Outcome) -> None:
    """2.8.0's deployment is counted for whoever may see the product, and for nobody else."""
    periods = out.json()["periods"]
    sees = out.persona != OUTSIDER
    assert sum(p["deployments"] for p in periods) == (1 if sees else 0)


def metrics_csv_counted(out: Outcome) -> None:
    rows = out.text.strip().splitlines()
    assert rows[0].startswith("period,Deployment frequency")
    assert sum(int(r.rsplit(",", 1)[1] or 0) for r in rows[1:]) == (
        0 if out.persona == OUTSIDER else 1
    )


def drill_recorded(out: Outcome) -> None:
    assert FireDrill.objects.filter(product=out.world.product, recorded_by=out.user).exists()
    assert len(out.logged(Action.DRILL_RECORDED)) == 1


def drill_scheduled(out: Outcome) -> None:
    schedule = FireDrillSchedule.objects.get(product=out.world.product)
    assert schedule.rrule == "FREQ=MONTHLY;INTERVAL=3"
    assert len(out.logged(Action.DRILL_SCHEDULED)) == 1


def targets_saved(out: Outcome) -> None:
    assert Product.objects.get(pk=out.world.product.pk).deploy_targets == ["payments-db"]
    assert len(out.logged(Action.PRODUCT_CHANGED)) == 1


CASES = [
    # --- relapp ---
    Case("home", "GET", everyone(200), plain("home"), shows_to_viewers("Settlement hotfix")),
    Case("healthz", "GET", everyone(200, anonymous=200), plain("healthz"), healthy),
    Case(
        "login",
        "GET",
        {ANONYMOUS: 200, **dict.fromkeys(SIGNED_IN, 302)},
        plain("login"),
        login_page,
    ),
    Case(
        "login",
        "POST",
        everyone(302, anonymous=302),
        plain("login"),
        signed_in,
        const({"username": "ii", "password": PASSWORD}),
    ),
    Case("logout", "GET", everyone(405, anonymous=405), plain("logout")),
    Case("logout", "POST", everyone(200, anonymous=200), plain("logout"), signed_out),
    Case(
        "password_change",
        "GET",
        everyone(200),
        plain("password_change"),
        shows('name="new_password1"'),
    ),
    Case(
        "password_change",
        "POST",
        everyone(302),
        plain("password_change"),
        password_changed,
        const(
            {
                "old_password": PASSWORD,
                "new_password1": "a-new-Passphrase-42",
                "new_password2": "a-new-Passphrase-42",
            }
        ),
    ),
    # Single sign-on is not configured in the matrix's world: the OIDC
    # endpoints answer 404 (tests/test_sso.py runs them against a provider).
    Case("accounts:oidc_start", "GET", everyone(404, anonymous=404), plain("accounts:oidc_start")),
    Case(
        "accounts:oidc_callback",
        "GET",
        everyone(404, anonymous=404),
        plain("accounts:oidc_callback"),
    ),
    # Signing by re-authenticating at the provider (tests/test_sso_signature.py):
    # anonymous visitors are sent to sign in first; with OIDC off, 404.
    Case(
        "accounts:oidc_signoff_callback",
        "GET",
        everyone(404),
        plain("accounts:oidc_signoff_callback"),
    ),
    Case(
        "accounts:account",
        "GET",
        everyone(200),
        plain("accounts:account"),
        shows("Sign out everywhere else"),
    ),
    Case(
        "accounts:sign_out_everywhere",
        "POST",
        everyone(302),
        plain("accounts:sign_out_everywhere"),
        signed_out_elsewhere,
    ),
    Case(
        "accounts:lockout_list",
        "GET",
        global_rows(MANAGERS, 200),
        plain("accounts:lockout_list"),
        shows("Nobody is locked out."),
    ),
    Case(
        "accounts:lockout_lift",
        "POST",
        global_rows(MANAGERS, 302),
        plain("accounts:lockout_lift"),
        lock_lifted,
        const({"kind": "account", "value": "nobody"}),
    ),
    Case(
        "accounts:authenticator",
        "GET",
        everyone(200),
        plain("accounts:authenticator"),
        shows("Set up an authenticator app"),
    ),
    Case(
        "accounts:authenticator_start",
        "POST",
        everyone(302),
        plain("accounts:authenticator_start"),
        authenticator_pending,
    ),
    Case(
        "accounts:authenticator_confirm",
        "POST",
        everyone(400),
        plain("accounts:authenticator_confirm"),
        shows("There is no authenticator set-up to confirm"),
        const({"code": "000000"}),
    ),
    Case(
        "accounts:authenticator_disable",
        "POST",
        everyone(400),
        plain("accounts:authenticator_disable"),
        shows("You have no authenticator to remove."),
        const({"password": PASSWORD, "code": "000000"}),
    ),
    Case(
        "password_change_done",
        "GET",
        everyone(200),
        plain("password_change_done"),
        shows("Password changed"),
    ),
    # --- approvals ---
    Case(
        "approvals:product_list",
        "GET",
        everyone(200),
        plain("approvals:product_list"),
        shows_to_viewers("Payments API"),
    ),
    Case(
        "approvals:product_create",
        "GET",
        global_rows(MANAGERS, 200),
        plain("approvals:product_create"),
        shows('name="slug"'),
    ),
    Case(
        "approvals:product_create",
        "POST",
        global_rows(MANAGERS, 302),
        plain("approvals:product_create"),
        product_created,
        const({"name": "Matrix product", "slug": "matrix-product"}),
    ),
    Case(
        "approvals:release_list",
        "GET",
        everyone(200),
        plain("approvals:release_list"),
        shows_to_viewers("SEPA Instant"),
    ),
    Case(
        "approvals:release_create",
        "GET",
        global_rows(MANAGERS, 200),
        plain("approvals:release_create"),
        shows("Payments API"),
    ),
    Case(
        "approvals:release_create",
        "POST",
        global_rows(MANAGERS, 302),
        plain("approvals:release_create"),
        release_created,
        lambda world: {
            "product": world.product.pk,
            "version": "9.9.9",
            "title": "Matrix release",
            "release_type": "normal",
            "window_start": "2031-01-01T10:00",
            "window_end": "2031-01-01T12:00",
        },
    ),
    Case(
        "approvals:release_detail",
        "GET",
        release_rows(set(VIEWERS), 200),
        on("review", "approvals:release_detail"),
        shows("SEPA Instant", "Instant refunds"),
    ),
    Case(
        "approvals:rad_edit",
        "GET",
        release_rows(WRITERS, 200),
        on("review", "approvals:rad_edit"),
        shows("Instant refunds"),
    ),
    Case(
        "approvals:rad_edit",
        "POST",
        release_rows(WRITERS, 302),
        on("review", "approvals:rad_edit"),
        rad_revised,
        const(rad_post(complete_rad(scope="Edited in the permission matrix"))),
    ),
    Case(
        "approvals:rad_diff",
        "GET",
        release_rows(set(VIEWERS), 200),
        on("review", "approvals:rad_diff"),
        shows("Instant refunds"),
    ),
    Case(
        "approvals:release_submit",
        "POST",
        release_rows(WRITERS, 302),
        on("draft", "approvals:release_submit"),
        moved("draft", Status.IN_REVIEW, Action.RELEASE_SUBMITTED),
    ),
    Case(
        "approvals:release_cancel",
        "POST",
        release_rows(MANAGERS, 302),
        on("review", "approvals:release_cancel"),
        moved("review", Status.CANCELLED, Action.RELEASE_CANCELLED),
        const({"reason": "Superseded"}),
    ),
    Case(
        "approvals:comment_create",
        "POST",
        release_rows(COMMENTERS, 302),
        on("review", "approvals:comment_create"),
        comment_posted,
        const({"body": "Matrix comment"}),
    ),
    Case(
        "approvals:signoff",
        "GET",
        release_rows({ACCOUNTABLE}, 200),
        on("review", "approvals:signoff", activity="Business scope"),
        shows("I approve Business scope for Payments API 2.4.0, RAD revision 2"),
    ),
    Case(
        "approvals:signoff",
        "POST",
        release_rows({ACCOUNTABLE}, 302),
        on("review", "approvals:signoff", activity="Business scope"),
        signed,
        const(SIGNOFF_POST),
    ),
    Case(
        "approvals:verbal_record",
        "GET",
        release_rows(MANAGERS, 200),
        on("review", "approvals:verbal_record", activity="Business scope"),
        shows("Business scope"),
    ),
    Case(
        "approvals:verbal_record",
        "POST",
        release_rows(MANAGERS, 302),
        on("review", "approvals:verbal_record", activity="Business scope"),
        verbal_recorded,
        lambda world: {"channel": "call", "given_at": _local(-timedelta(hours=1)), "note": ""},
    ),
    Case(
        "approvals:release_halt",
        "POST",
        release_rows(HALTERS, 302),
        on("approved", "approvals:release_halt"),
        moved("approved", Status.HALTED, Action.RELEASE_HALTED),
        const({"reason": "Error budget spent"}),
    ),
    Case(
        "approvals:release_revise",
        "POST",
        release_rows(WRITERS, 302),
        on("halted", "approvals:release_revise"),
        moved("halted", Status.DRAFT, Action.RELEASE_REVISED),
        const({"reason": "Scope changes"}),
    ),
    Case(
        "approvals:deployment_create",
        "GET",
        release_rows(MANAGERS, 200),
        on("approved", "approvals:deployment_create"),
        shows("Record a deployment of", 'name="artifact"'),
    ),
    Case(
        "approvals:deployment_create",
        "POST",
        release_rows(MANAGERS, 302),
        on("approved", "approvals:deployment_create"),
        deployed_now,
        const({"status": "succeeded", "environment": "production", "details": ""}),
    ),
    Case(
        "approvals:review_create",
        "GET",
        release_rows(WRITERS, 200),
        on("deployed", "approvals:review_create"),
        shows("Payments API 2.8.0", 'name="went_well"'),
    ),
    Case(
        "approvals:review_create",
        "POST",
        release_rows(WRITERS, 302),
        on("deployed", "approvals:review_create"),
        reviewed,
        const({"went_well": "Smooth", "slipped": "Nothing", "template_changes": ""}),
    ),
    Case(
        "approvals:artifact_add",
        "POST",
        release_rows(WRITERS, 302),
        on("review", "approvals:artifact_add"),
        artifact_added,
        const({"name": "matrix-image", "kind": "image", "digest": DIGEST}),
    ),
    Case(
        "approvals:artifact_remove",
        "POST",
        release_rows(WRITERS, 302),
        on("review", "approvals:artifact_remove"),
        artifact_removed,
        const({"name": "payments-image"}),
    ),
    Case(
        "approvals:raci_edit",
        "GET",
        release_rows(MANAGERS, 200),
        on("review", "approvals:raci_edit"),
        shows("Business scope – ii"),
    ),
    Case(
        "approvals:raci_edit",
        "POST",
        release_rows(MANAGERS, 302),
        on("review", "approvals:raci_edit"),
        raci_changed,
        raci_form,
    ),
    Case(
        "approvals:verbal_respond",
        "GET",
        {**everyone(404), VERBAL_ACCOUNTABLE: 200},
        lambda world: reverse("approvals:verbal_respond", kwargs={"signoff_id": world.verbal.pk}),
        shows("Operational readiness"),
    ),
    Case(
        "approvals:verbal_respond",
        "POST",
        {**everyone(404), VERBAL_ACCOUNTABLE: 302},
        lambda world: reverse("approvals:verbal_respond", kwargs={"signoff_id": world.verbal.pk}),
        verbal_confirmed,
        const({"response": "confirm", "note": "", "password": PASSWORD}),
    ),
    Case(
        "approvals:my_signoffs",
        "GET",
        everyone(200),
        plain("approvals:my_signoffs"),
        my_signoffs_listed,
    ),
    # --- meetings ---
    Case(
        "meetings:meeting_create",
        "GET",
        release_rows(WRITERS, 200),
        on("review", "meetings:meeting_create"),
        shows('name="location"'),
    ),
    Case(
        "meetings:meeting_create",
        "POST",
        release_rows(WRITERS, 302),
        on("review", "meetings:meeting_create"),
        meeting_scheduled,
        lambda world: {
            "start": _local(timedelta(days=1)),
            "duration_minutes": "30",
            "location": "Room Matrix",
        },
    ),
    Case(
        "meetings:freeze_override",
        "POST",
        release_rows(MANAGERS, 302),
        on("hotfix", "meetings:freeze_override"),
        freeze_overridden,
        const({"reason": "Payments are down"}),
    ),
    Case(
        "meetings:meeting_detail",
        "GET",
        release_rows(set(VIEWERS), 200),
        meeting_url("meetings:meeting_detail"),
        shows(MEETING_ROOM, "Payments API 2.4.0"),
    ),
    Case(
        "meetings:meeting_edit",
        "GET",
        release_rows(WRITERS, 200),
        meeting_url("meetings:meeting_edit"),
        shows(MEETING_ROOM),
    ),
    Case(
        "meetings:meeting_edit",
        "POST",
        release_rows(WRITERS, 302),
        meeting_url("meetings:meeting_edit"),
        meeting_moved,
        lambda world: {
            "start": _local(timedelta(hours=30)),
            "duration_minutes": "20",
            "location": "Room Moved",
        },
    ),
    Case(
        "meetings:meeting_cancel",
        "POST",
        release_rows(WRITERS, 302),
        meeting_url("meetings:meeting_cancel"),
        meeting_cancelled,
        const({"reason": "Everyone signed already"}),
    ),
    # Recording the minutes: the auditor and the Informed viewer are refused.
    Case(
        "meetings:meeting_outcome",
        "POST",
        release_rows(WRITERS, 302),
        meeting_url("meetings:meeting_outcome"),
        minutes_recorded,
        const({"decision": "go_pending", "minutes": "Go, with the rollback rehearsed."}),
    ),
    Case(
        "meetings:meeting_ics",
        "GET",
        release_rows(set(VIEWERS), 200),
        meeting_url("meetings:meeting_ics"),
        calendar_feed_shown,
    ),
    Case(
        "meetings:notification_list",
        "GET",
        everyone(200),
        plain("meetings:notification_list"),
        own_notification_listed,
    ),
    Case(
        "meetings:notification_read",
        "POST",
        everyone(302),
        plain("meetings:notification_read"),
        notifications_read,
    ),
    Case(
        "meetings:freeze_list",
        "GET",
        everyone(200),
        plain("meetings:freeze_list"),
        shows(FREEZE_REASON),
    ),
    Case(
        "meetings:freeze_list",
        "POST",
        global_rows(MANAGERS, 302),
        plain("meetings:freeze_list"),
        freeze_added,
        lambda world: {
            "product": "",
            "start": _local(timedelta(days=90)),
            "end": _local(timedelta(days=91)),
            "reason": "Matrix freeze",
        },
    ),
    Case(
        "meetings:freeze_delete",
        "POST",
        global_rows(MANAGERS, 302),
        lambda world: reverse("meetings:freeze_delete", kwargs={"freeze_id": world.freeze.pk}),
        freeze_removed,
    ),
    Case(
        "meetings:calendar_settings",
        "GET",
        everyone(200),
        plain("meetings:calendar_settings"),
        calendar_settings_shown,
    ),
    Case(
        "meetings:calendar_settings",
        "POST",
        everyone(200),
        plain("meetings:calendar_settings"),
        calendar_link_created,
    ),
    # The secret URL is the credential: whoever holds it reads that person's feed.
    Case(
        "meetings:calendar_feed",
        "GET",
        everyone(200, anonymous=200),
        lambda world: reverse("meetings:calendar_feed", kwargs={"token": world.feed_token}),
        calendar_feed_shown,
    ),
    Case(
        "meetings:calendar_feed",
        "GET",
        {ANONYMOUS: 404, RESPONSIBLE: 404},
        plain("meetings:calendar_feed", token="not-a-feed-token"),
        variant="unknown token",
    ),
    # --- evidence (the auditor's change log) ---
    Case(
        "evidence:changelog_list",
        "GET",
        global_rows(LOG_READERS, 200),
        lambda world: reverse("evidence:changelog_list") + f"?release={world.review.pk}",
        lambda out: out.sees(f"#{out.world.submitted_seq}", "Payments API 2.4.0"),
    ),
    Case(
        "evidence:changelog_entry",
        "GET",
        global_rows(LOG_READERS, 200),
        lambda world: reverse("evidence:changelog_entry", kwargs={"seq": world.submitted_seq}),
        entry_shown,
    ),
    Case(
        "evidence:unauthorized_list",
        "GET",
        global_rows(LOG_READERS, 200),
        plain("evidence:unauthorized_list"),
        shows("Payments API 2.8.0"),  # deployed outside its window
    ),
    # --- auditstream (where the change log is streamed) ---
    Case(
        "auditstream:destination_list",
        "GET",
        global_rows(LOG_READERS, 200),
        plain("auditstream:destination_list"),
        shows("No destination is configured"),
    ),
    Case(
        "evidence:changelog_export_csv",
        "GET",
        global_rows(LOG_READERS, 200),
        plain("evidence:changelog_export_csv"),
        export_has_entry,
    ),
    Case(
        "evidence:changelog_export_json",
        "GET",
        global_rows(LOG_READERS, 200),
        plain("evidence:changelog_export_json"),
        export_has_entry,
    ),
    Case(
        "evidence:release_suggestions",
        "GET",
        global_rows(LOG_READERS, 200),
        lambda world: reverse("evidence:release_suggestions") + "?q=payments",
        shows("Payments API 2.8.0"),
    ),
    Case(
        "evidence:changelog_export_start",
        "POST",
        global_rows(LOG_READERS, 302),
        plain("evidence:changelog_export_start"),
        export_job_queued,
        const({"format": "csv", "query": ""}),
    ),
    Case(
        "evidence:changelog_export_job",
        "GET",
        export_job_rows(),
        lambda world: reverse("evidence:changelog_export_job", args=[world.export_job.pk]),
        shows("Ready to download"),
    ),
    Case(
        "evidence:changelog_export_download",
        "GET",
        export_job_rows(),
        lambda world: reverse("evidence:changelog_export_download", args=[world.export_job.pk]),
        export_file_served,
    ),
    Case(
        "evidence:evidence_pack",
        "GET",
        release_rows(LOG_READERS, 200),
        on("review", "evidence:evidence_pack"),
        evidence_pack_zipped,
    ),
    # --- api: the pipeline API (401 without a token) ---
    Case(
        "api:release_list",
        "GET",
        {**everyone(200, anonymous=401), PIPELINE: 200},
        plain("api:release_list"),
        api_release_listed,
    ),
    Case(
        "api:release_detail",
        "GET",
        api_release_rows(set(VIEWERS), 200),
        on("review", "api:release_detail"),
        api_release_read,
    ),
    Case(
        "api:gate_check_create",
        "POST",
        api_release_rows(WRITERS, 201),
        on("review", "api:gate_check_create"),
        api_check_reported,
        const({"name": "matrix-check", "status": "pass"}),
        api=True,
    ),
    Case(
        "api:release_raci",
        "GET",
        api_release_rows(set(VIEWERS), 200),
        on("review", "api:release_raci"),
        api_raci_read,
    ),
    Case(
        "api:deploy_check",
        "GET",
        api_release_rows(set(VIEWERS), 200),
        on("approved", "api:deploy_check"),
        api_deploy_allowed,
    ),
    Case(
        "api:deployment_create",
        "POST",
        api_release_rows(MANAGERS, 201),
        on("approved", "api:deployment_create"),
        api_deployed,
        const({"status": "succeeded"}),
        api=True,
    ),
    Case(
        "api:artifacts",
        "GET",
        api_release_rows(set(VIEWERS), 200),
        on("review", "api:artifacts"),
        api_artifacts_read,
    ),
    Case(
        "api:artifacts",
        "POST",
        api_release_rows(WRITERS, 201),
        on("review", "api:artifacts"),
        api_artifact_reported,
        const({"artifacts": [{"name": "matrix-image", "kind": "image", "digest": DIGEST}]}),
        api=True,
    ),
    Case(
        "api:attestation",
        "GET",
        api_release_rows(set(VIEWERS), 200),
        on("approved", "api:attestation"),
        api_attestation_read,
    ),
    # Public keys are public: a deploy gate fetches them without an account.
    Case(
        "api:attestation_keys",
        "GET",
        everyone(200, anonymous=200),
        plain("api:attestation_keys"),
        attestation_keys_listed,
    ),
    Case(
        "api:changelog",
        "GET",
        # The pipeline's token was not given change-log access.
        {**global_rows(LOG_READERS, 200), ANONYMOUS: 401, PIPELINE: 403},
        lambda world: reverse("api:changelog") + f"?after_seq={world.submitted_seq - 1}",
        api_changelog_read,
    ),
    # The schema is public, like the API's documentation of any public service.
    Case(
        "api:schema",
        "GET",
        {**everyone(200, anonymous=200), PIPELINE: 200},
        plain("api:schema"),
        shows("/api/v1/releases/", "deploy_check"),
    ),
    Case(
        "api:docs",
        "GET",
        # A bearer token is not a session: the HTML page wants a person.
        {**everyone(200), PIPELINE: TO_LOGIN},
        plain("api:docs"),
        shows("deploy_check"),
    ),
    Case(
        "api:not_found",
        "GET",
        {**everyone(404, anonymous=404), PIPELINE: 404},
        lambda world: "/api/v1/no-such-endpoint/",
        api_not_found,
    ),
    # --- api: service accounts and webhooks, for release managers ---
    Case(
        "api:service_account_list",
        "GET",
        global_rows(MANAGERS, 200),
        plain("api:service_account_list"),
        shows("ci-payments"),
    ),
    Case(
        "api:service_account_create",
        "GET",
        global_rows(MANAGERS, 200),
        plain("api:service_account_create"),
        shows('name="days"'),
    ),
    Case(
        "api:service_account_create",
        "POST",
        global_rows(MANAGERS, 200),
        plain("api:service_account_create"),
        account_created,
        lambda world: {"name": "matrix-ci", "products": [world.product.pk], "days": "30"},
    ),
    Case(
        "api:service_account_detail",
        "GET",
        global_rows(MANAGERS, 200),
        account_url("api:service_account_detail"),
        lambda out: out.sees(ApiToken.objects.get(pk=out.world.token_id).prefix),
    ),
    Case(
        "api:service_account_update",
        "POST",
        global_rows(MANAGERS, 302),
        account_url("api:service_account_update"),
        account_rescoped,
        lambda world: {"products": [world.product.pk], "can_read_changelog": "on"},
    ),
    Case(
        "api:token_issue",
        "POST",
        global_rows(MANAGERS, 200),
        account_url("api:token_issue"),
        token_issued,
        const({"days": "7"}),
    ),
    Case(
        "api:token_revoke",
        "POST",
        global_rows(MANAGERS, 302),
        lambda world: reverse(
            "api:token_revoke", kwargs={"name": world.account.name, "token_id": world.token_id}
        ),
        token_revoked,
    ),
    Case(
        "api:webhook_list",
        "GET",
        global_rows(MANAGERS, 200),
        plain("api:webhook_list"),
        shows(HOOK_URL),
    ),
    Case(
        "api:webhook_create",
        "GET",
        global_rows(MANAGERS, 200),
        plain("api:webhook_create"),
        shows('name="url"'),
    ),
    Case(
        "api:webhook_create",
        "POST",
        global_rows(MANAGERS, 200),
        plain("api:webhook_create"),
        webhook_created,
        lambda world: {
            "product": world.product.pk,
            "url": "https://hooks.example.com/matrix",
            "events": ["release.halted"],
            "description": "",
        },
    ),
    Case(
        "api:webhook_detail",
        "GET",
        global_rows(MANAGERS, 200),
        webhook_url("api:webhook_detail"),
        shows(HOOK_URL),
    ),
    Case(
        "api:webhook_update",
        "POST",
        global_rows(MANAGERS, 302),
        webhook_url("api:webhook_update"),
        webhook_updated,
        const(
            {
                "url": "https://hooks.example.com/moved",
                "events": ["release.approved"],
                "description": "",
                "is_active": "on",
            }
        ),
    ),
    Case(
        "api:webhook_rotate_secret",
        "POST",
        global_rows(MANAGERS, 200),
        webhook_url("api:webhook_rotate_secret"),
        webhook_rotated,
    ),
    # --- notifications: preferences, unsubscribe links, chat channels, the Slack command ---
    Case(
        "notifications:preferences",
        "GET",
        everyone(200),
        plain("notifications:preferences"),
        preferences_shown,
    ),
    Case(
        "notifications:preferences",
        "POST",
        everyone(302),
        plain("notifications:preferences"),
        preferences_saved,
        const(
            {
                **{event: str(channel) for event, channel in DEFAULT_CHANNEL.items()},
                "signed": "none",
            }
        ),
    ),
    # The signed token is the credential: whoever holds the e-mail's link may use it.
    Case(
        "notifications:unsubscribe",
        "GET",
        everyone(200, anonymous=200),
        _unsubscribe_url,
        unsubscribe_asked,
    ),
    Case(
        "notifications:unsubscribe",
        "POST",
        everyone(200, anonymous=200),
        _unsubscribe_url,
        unsubscribed,
    ),
    Case(
        "notifications:unsubscribe",
        "GET",
        {ANONYMOUS: 400, RESPONSIBLE: 400},
        plain("notifications:unsubscribe", token="forged-token"),
        variant="forged token",
    ),
    Case(
        "notifications:unsubscribe",
        "POST",
        {ANONYMOUS: 400, RESPONSIBLE: 400},
        plain("notifications:unsubscribe", token="forged-token"),
        variant="forged token",
    ),
    # RFC 8058 one-click: the mail client's POST carries no CSRF token, only the signed token.
    Case(
        "notifications:unsubscribe_one_click",
        "POST",
        everyone(200, anonymous=200),
        lambda world: _unsubscribe_url(world) + "one-click/",
        one_click_unsubscribed,
        const({"List-Unsubscribe": "One-Click"}),
    ),
    Case(
        "notifications:unsubscribe_one_click",
        "GET",
        everyone(405, anonymous=405),
        lambda world: _unsubscribe_url(world) + "one-click/",
    ),
    Case(
        "notifications:chat_destination_list",
        "GET",
        global_rows(MANAGERS, 200),
        plain("notifications:chat_destination_list"),
        chat_listed,
    ),
    Case(
        "notifications:chat_destination_list",
        "POST",
        global_rows(MANAGERS, 302),
        plain("notifications:chat_destination_list"),
        chat_added,
        lambda world: {
            "product": world.product.pk,
            "kind": "teams",
            "name": "matrix-teams",
            "url": HOOK_URL + "/teams",
        },
    ),
    Case(
        "notifications:chat_destination_delete",
        "POST",
        global_rows(MANAGERS, 302),
        lambda world: reverse(
            "notifications:chat_destination_delete", kwargs={"pk": world.chat.pk}
        ),
        chat_removed,
    ),
    # Slack signs its requests; without a signature nobody gets an answer.
    Case(
        "notifications:slack_command",
        "POST",
        everyone(401, anonymous=401),
        plain("notifications:slack_command"),
        data=const({"command": "/relapp", "text": "status payments-api 2.4.0"}),
    ),
]


# --- the release rhythm: the post-deploy checklist (issue 15) ---


def _tick_url(name: str) -> Callable[[World], str]:
    def build(world: World) -> str:
        target = world.deployed
        kwargs = {"product": target.product.slug, "version": target.version, "position": 0}
        return reverse(name, kwargs=kwargs)

    return build


def ticked(out: Outcome) -> None:
    tick = MonitoringTick.objects.get(deployment__release=out.world.deployed, position=0)
    assert (tick.ticked_by, tick.note) == (out.user, "p99 flat")
    assert len(out.logged(Action.MONITORING_TICKED)) == 1


CASES += [
    Case(
        "approvals:monitoring_tick",
        "POST",
        release_rows({RESPONSIBLE}, 302),
        _tick_url("approvals:monitoring_tick"),
        ticked,
        const({"note": "p99 flat", "link": ""}),
    ),
    Case(
        "api:monitoring_tick",
        "POST",
        {**api_release_rows({RESPONSIBLE}, 201), PIPELINE: 403},
        _tick_url("api:monitoring_tick"),
        ticked,
        const({"note": "p99 flat"}),
        api=True,
    ),
    # --- the release calendar, metrics and fire drills ---
    *[
        Case(
            f"meetings:{name}",
            "GET",
            everyone(200),
            on_review_day(f"meetings:{name}"),
            shows_to_viewers("Deployment window: Payments API 2.4.0"),
        )
        for name in ("calendar_month", "calendar_week", "calendar_agenda")
    ],
    Case(
        "metrics:metrics",
        "GET",
        everyone(200),
        plain("metrics:metrics"),
        shows("Deployment frequency", "Change-failure rate", "Time waiting per Accountable"),
    ),
    Case(
        "metrics:metrics_csv",
        "GET",
        everyone(200),
        plain("metrics:metrics_csv", chart="deployment-frequency"),
        metrics_csv_counted,
    ),
    Case(
        "metrics:metrics_api",
        "GET",
        {**everyone(200, anonymous=401), PIPELINE: 200},
        plain("metrics:metrics_api"),
        metrics_counted,
    ),
    Case(
        "approvals:drill_list",
        "GET",
        {ANONYMOUS: TO_LOGIN, OUTSIDER: 404, **dict.fromkeys(VIEWERS, 200)},
        product_url("approvals:drill_list"),
        shows("Payments API: deploy targets and fire drills"),
    ),
    Case(
        "approvals:drill_record",
        "POST",
        release_rows(MANAGERS, 302),
        product_url("approvals:drill_record"),
        drill_recorded,
        lambda world: {
            "held_on": timezone.localdate().isoformat(),
            "scenario": "Matrix failover",
            "participants": "sre",
            "outcome": "succeeded",
            "rollback_minutes": "11",
        },
    ),
    Case(
        "approvals:drill_schedule",
        "POST",
        release_rows(MANAGERS, 302),
        product_url("approvals:drill_schedule"),
        drill_scheduled,
        const({"rrule": "FREQ=MONTHLY;INTERVAL=3", "first_on": "2026-01-15", "grace_days": "7"}),
    ),
    Case(
        "approvals:targets_set",
        "POST",
        release_rows(MANAGERS, 302),
        product_url("approvals:targets_set"),
        targets_saved,
        const({"targets": "payments-db"}),
    ),
]

# --- product settings (policy, RACI template) ---


def _settings_url(name: str) -> Callable[[World], str]:
    return lambda world: reverse(name, kwargs={"product": world.product.slug})


def policy_versioned(out: Outcome) -> None:
    assert ApprovalPolicy.objects.get(product=out.world.product).hotfix_review_days == 9
    latest = PolicyVersion.objects.filter(product=out.world.product).order_by("-number").first()
    assert latest.snapshot["hotfix_review_days"] == 9
    assert latest.created_by == out.user
    assert len(out.logged(Action.POLICY_CHANGED)) == 1


def template_changed(out: Outcome) -> None:
    (entry,) = out.logged(Action.POLICY_CHANGED)
    assert entry.after["raci_template"]["Matrix activity"] == {"qa": "A"}


def _template_form(world: World) -> dict[str, str]:
    data = {
        f"cell-{activity_id}-{user_id}": letter
        for activity_id, user_id, letter in TemplateAssignment.objects.filter(
            activity__product=world.product
        ).values_list("activity_id", "user_id", "letter")
    }
    data["new_activity"] = "Matrix activity"
    data[f"cell-new-{world.team['qa'].pk}"] = "A"
    return data


CASES += [
    Case(
        "approvals:product_policy",
        "GET",
        release_rows(MANAGERS, 200),
        _settings_url("approvals:product_policy"),
        shows('name="hotfix_review_days"'),
    ),
    Case(
        "approvals:product_policy",
        "POST",
        release_rows(MANAGERS, 302),
        _settings_url("approvals:product_policy"),
        policy_versioned,
        const(
            {
                "max_rehearsal_age_days": "30",
                "block_open_critical_defects": "on",
                "hotfix_review_days": "9",
                "reminder_offsets_seconds": "24, 1",
                "signoff_reminder_seconds": "7200",
                "approval_validity_days": "14",
                "hotfix_verbal_grace_hours": "0",
                "block_marked_findings": "on",
                "fast_path_max_risk_score": "6",
                "cutoff_days_before_window": "7",
                "monitoring_tick_hours": "2",
                "operations_activity": "Operational readiness",
            }
        ),
    ),
    Case(
        "approvals:product_raci_template",
        "GET",
        release_rows(MANAGERS, 200),
        _settings_url("approvals:product_raci_template"),
        shows("Go/no-go decision"),
    ),
    Case(
        "approvals:product_raci_template",
        "POST",
        release_rows(MANAGERS, 302),
        _settings_url("approvals:product_raci_template"),
        template_changed,
        _template_form,
    ),
]

# --- approver teams ---


def _team_url(name: str) -> Callable[[World], str]:
    return lambda world: reverse(name, kwargs={"team_id": Team.objects.get(name=MATRIX_TEAM).pk})


def team_created(out: Outcome) -> None:
    assert Team.objects.filter(name="New matrix team").exists()
    assert len(out.logged(Action.RACI_CHANGED)) == 1


def team_member_added(out: Outcome) -> None:
    team = Team.objects.get(name=MATRIX_TEAM)
    assert team.members.filter(username="dev").exists()


def team_member_removed(out: Outcome) -> None:
    team = Team.objects.get(name=MATRIX_TEAM)
    assert not team.members.filter(username="qa").exists()


def activity_team_set(out: Outcome) -> None:
    scope = activity(out.world.review, "Business scope")
    assert scope.team.name == MATRIX_TEAM
    assert out.logged(Action.RACI_CHANGED)


CASES += [
    Case(
        "approvals:team_list",
        "GET",
        global_rows(MANAGERS, 200),
        plain("approvals:team_list"),
        shows(MATRIX_TEAM),
    ),
    Case(
        "approvals:team_list",
        "POST",
        global_rows(MANAGERS, 302),
        plain("approvals:team_list"),
        team_created,
        const({"name": "New matrix team"}),
    ),
    Case(
        "approvals:team_detail",
        "GET",
        global_rows(MANAGERS, 200),
        _team_url("approvals:team_detail"),
        shows(MATRIX_TEAM, "(qa)"),
    ),
    Case(
        "approvals:team_detail",
        "POST",
        global_rows(MANAGERS, 302),
        _team_url("approvals:team_detail"),
        team_member_added,
        const({"user": "dev"}),
    ),
    Case(
        "approvals:team_member_remove",
        "POST",
        global_rows(MANAGERS, 302),
        _team_url("approvals:team_member_remove"),
        team_member_removed,
        lambda world: {"user": str(world.team["qa"].pk)},
    ),
    Case(
        "approvals:activity_team",
        "GET",
        release_rows(MANAGERS, 200),
        on("review", "approvals:activity_team"),
        shows("Set an Accountable team"),
    ),
    Case(
        "approvals:activity_team",
        "POST",
        release_rows(MANAGERS, 302),
        on("review", "approvals:activity_team"),
        activity_team_set,
        lambda world: {
            "activity": str(activity(world.review, "Business scope").pk),
            "team": str(Team.objects.get(name=MATRIX_TEAM).pk),
            "required": "1",
        },
    ),
]

# --- delegation ---


def delegation_set(out: Outcome) -> None:
    assert Delegation.objects.filter(absent=out.user, delegate__username="qa").exists()
    assert out.logged(Action.RACI_CHANGED)


def delegation_ended(out: Outcome) -> None:
    assert Delegation.objects.get(reason=MATRIX_DELEGATION).cancelled_at is not None


CASES += [
    Case(
        "approvals:delegations",
        "GET",
        everyone(200),
        plain("approvals:delegations"),
        shows("Set a delegate"),
    ),
    Case(
        "approvals:delegations",
        "POST",
        everyone(302),
        plain("approvals:delegations"),
        delegation_set,
        lambda world: {
            "delegate": str(world.team["qa"].pk),
            "starts_at": _local(timedelta(days=30)),
            "ends_at": _local(timedelta(days=32)),
            "reason": "Matrix trip",
        },
    ),
    Case(
        "approvals:delegation_cancel",
        "POST",
        global_rows(MANAGERS, 302),
        lambda world: reverse(
            "approvals:delegation_cancel",
            kwargs={"delegation_id": Delegation.objects.get(reason=MATRIX_DELEGATION).pk},
        ),
        delegation_ended,
    ),
]

# --- start a RAD from an earlier release ---


def rad_started_from(out: Outcome) -> None:
    latest = out.world.draft.revisions.order_by("-number").first()
    assert latest.author == out.user
    assert latest.content["scope"] == SCOPE_V2
    assert len(out.logged(Action.RAD_REVISED)) == 1


CASES += [
    Case(
        "approvals:rad_start_from",
        "GET",
        release_rows(WRITERS, 200),
        on("draft", "approvals:rad_start_from"),
        shows("Sections to copy", "2.4.0"),
    ),
    Case(
        "approvals:rad_start_from",
        "POST",
        release_rows(WRITERS, 302),
        on("draft", "approvals:rad_start_from"),
        rad_started_from,
        lambda world: {"source": str(world.review.pk), "sections": ["scope"]},
    ),
]

# --- the RAD template ---


def rad_template_saved(out: Outcome) -> None:
    template = RadTemplate.objects.get(product=out.world.product)
    assert template.content["monitoring"] == ["Matrix check"]
    assert template.updated_by == out.user
    (entry,) = out.logged(Action.POLICY_CHANGED)
    assert entry.after["rad_template"]["monitoring"] == ["Matrix check"]


def rad_template_from_review_applied(out: Outcome) -> None:
    template = RadTemplate.objects.get(product=out.world.product)
    assert template.content["monitoring"] == [LESSON]
    (entry,) = out.logged(Action.POLICY_CHANGED)
    assert entry.after["from_review"]["release"] == str(out.world.lessons)


def _lessons_url(name: str) -> Callable[[World], str]:
    return lambda world: reverse(
        name, kwargs={"product": world.product.slug, "version": world.lessons.version}
    )


# --- moving a release's deployment window ---


def window_moved(out: Outcome) -> None:
    draft = Release.objects.get(pk=out.world.draft.pk)
    assert draft.window_start != out.world.draft.window_start
    assert len(out.logged(Action.RELEASE_WINDOW_MOVED)) == 1


CASES += [
    Case(
        "approvals:product_rad_template",
        "GET",
        release_rows(MANAGERS, 200),
        _settings_url("approvals:product_rad_template"),
        shows("RAD template of Payments API", 'name="monitoring-TOTAL_FORMS"'),
    ),
    Case(
        "approvals:product_rad_template",
        "POST",
        release_rows(MANAGERS, 302),
        _settings_url("approvals:product_rad_template"),
        rad_template_saved,
        const(
            {
                "scope": "## What ships",
                "suites-TOTAL_FORMS": "0",
                "suites-INITIAL_FORMS": "0",
                "risks-TOTAL_FORMS": "0",
                "risks-INITIAL_FORMS": "0",
                "monitoring-TOTAL_FORMS": "1",
                "monitoring-INITIAL_FORMS": "0",
                "monitoring-0-item": "Matrix check",
            }
        ),
    ),
    Case(
        "approvals:rad_template_from_review",
        "GET",
        release_rows(MANAGERS, 200),
        _lessons_url("approvals:rad_template_from_review"),
        shows(LESSON, "Apply to the template"),
    ),
    Case(
        "approvals:rad_template_from_review",
        "POST",
        release_rows(MANAGERS, 302),
        _lessons_url("approvals:rad_template_from_review"),
        rad_template_from_review_applied,
        const({"section": "monitoring", "text": LESSON}),
    ),
    Case(
        "approvals:release_window_move",
        "GET",
        release_rows(MANAGERS, 200),
        on("draft", "approvals:release_window_move"),
        shows("Move the deployment window"),
    ),
    Case(
        "approvals:release_window_move",
        "POST",
        release_rows(MANAGERS, 302),
        on("draft", "approvals:release_window_move"),
        window_moved,
        lambda world: {
            "window_start": _local(timedelta(days=40)),
            "window_end": _local(timedelta(days=40, hours=2)),
            "reason": "Matrix move",
            "confirm_window": "on",
        },
    ),
    Case(
        "accounts:time_zone",
        "POST",
        everyone(302),
        plain("accounts:time_zone"),
        time_zone_set,
        const({"time_zone": "Asia/Tokyo"}),
    ),
]

# --- the RAD editor's companions: preview, section comments, evidence files ---


def _on_review(name: str, **objects: str) -> Callable[[World], str]:
    """The URL of `name` on `review`, with path ids taken from the world (comment_id=...)."""

    def build(world: World) -> str:
        kwargs = {"product": world.review.product.slug, "version": world.review.version}
        kwargs.update({key: getattr(world, attr).pk for key, attr in objects.items()})
        return reverse(name, kwargs=kwargs)

    return build


def previewed(out: Outcome) -> None:
    assert out.json() == {"html": "<p><strong>x</strong></p>"}


def comment_resolved(out: Outcome) -> None:
    comment = Comment.objects.get(pk=out.world.section_comment.pk)
    assert comment.resolved_by == out.user
    assert len(out.logged(Action.COMMENT_RESOLVED)) == 1


def evidence_attached(out: Outcome) -> None:
    added = Attachment.objects.get(release=out.world.review, filename="matrix.png")
    assert added.uploaded_by == out.user
    assert len(out.logged(Action.ATTACHMENT_ADDED)) == 1


def evidence_downloaded(out: Outcome) -> None:
    assert out.response["Content-Disposition"] == 'attachment; filename="rehearsal.png"'
    assert out.response["X-Content-Type-Options"] == "nosniff"


def evidence_removed(out: Outcome) -> None:
    removed = Attachment.objects.get(pk=out.world.attachment.pk)
    assert removed.removed_by == out.user
    assert len(out.logged(Action.ATTACHMENT_REMOVED)) == 1


CASES += [
    Case(
        "approvals:rad_preview",
        "POST",
        release_rows(WRITERS, 200),
        on("review", "approvals:rad_preview"),
        previewed,
        const({"text": "**x**"}),
    ),
    Case(
        "approvals:comment_resolve",
        "POST",
        release_rows(COMMENTERS, 302),
        _on_review("approvals:comment_resolve", comment_id="section_comment"),
        comment_resolved,
        const({"resolved": "1"}),
    ),
    Case(
        "approvals:attachment_upload",
        "GET",
        release_rows(WRITERS, 200),
        on("review", "approvals:attachment_upload"),
        shows("Evidence files of Payments API 2.4.0", "rehearsal.png"),
    ),
    Case(
        "approvals:attachment_upload",
        "POST",
        release_rows(WRITERS, 302),
        on("review", "approvals:attachment_upload"),
        evidence_attached,
        lambda world: {"file": SimpleUploadedFile("matrix.png", MATRIX_PNG)},
    ),
    Case(
        "approvals:attachment_download",
        "GET",
        release_rows(set(VIEWERS), 200),
        _on_review("approvals:attachment_download", attachment_id="attachment"),
        evidence_downloaded,
    ),
    Case(
        "approvals:attachment_remove",
        "POST",
        release_rows(WRITERS, 302),
        _on_review("approvals:attachment_remove", attachment_id="attachment"),
        evidence_removed,
    ),
]

# State changes are POST only: GET on a POST-only view is 405 and changes nothing.
_GET_ALSO = {(case.key, case.variant) for case in CASES if case.method == "GET"}
# --- people suggested as one types in the RACI editors (issue 16) ---

CASES += [
    Case(
        "approvals:raci_people",
        "GET",
        release_rows(MANAGERS, 200),
        lambda world: on("review", "approvals:raci_people")(world) + "?q=outsid",
        shows('"value": "outsider"'),
    ),
    Case(
        "approvals:product_raci_people",
        "GET",
        release_rows(MANAGERS, 200),
        lambda world: _settings_url("approvals:product_raci_people")(world) + "?q=outsid",
        shows('"value": "outsider"'),
    ),
    Case(
        "approvals:team_people",
        "GET",
        global_rows(MANAGERS, 200),
        lambda world: _team_url("approvals:team_people")(world) + "?q=outsid",
        shows('"value": "outsider"'),
    ),
]


CASES += [
    Case(case.key, "GET", {SUPERUSER: 405}, case.url)
    for case in list(CASES)
    if case.method == "POST"
    and (case.key, case.variant) not in _GET_ALSO
    and case.key not in {"login", "logout"}
]


# --- the global search (issue 14): GET only, scoped to what each persona may see ---


def search_found(out: Outcome) -> None:
    """Whoever may see the release finds it and the product; the outsider finds nothing."""
    if out.persona == OUTSIDER:
        out.does_not_see(out.world.review.get_absolute_url(), "SEPA Instant")
        out.sees("0 results")
    else:
        out.sees(out.world.review.get_absolute_url(), "SEPA Instant")


CASES += [
    Case(
        "search",
        "GET",
        everyone(200),
        lambda world: reverse("search") + "?q=2.4.0",
        search_found,
    ),
    Case("search", "POST", everyone(405), lambda world: reverse("search"), data=const({"q": "x"})),
]


# --- the URL patterns ---------------------------------------------------------------


def _walk(resolver: URLResolver, namespace: str = "", prefix: str = ""):
    """(key, full route, pattern) for every URL pattern, depth first."""
    for entry in resolver.url_patterns:
        # Joined as ResolverMatch.route joins them: no "^" inside the route.
        route = prefix + str(entry.pattern).removeprefix("^") if prefix else str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = entry.namespace or ""
            joined = ":".join(part for part in (namespace, inner) if part)
            yield from _walk(entry, joined, route)
        elif isinstance(entry, URLPattern):
            name = entry.name or f"<{route}>"  # an unnamed pattern still needs rows
            yield (f"{namespace}:{name}" if namespace else name), route, entry


def url_patterns() -> dict[str, str]:
    """Every URL pattern of the project: key -> route."""
    return {key: route for key, route, _ in _walk(get_resolver())}


# --- the admin: one generated family ------------------------------------------------


_SAMPLE = {"app_label": "approvals", "url": "no-such-page/"}


def _sample_path(route: str) -> str:
    """A path that the admin route matches, with placeholder arguments."""
    path = re.sub(r"\(\?P<(\w+)>[^()]*\)", lambda m: _SAMPLE.get(m.group(1), "1"), route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", "1", path)
    return "/" + path.replace("^", "").replace("$", "")


def _changelist_model(key: str):
    for model in admin.site._registry:
        if key == f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist":
            return model
    return None


def changelist_shown(model) -> Callable[[Outcome], None]:
    """The changelist counts the model's rows, as the admin's paginator says it."""

    def check(out: Outcome) -> None:
        count = model._default_manager.count()
        name = model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural
        out.sees(f"{count} {name}")

    return check


def admin_cases() -> list[Case]:
    cases = []
    for key, route in url_patterns().items():
        if not key.startswith("admin:"):
            continue
        url = _sample_path(route)
        expect: dict[str, int | str] = dict.fromkeys(ADMIN_REFUSED, TO_ADMIN_LOGIN)
        effect = None
        if key == "admin:logout":
            expect = dict.fromkeys(ADMIN_REFUSED, TO_ADMIN_INDEX)
        if key == "admin:login":  # the login page itself is open, and logs nobody in
            expect = dict.fromkeys(ADMIN_REFUSED, 200)
            effect = shows('id="login-form"')
        model = _changelist_model(key)
        if key in {"admin:index", "admin:app_list"} or model is not None:
            expect[SUPERUSER] = 200
            effect = (
                changelist_shown(model)
                if model is not None
                else shows('href="/admin/approvals/release/"')
            )
        cases.append(Case(key, "GET", expect, lambda world, url=url: url, effect))
    return cases


ALL_CASES = CASES + admin_cases()


@dataclass(frozen=True)
class Row:
    case: Case
    persona: str

    def __str__(self) -> str:
        variant = f"[{self.case.variant}]" if self.case.variant else ""
        return f"{self.case.key}{variant}-{self.case.method}-{self.persona}"


ROWS = [Row(case, persona) for case in ALL_CASES for persona in case.expect]


def _param(row: Row):
    return pytest.param(row, id=str(row))


# --- the tests -------------------------------------------------------------------------


def test_every_url_pattern_has_a_row_per_persona():
    """A pattern without rows (a new view, say) fails here until its rows are written."""
    patterns = url_patterns()
    covered: dict[str, set[str]] = {}
    for row in ROWS:
        covered.setdefault(row.case.key, set()).add(row.persona)
    assert sorted(set(patterns) - set(covered)) == [], "URL patterns without rows"
    assert sorted(set(covered) - set(patterns)) == [], "rows for URL patterns that do not exist"
    for key, route in patterns.items():
        if key.startswith("admin:"):
            wanted = set(ADMIN_REFUSED)
        else:
            wanted = set(PERSONAS) | ({PIPELINE} if route.lstrip("^").startswith("api/") else set())
        assert wanted <= covered[key], f"{key} has no row for {sorted(wanted - covered[key])}"


def test_every_allowed_row_checks_an_effect():
    """A row that only checks the status code cannot notice a view that does nothing."""
    for row in ROWS:
        expected = row.case.expect[row.persona]
        if isinstance(expected, int) and expected < 300 or expected == 302:
            assert row.case.effect is not None, f"{row} has no effect check"


def test_every_row_requests_the_pattern_it_names(world):
    """No row tests another view than the one it claims to cover."""
    patterns = url_patterns()
    for case in ALL_CASES:
        path = urlsplit(case.url(world)).path
        assert resolve(path).route == patterns[case.key], (case.key, path)


def _release_of(path: str) -> int | None:
    """The release a URL acts on, if any: its refusals are logged on that release."""
    kwargs = resolve(path).kwargs
    if "version" in kwargs:
        return Release.objects.get(product__slug=kwargs["product"], version=kwargs["version"]).pk
    if "meeting_id" in kwargs:
        return GateMeeting.objects.get(pk=kwargs["meeting_id"]).release_id
    return None


def _request(client, row: Row, world: World):
    case = row.case
    url = case.url(world)
    headers = {"Authorization": f"Bearer {world.token}"} if row.persona == PIPELINE else {}
    if case.method == "GET":
        return client.get(url, headers=headers)
    data = case.data(world) if case.data else {}
    if case.api:
        return client.post(
            url, data=json.dumps(data), content_type="application/json", headers=headers
        )
    return client.post(url, data, headers=headers)


@pytest.mark.parametrize("row", [_param(row) for row in ROWS])
def test_permission_matrix(client, world, row):
    user = world.users.get(row.persona)
    if user is not None:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[row.persona]
    if row.persona == PIPELINE:
        user = world.account.user  # the actor the change log names
    before = _fingerprint()
    last_seq = ChangeLogEntry.objects.order_by("-seq").values_list("seq", flat=True).first()

    response = _request(client, row, world)

    expected = row.case.expect[row.persona]
    entries = list(ChangeLogEntry.objects.filter(seq__gt=last_seq).order_by("seq"))
    if expected in REDIRECTS:
        target, location = REDIRECTS[expected], response.get("Location", "")
        assert response.status_code == 302, (str(row), response.status_code)
        assert location == target or target.endswith("=") and location.startswith(target)
    else:
        assert response.status_code == expected, (str(row), response.status_code)
    if expected in REFUSED or row.case.method == "GET":
        assert _fingerprint() == before, "a refused request or a GET changed something"
        refusals = [entry for entry in entries if entry.action in REFUSALS]
        assert refusals == entries, [entry.action for entry in entries]
        assert len(refusals) == (1 if expected == 403 else 0), "every refusal is logged, once"
        for refusal in refusals:
            assert refusal.actor_id == user.pk
            assert refusal.release_id == _release_of(response.request["PATH_INFO"])
    else:
        assert not [entry for entry in entries if entry.action in REFUSALS]
    if row.case.effect is not None and expected not in REFUSED:
        row.case.effect(
            Outcome(
                world=world,
                persona=row.persona,
                user=user,
                client=client,
                response=response,
                entries=entries,
            )
        )
