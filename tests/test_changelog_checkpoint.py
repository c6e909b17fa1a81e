"""The chain head, including the checkpoint's own entry, is written outside the database."""

import io
import json

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import CommandError, call_command

from audit.models import Action, ChangeLogEntry
from audit.services import changelog_checkpoint_write
from audit.tasks import changelog_checkpoint_due_task, changelog_checkpoint_task
from tests.helpers import attacker, verify_changelog

pytestmark = pytest.mark.django_db


@pytest.fixture
def checkpoint_file(settings, tmp_path):
    path = tmp_path / "kept-elsewhere" / "checkpoints.jsonl"
    settings.CHANGELOG_CHECKPOINT_PATH = str(path)
    settings.CHANGELOG_CHECKPOINT_EMAILS = []
    return path


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_checkpoint_covers_the_head_including_its_own_entry(checkpoint_file, filler_entries):
    filler_entries(3)
    checkpoint = changelog_checkpoint_write()
    logged = ChangeLogEntry.objects.get(seq=4)
    assert logged.action == Action.CHECKPOINT_WRITTEN
    assert logged.after["file"] == str(checkpoint_file)
    assert (checkpoint.seq, checkpoint.hash) == (4, logged.hash)
    [line] = lines(checkpoint_file)
    assert (line["seq"], line["hash"], line["time"]) == (4, logged.hash, checkpoint.time)
    assert ChangeLogEntry.objects.order_by("-seq").first().seq == 4  # nothing left uncovered

    changelog_checkpoint_write()
    assert [line["seq"] for line in lines(checkpoint_file)] == [4, 5]


def test_a_checkpoint_of_an_empty_log_covers_its_own_entry(checkpoint_file):
    checkpoint = changelog_checkpoint_write()
    assert (checkpoint.seq, checkpoint.hash) == (1, ChangeLogEntry.objects.get(seq=1).hash)


def test_a_checkpoint_is_mailed_to_the_auditors(settings, checkpoint_file, filler_entries):
    settings.CHANGELOG_CHECKPOINT_EMAILS = ["audit@example.test", "ciso@example.test"]
    filler_entries(2)
    changelog_checkpoint_write()
    [message] = mail.outbox
    assert message.to == ["audit@example.test", "ciso@example.test"]
    assert "seq 3" in message.subject
    logged = ChangeLogEntry.objects.get(seq=3)
    assert logged.hash in message.body
    assert logged.after["emailed"] == message.to


def test_no_mail_without_recipients(checkpoint_file, filler_entries):
    filler_entries(1)
    changelog_checkpoint_write()
    assert mail.outbox == []


def test_the_command_writes_one_on_demand(checkpoint_file, filler_entries):
    filler_entries(2)
    out = io.StringIO()
    call_command("changelog_checkpoint", stdout=out)
    assert f"Checkpoint seq 3 hash {ChangeLogEntry.objects.get(seq=3).hash}" in out.getvalue()
    assert lines(checkpoint_file)[0]["seq"] == 3


def test_checkpoints_catch_a_cut_off_tail_that_the_chain_cannot(checkpoint_file, filler_entries):
    filler_entries(5)
    changelog_checkpoint_write()  # entry 6 records the checkpoint, which covers it
    assert "OK: 1 checkpoint(s) match the chain" in verify_changelog("--checkpoints")
    attacker("DELETE FROM audit_changelogentry WHERE seq >= 5")
    assert "OK: 4 entries" in verify_changelog()  # the chain alone cannot tell
    with pytest.raises(
        CommandError, match="BROKEN at seq 6: checkpoint line 1: entry 6 is missing"
    ):
        verify_changelog("--checkpoints")


def test_checkpoints_catch_a_chain_rewritten_and_re_hashed(checkpoint_file, filler_entries):
    filler_entries(5)
    changelog_checkpoint_write()
    # Replace the whole log with a different chain that verifies on its own.
    attacker("DELETE FROM audit_changelogentry")
    filler_entries(6, reason="rewritten history")
    assert "OK: 6 entries" in verify_changelog()
    with pytest.raises(CommandError, match="BROKEN at seq 6: checkpoint line 1: entry 6 has hash"):
        verify_changelog("--checkpoints", str(checkpoint_file))


def test_beat_polls_for_a_due_checkpoint():
    entry = settings.CELERY_BEAT_SCHEDULE["changelog-checkpoint"]
    assert entry["task"] == changelog_checkpoint_due_task.name
    assert entry["schedule"] == settings.CHANGELOG_CHECKPOINT_POLL_SECONDS == 30
    assert settings.CHANGELOG_CHECKPOINT_EVERY_ENTRIES == 100
    assert settings.CHANGELOG_CHECKPOINT_EVERY_MINUTES == 5


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_writes_the_checkpoint(start_worker, filler_entries, tmp_path):
    path = tmp_path / "worker-checkpoints.jsonl"
    filler_entries(2)
    start_worker(env={"CHANGELOG_CHECKPOINT_PATH": str(path)})
    assert changelog_checkpoint_task.delay().get(timeout=30) == 3
    logged = ChangeLogEntry.objects.get(seq=3)
    assert logged.action == Action.CHECKPOINT_WRITTEN
    [line] = lines(path)
    assert (line["seq"], line["hash"]) == (3, logged.hash)
