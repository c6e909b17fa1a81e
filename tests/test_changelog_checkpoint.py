"""The chain head is written outside the database, nightly and on demand."""

import io
import json

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core import mail
from django.core.management import CommandError, call_command

from audit.chain import GENESIS_HASH
from audit.models import Action, ChangeLogEntry
from audit.services import changelog_checkpoint_write
from audit.tasks import changelog_checkpoint_task
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


def test_a_checkpoint_appends_the_head_and_logs_that_it_did(checkpoint_file, filler_entries):
    entries = filler_entries(3)
    checkpoint = changelog_checkpoint_write()
    assert (checkpoint.seq, checkpoint.hash) == (3, entries[-1].hash)
    [line] = lines(checkpoint_file)
    assert (line["seq"], line["hash"], line["time"]) == (3, entries[-1].hash, checkpoint.time)
    logged = ChangeLogEntry.objects.get(seq=4)
    assert logged.action == Action.CHECKPOINT_WRITTEN
    assert logged.after["seq"] == 3 and logged.after["hash"] == entries[-1].hash
    assert logged.after["file"] == str(checkpoint_file)

    changelog_checkpoint_write()
    assert [line["seq"] for line in lines(checkpoint_file)] == [3, 4]


def test_a_checkpoint_of_an_empty_log_is_the_genesis(checkpoint_file):
    checkpoint = changelog_checkpoint_write()
    assert (checkpoint.seq, checkpoint.hash) == (0, GENESIS_HASH)


def test_a_checkpoint_is_mailed_to_the_auditors(settings, checkpoint_file, filler_entries):
    settings.CHANGELOG_CHECKPOINT_EMAILS = ["audit@example.test", "ciso@example.test"]
    entries = filler_entries(2)
    changelog_checkpoint_write()
    [message] = mail.outbox
    assert message.to == ["audit@example.test", "ciso@example.test"]
    assert "seq 2" in message.subject
    assert entries[-1].hash in message.body
    assert ChangeLogEntry.objects.get(seq=3).after["emailed"] == message.to


def test_no_mail_without_recipients(checkpoint_file, filler_entries):
    filler_entries(1)
    changelog_checkpoint_write()
    assert mail.outbox == []


def test_the_command_writes_one_on_demand(checkpoint_file, filler_entries):
    entries = filler_entries(2)
    out = io.StringIO()
    call_command("changelog_checkpoint", stdout=out)
    assert f"Checkpoint seq 2 hash {entries[-1].hash}" in out.getvalue()
    assert lines(checkpoint_file)[0]["seq"] == 2


def test_checkpoints_catch_a_cut_off_tail_that_the_chain_cannot(checkpoint_file, filler_entries):
    filler_entries(5)
    changelog_checkpoint_write()  # head 5, then entry 6 records the checkpoint
    assert "OK: 1 checkpoint(s) match the chain" in verify_changelog("--checkpoints")
    attacker("DELETE FROM audit_changelogentry WHERE seq >= 5")
    assert "OK: 4 entries" in verify_changelog()  # the chain alone cannot tell
    with pytest.raises(
        CommandError, match="BROKEN at seq 5: checkpoint line 1: entry 5 is missing"
    ):
        verify_changelog("--checkpoints")


def test_checkpoints_catch_a_chain_rewritten_and_re_hashed(checkpoint_file, filler_entries):
    filler_entries(5)
    changelog_checkpoint_write()
    # Replace the whole log with a different chain that verifies on its own.
    attacker("DELETE FROM audit_changelogentry")
    filler_entries(6, reason="rewritten history")
    assert "OK: 6 entries" in verify_changelog()
    with pytest.raises(CommandError, match="BROKEN at seq 5: checkpoint line 1: entry 5 has hash"):
        verify_changelog("--checkpoints", str(checkpoint_file))


def test_the_checkpoint_runs_nightly_from_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["changelog-checkpoint"]
    assert entry["task"] == changelog_checkpoint_task.name
    assert entry["schedule"] == crontab(hour=2, minute=15)


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_writes_the_checkpoint(start_worker, filler_entries, tmp_path):
    path = tmp_path / "worker-checkpoints.jsonl"
    entries = filler_entries(2)
    start_worker(env={"CHANGELOG_CHECKPOINT_PATH": str(path)})
    assert changelog_checkpoint_task.delay().get(timeout=30) == 2
    assert lines(path) == [{"seq": 2, "hash": entries[-1].hash, "time": lines(path)[0]["time"]}]
    assert ChangeLogEntry.objects.get(seq=3).action == Action.CHECKPOINT_WRITTEN
