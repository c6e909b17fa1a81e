"""A change-log writer in a process of its own, started with `spawn`.

tests/test_changelog_writer.py runs eight of these at the same instant, as
gunicorn's workers write. `spawn` gives each a fresh interpreter: nothing the
test process opened (a database socket, a Redis pool, a browser's event
loop) is inherited, so the children share no connection and the test
measures only the chain's lock. This module imports no model at its top:
Django is set up inside the child, on the test database the parent names.
"""

import os
import traceback


def write_burst(writer: int, start, each: int, failures, reports: str, database: str) -> None:
    """Set Django up on `database`, wait for the others, then write `each` entries.

    Every third entry is rolled back after it was written. A failure is
    counted in `failures` and its traceback written to `reports`.
    """
    try:
        os.environ["DJANGO_SETTINGS_MODULE"] = "relapp.settings_test"
        import django

        django.setup()
        from django.db import connection

        connection.settings_dict["NAME"] = database
        start.wait()
        write_entries(writer, each)
        connection.close()
    except BaseException:  # noqa: BLE001 (counted by the parent, reported there)
        with failures.get_lock():
            failures.value += 1
        with open(f"{reports}/writer-{writer}.txt", "w") as report:
            report.write(traceback.format_exc())


def write_entries(writer: int, each: int) -> None:
    """Entries in their own transactions; every third one is rolled back after it was written."""
    from django.db import transaction

    from audit.changelog import changelog_record
    from audit.models import Action

    for index in range(each):
        try:
            with transaction.atomic():
                changelog_record(action=Action.COMMENT_ADDED, reason=f"w{writer} #{index}")
                if index % 3 == 2:
                    raise RuntimeError("roll back")
        except RuntimeError:
            pass
