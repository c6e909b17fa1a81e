"""The calendar feed's tables join the data version's watch list.

The feed body is cached under the same token as the figures (meetings.selectors
.feed_cached), so every table the feed reads must replace it at commit. Those
the figures already watch (releases, RACI activities, users, their groups and
global and object permissions) are covered by 0001; these are the rest, each
read by meetings.selectors.feed_for_token / feed_items and
meetings.calendar_items: the feed token, the user's RACI letters, products
(names, slugs, deploy targets), freezes, gate meetings and their invited
attendees, drill schedules and held drills, and post-release reviews (a review
removes the "review due" item). Same function and trigger form as 0001.
"""

import importlib

from django.db import migrations

_first = importlib.import_module("metrics.migrations.0001_data_version")

WATCHED = tuple(
    (table, "INSERT OR UPDATE OR DELETE", "")
    for table in (
        "meetings_calendarfeed",
        "raci_assignment",
        "approvals_product",
        "meetings_freezewindow",
        "meetings_gatemeeting",
        "meetings_gatemeeting_extra_attendees",
        "approvals_firedrillschedule",
        "approvals_firedrill",
        "approvals_postreleasereview",
    )
)


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
    dependencies = [
        ("metrics", "0001_data_version"),
        ("meetings", "0008_calendar_merge"),
        ("approvals", "0021_signoff_voided"),
        ("raci", "0003_policies_delegation"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
