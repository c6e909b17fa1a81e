"""The events issue 13's catalogue lacked: a hotfix review falling due, artifacts reported
or removed, an unauthorized deployment, a failed post-deploy verification. Each reaches its
audience on the channel each person chose, exactly once, and never someone who may not see
the release; webhooks name them too."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from api import services as api_services
from api.models import WebhookDelivery
from approvals import services
from approvals.selectors import policy_for
from audit.models import Action
from meetings import services as meeting_services
from meetings.models import Notification
from notifications.events import AUDIENCE, DEFAULT_CHANNEL
from notifications.models import (
    Channel,
    ChatDelivery,
    ChatDestination,
    DigestItem,
    Event,
    NotificationPreference,
)
from raci import permissions
from raci.models import Assignment, Letter
from tests.factories import release_in_review, user_create
from tests.helpers import entries, release_open_now, sign

pytestmark = pytest.mark.django_db

NEW_EVENTS = (
    Event.REVIEW_DUE,
    Event.ARTIFACT_REPORTED,
    Event.ARTIFACT_REMOVED,
    Event.UNAUTHORIZED_CHANGE,
    Event.VERIFICATION_FAILED,
)


class Heard:
    """Who received what, on which channel, during the `with` block (e-mails once committed)."""

    def __init__(self, capture):
        self.capture = capture

    def __enter__(self):
        self.notification = Notification.objects.order_by("-pk").values_list("pk", flat=True)
        self.notification = self.notification.first() or 0
        self.digest = DigestItem.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        self.mails_before = len(mail.outbox)
        self.callbacks = self.capture(execute=True)
        self.callbacks.__enter__()
        return self

    def __exit__(self, *exc):
        self.callbacks.__exit__(*exc)
        self.notes = list(
            Notification.objects.filter(pk__gt=self.notification).select_related("user")
        )
        self.digests = list(DigestItem.objects.filter(pk__gt=self.digest).select_related("user"))
        self.mails = mail.outbox[self.mails_before :]
        return False

    def told(self, words: str) -> list[str]:
        """Usernames with an in-app entry whose title has `words`, once per entry."""
        return sorted(n.user.username for n in self.notes if words in n.title)

    def mailed(self, words: str) -> list[str]:
        return sorted(address for m in self.mails if words in m.subject for address in m.to)

    def digested(self, event: str) -> list[str]:
        return sorted(d.user.username for d in self.digests if d.event == event)


@pytest.fixture
def heard(django_capture_on_commit_callbacks):
    return lambda: Heard(django_capture_on_commit_callbacks)


def prefer(user, event, channel):
    NotificationPreference.objects.update_or_create(
        user=user, event=event, defaults={"channel": channel}
    )


def webhook_events(team, *events) -> list[str]:
    """An endpoint subscribed to `events`; call the result to read what it was sent."""
    api_services.webhook_endpoint_create(
        product=team["product"],
        url="https://hooks.example.com/relapp",
        events=list(events),
        actor=team["rm"],
    )
    return lambda: list(WebhookDelivery.objects.order_by("pk").values_list("event", flat=True))


def test_every_new_event_has_a_default_channel_and_an_audience():
    for event in NEW_EVENTS:
        assert event in DEFAULT_CHANNEL and AUDIENCE[event]


# --- review due ---------------------------------------------------------------------------


def deployed_hotfix(team, release):
    hotfix = release_in_review(team, version="2.4.1", release_type="hotfix", fixes=release)
    sign(hotfix, team["rm"], "Go/no-go decision")
    services.deployment_record(release=hotfix, actor=team["sre"], status="succeeded")
    hotfix.refresh_from_db()
    assert hotfix.review_due_at is not None
    return hotfix


def test_a_due_review_is_a_catalogue_event_sent_once_to_the_release_manager(team, release, heard):
    hotfix = deployed_hotfix(team, release)
    hooks = webhook_events(team, "review.due")
    due = hotfix.review_due_at + timedelta(minutes=1)
    # Before it is due, dispatching sends other reminders (the checklist's), not this one.
    meeting_services.reminders_dispatch(now=hotfix.review_due_at - timedelta(minutes=1))
    assert not entries(Action.REVIEW_DUE)
    with heard() as got:
        meeting_services.reminders_dispatch(now=due)
    [logged] = entries(Action.REVIEW_DUE)
    assert logged.release_id == hotfix.pk and logged.actor_id is None
    assert got.told("Post-release review due") == ["rm"]
    assert got.mailed("Post-release review due") == ["rm@example.test"]
    [message] = [m for m in got.mails if "Post-release review due" in m.subject]
    assert f"/{hotfix.version}/review/" in message.body  # the first link: write the review
    assert "List-Unsubscribe" in message.extra_headers
    assert hooks() == ["review.due"]
    # Another dispatch, even at the same instant, announces nothing again.
    with heard() as again:
        meeting_services.reminders_dispatch(now=due)
        meeting_services.reminder_send(reminder_id=int(logged.object_id), now=due)
    assert len(entries(Action.REVIEW_DUE)) == 1
    assert again.told("Post-release review due") == [] and hooks() == ["review.due"]


def test_a_due_review_follows_the_release_managers_choice(team, release, heard):
    hotfix = deployed_hotfix(team, release)
    prefer(team["rm"], Event.REVIEW_DUE, Channel.DIGEST)
    with heard() as got:
        meeting_services.reminders_dispatch(now=hotfix.review_due_at + timedelta(minutes=1))
    assert got.digested(Event.REVIEW_DUE) == ["rm"]
    assert got.mailed("Post-release review due") == []
    assert got.told("Post-release review due") == ["rm"]


def test_a_due_review_never_reaches_someone_who_may_not_see_the_release(team, release, heard):
    hotfix = deployed_hotfix(team, release)
    # Behind the services' back, the release now names as its manager someone with no
    # right to see it: the event checks who may see the release at the moment it is sent.
    type(hotfix).objects.filter(pk=hotfix.pk).update(created_by=team["outsider"])
    with heard() as got:
        meeting_services.reminders_dispatch(now=hotfix.review_due_at + timedelta(minutes=1))
    assert len(entries(Action.REVIEW_DUE)) == 1
    assert got.told("Post-release review") == [] and got.mailed("Post-release review") == []
    assert got.digests == []


def test_a_review_already_written_is_not_announced(team, release, heard):
    hotfix = deployed_hotfix(team, release)
    type(hotfix).objects.filter(pk=hotfix.pk).update(status="closed")
    with heard() as got:
        counts = meeting_services.reminders_dispatch(
            now=hotfix.review_due_at + timedelta(minutes=1)
        )
    assert counts["dropped"] >= 1
    assert not entries(Action.REVIEW_DUE) and got.told("Post-release review") == []


# --- artifacts ------------------------------------------------------------------------------

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


def test_artifacts_reported_and_removed_reach_the_release_team_only(team, release, heard):
    hooks = webhook_events(team, "artifact.*")
    prefer(team["po"], Event.ARTIFACT_REPORTED, Channel.EMAIL)
    prefer(team["qa"], Event.ARTIFACT_REMOVED, Channel.NONE)
    with heard() as reported:
        services.artifacts_report(
            release=release,
            actor=None,
            actor_name="ci-payments",
            artifacts=[
                {"name": "api.tar", "kind": "image", "digest": DIGEST},
                {"name": "cli", "kind": "package", "digest": OTHER},
            ],
        )
    team_names = ["cc", "dev", "ii", "po", "qa", "rm", "sre"]
    assert reported.told("artifacts reported") == team_names
    assert reported.mailed("artifacts reported") == ["po@example.test"]
    [note] = [n for n in reported.notes if n.user == team["dev"] and "artifacts" in n.title]
    assert "api.tar" in note.body and "ci-payments" in note.body
    with heard() as removed:
        services.artifact_remove(release=release, actor=team["dev"], name="cli")
    assert removed.told("artifacts removed") == ["cc", "ii", "po", "rm", "sre"]  # not dev, qa
    [note] = [n for n in removed.notes if n.user == team["po"] and "artifacts" in n.title]
    assert "cli (removed)" in note.body
    for got in (reported, removed):
        assert "outsider" not in {n.user.username for n in got.notes}
        assert "auditor" not in {n.user.username for n in got.notes}
    assert hooks() == ["artifact.reported", "artifact.removed"]
    [delivery] = WebhookDelivery.objects.filter(event="artifact.removed")
    body = json.loads(delivery.body)
    assert body["artifacts"] == [{"name": "cli", "digest_before": OTHER, "digest_after": ""}]


def test_unchanged_artifacts_are_no_event(team, release, heard):
    artifact = {"name": "api.tar", "kind": "image", "digest": DIGEST}
    services.artifacts_report(release=release, actor=team["dev"], artifacts=[artifact])
    with heard() as got:
        services.artifacts_report(release=release, actor=team["dev"], artifacts=[artifact])
        services.artifact_remove(release=release, actor=team["dev"], name="not-there")
    assert got.told("artifacts") == []


def test_artifacts_of_another_product_reach_nobody_on_this_one(team, heard):
    other = release_in_review(team, version="9.9.9")
    stranger = user_create("stranger")
    with heard() as got:
        services.artifacts_report(
            release=other,
            actor=team["dev"],
            artifacts=[{"name": "x", "kind": "package", "digest": DIGEST}],
        )
    heard_by = {n.user.username for n in got.notes}
    assert "stranger" not in heard_by and "outsider" not in heard_by
    assert stranger.pk not in {n.user_id for n in got.notes}


# --- unauthorized change ----------------------------------------------------------------------


def closed_window(team, version="3.0.0"):
    release = release_open_now(team, version=version)
    closed = timezone.now() - timedelta(minutes=5)
    type(release).objects.filter(pk=release.pk).update(
        window_start=closed - timedelta(hours=2), window_end=closed
    )
    release.refresh_from_db()
    return release


def test_an_unauthorized_deployment_reaches_watchers_by_their_channel_once(team, heard):
    release = closed_window(team)
    hooks = webhook_events(team, "deployment.*")
    prefer(team["auditor"], Event.UNAUTHORIZED_CHANGE, Channel.DIGEST)
    with heard() as got:
        services.deployment_record(release=release, actor=team["sre"], status="succeeded")
    assert len(entries(Action.DEPLOYMENT_UNAUTHORIZED)) == 1
    # Release managers and auditors, each once: no second alert from the meetings app.
    assert got.told("Unauthorized deployment") == ["auditor", "rm"]
    assert got.mailed("Unauthorized deployment") == ["rm@example.test"]
    assert got.digested(Event.UNAUTHORIZED_CHANGE) == ["auditor"]
    [message] = [m for m in got.mails if "Unauthorized deployment" in m.subject]
    assert "/changelog/unauthorized/" in message.body and "window closed" in message.body
    assert "outsider" not in got.told("") and "dev" not in got.told("Unauthorized")
    assert hooks() == ["deployment.succeeded", "deployment.unauthorized"]


def test_an_unauthorized_deployment_can_be_turned_off_and_skips_who_may_not_see(team, heard):
    release = closed_window(team)
    prefer(team["rm"], Event.UNAUTHORIZED_CHANGE, Channel.NONE)
    # A switched-off auditor account hears nothing; a new auditor does.
    team["auditor"].is_active = False
    team["auditor"].save(update_fields=["is_active"])
    user_create("auditor2", groups=(permissions.AUDITORS,))
    with heard() as got:
        services.deployment_record(release=release, actor=team["sre"], status="succeeded")
    assert got.told("Unauthorized deployment") == ["auditor2"]
    assert got.mailed("Unauthorized deployment") == ["auditor2@example.test"]
    assert "outsider" not in {n.user.username for n in got.notes}


# --- deployment verification failed ----------------------------------------------------------


def deployed_now(team, version="3.1.0"):
    release = release_open_now(team, version=version)
    services.deployment_record(release=release, actor=team["dev"], status="succeeded")
    release.refresh_from_db()
    return release


def fail_smoke(release, actor, name="smoke"):
    return services.gate_check_report(
        release=release,
        actor=actor,
        name=name,
        status="fail",
        phase="after_deployment",
        details="checkout 502",
    )


def test_a_failed_verification_reaches_release_manager_and_operations_once(team, heard):
    release = deployed_now(team)
    hooks = webhook_events(team, "deployment.verification_failed")
    with heard() as got:
        fail_smoke(release, team["dev"])
    assert got.told("verification failed") == ["rm", "sre"]
    assert got.mailed("verification failed") == ["rm@example.test", "sre@example.test"]
    [message] = [m for m in got.mails if m.to == ["sre@example.test"]]
    assert "record the rollback" in message.body and "checkout 502" in message.body
    assert "#rhythm" in message.body
    everyone = {n.user.username for n in got.notes}
    assert everyone == {"rm", "sre"}  # not the outsider, not the rest of the team
    assert hooks() == ["deployment.verification_failed"]
    [delivery] = WebhookDelivery.objects.all()
    body = json.loads(delivery.body)
    assert body["deployment"]["status"] == "verification_failed"
    assert body["release"]["version"] == "3.1.0"
    # A second failing check is a report, not a second event.
    with heard() as again:
        fail_smoke(release, team["dev"], name="smoke-eu")
    assert again.told("verification failed") == [] and again.mails == []
    assert hooks() == ["deployment.verification_failed"]


def test_a_failed_verification_follows_each_persons_choice(team, heard):
    release = deployed_now(team)
    prefer(team["sre"], Event.VERIFICATION_FAILED, Channel.DIGEST)
    prefer(team["rm"], Event.VERIFICATION_FAILED, Channel.NONE)
    with heard() as got:
        fail_smoke(release, team["dev"])
    assert got.told("verification failed") == ["sre"]
    assert got.digested(Event.VERIFICATION_FAILED) == ["sre"]
    assert got.mails == []


def test_a_failed_verification_skips_an_operations_accountable_who_may_not_see(team, heard):
    release = deployed_now(team)
    # A raw row makes the outsider the Operations Accountable without the permission sync
    # that goes with a RACI change: they still may not see the release, so hear nothing.
    operations = policy_for(release.product).operations_activity
    moved = Assignment.objects.filter(
        activity__release=release, activity__name=operations, letter=Letter.ACCOUNTABLE
    ).update(user=team["outsider"])
    assert moved == 1
    with heard() as got:
        fail_smoke(release, team["dev"])
    assert got.told("verification failed") == ["rm"]
    assert got.mailed("verification failed") == ["rm@example.test"]


# --- chat channels ------------------------------------------------------------------------------


def test_a_product_channel_hears_of_a_failed_verification_with_the_rollback_button(team, heard):
    release = deployed_now(team)
    ChatDestination.objects.create(
        product=team["product"],
        kind="slack",
        name="payments-ops",
        url="https://hooks.example.com/slack",
        events=[Event.VERIFICATION_FAILED, Event.UNAUTHORIZED_CHANGE],
        created_by=team["rm"],
    )
    prefer(team["sre"], Event.VERIFICATION_FAILED, Channel.CHAT)
    with heard():
        fail_smoke(release, team["dev"])
    [delivery] = ChatDelivery.objects.all()
    assert delivery.event == Event.VERIFICATION_FAILED
    body = json.loads(delivery.body)
    buttons = [
        b for block in body["blocks"] if block["type"] == "actions" for b in block["elements"]
    ]
    assert buttons[0]["text"]["text"] == "Record the rollback"
    assert buttons[0]["url"].endswith(release.get_absolute_url() + "#rhythm")
    text = json.dumps(body, ensure_ascii=False)
    assert "checkout 502" in text
    assert "For: Sre" in text  # the person who chose the chat channel, named under it
