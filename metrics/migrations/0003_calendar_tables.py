"""The calendar page's tables join the data version's watch list.

The calendar page's rendered grid is cached under the same token as the figures
(meetings.calendar_views.calendar_page), so every table it reads must replace it
at commit. 0001 and 0002 watch all of them but one: the groups guardian joins
when it checks who may view a release (meetings.selectors.calendar_for_user).
Deleting a group cascades to memberships and group permissions, which are
watched already; watching the group row too keeps "every table read is
watched" true without reasoning about cascades (tests/test_calendar_cache.py
checks it against the queries the grid runs). Same function and trigger form
as 0001.
"""

import importlib

from django.db import migrations

_first = importlib.import_module("metrics.migrations.0001_data_version")

WATCHED = (("auth_group", "INSERT OR UPDATE OR DELETE", ""),)


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, events, when in WATCHED:
        schema_editor.execute(_first._trigger(table, events, when))


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, _, _ in WATCHED:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS metrics_data_changed ON {table};")


class Migration(migrations.Migration):
    dependencies = [("metrics", "0002_feed_tables")]

    operations = [migrations.RunPython(install, uninstall)]
