"""Concurrent writers never fork the chain or leave a gap."""

import itertools
import threading

import pytest
from django.db import connection

from audit.changelog import changelog_record
from audit.models import Action, ChangeLogEntry
from audit.verify import changelog_verify

WRITERS = 8
ENTRIES_EACH = 50


@pytest.mark.django_db(transaction=True)
def test_eight_parallel_writers_make_one_gapless_valid_chain():
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        # Each thread has its own database connection (Django's are per thread).
        try:
            start.wait()
            for index in range(ENTRIES_EACH):
                changelog_record(action=Action.COMMENT_ADDED, reason=f"writer {writer} #{index}")
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    seqs = list(ChangeLogEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, WRITERS * ENTRIES_EACH + 1))
    result = changelog_verify()
    assert result.ok, result.summary()
    assert result.count == WRITERS * ENTRIES_EACH
    # Each writer's own entries keep their order in the chain.
    for writer in range(WRITERS):
        reasons = list(
            ChangeLogEntry.objects.filter(reason__startswith=f"writer {writer} #")
            .order_by("seq")
            .values_list("reason", flat=True)
        )
        assert reasons == [f"writer {writer} #{index}" for index in range(ENTRIES_EACH)]
    # The writers really overlapped: no one wrote all of its entries in one run.
    writers_in_order = [
        int(reason.split()[1])
        for reason in ChangeLogEntry.objects.order_by("seq").values_list("reason", flat=True)
    ]
    switches = sum(1 for a, b in itertools.pairwise(writers_in_order) if a != b)
    assert switches >= WRITERS
