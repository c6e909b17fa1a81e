"""The metrics' data version: one row, and the triggers that change its token.

PostgreSQL only (the SQLite of `make run` has no triggers here, and the
metrics selector computes live when it cannot trust the token).
The triggers are DEFERRABLE INITIALLY DEFERRED constraint triggers, so the bump
runs at commit, after every other lock the writer takes: no lock-order
deadlock with the change log's advisory lock or row locks, and the new token
becomes visible in the same instant as the data. A transaction-local setting
makes it one UPDATE per transaction, however many rows the transaction wrote.
"""

import uuid

from django.db import migrations, models

# (table, events, WHEN condition or "") — everything the figures or the scope read.
WATCHED = (
    ("approvals_release", "INSERT OR UPDATE OR DELETE", ""),
    ("approvals_deployment", "INSERT OR UPDATE OR DELETE", ""),
    ("approvals_signoff", "INSERT OR UPDATE OR DELETE", ""),
    ("approvals_artifact", "INSERT OR UPDATE OR DELETE", ""),
    ("raci_activity", "INSERT OR UPDATE OR DELETE", ""),
    # The figures read only submission and halt entries; the log is append-only.
    (
        "audit_changelogentry",
        "INSERT",
        "NEW.action IN ('release.submitted', 'release.halted')",
    ),
    # The scope: who may view which release, and the signer names shown.
    ("auth_user", "INSERT OR DELETE OR UPDATE OF username, is_active, is_superuser", ""),
    ("auth_user_groups", "INSERT OR UPDATE OR DELETE", ""),
    ("auth_user_user_permissions", "INSERT OR UPDATE OR DELETE", ""),
    ("auth_group_permissions", "INSERT OR UPDATE OR DELETE", ""),
    ("approvals_releaseuserobjectpermission", "INSERT OR UPDATE OR DELETE", ""),
    ("approvals_releasegroupobjectpermission", "INSERT OR UPDATE OR DELETE", ""),
)

FUNCTION = """
CREATE OR REPLACE FUNCTION metrics_data_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('relapp.metrics_bumped', true) IS DISTINCT FROM txid_current()::text THEN
        PERFORM set_config('relapp.metrics_bumped', txid_current()::text, true);
        UPDATE metrics_dataversion SET token = gen_random_uuid() WHERE id = 1;
    END IF;
    RETURN NULL;
END
$$;
"""


def _trigger(table: str, events: str, when: str) -> str:
    condition = f"WHEN ({when})" if when else ""
    return (
        f"CREATE CONSTRAINT TRIGGER metrics_data_changed AFTER {events} ON {table} "
        f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW {condition} "
        f"EXECUTE FUNCTION metrics_data_changed();"
    )


def install(apps, schema_editor):
    apps.get_model("metrics", "DataVersion").objects.get_or_create(pk=1)
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    for table, events, when in WATCHED:
        schema_editor.execute(_trigger(table, events, when))


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, _, _ in WATCHED:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS metrics_data_changed ON {table};")
    schema_editor.execute("DROP FUNCTION IF EXISTS metrics_data_changed();")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("approvals", "0019_perf_indexes"),
        ("raci", "0003_policies_delegation"),
        ("audit", "0016_tz_action"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.CreateModel(
            name="DataVersion",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                ("token", models.UUIDField(default=uuid.uuid4)),
            ],
        ),
        migrations.RunPython(install, uninstall),
    ]
