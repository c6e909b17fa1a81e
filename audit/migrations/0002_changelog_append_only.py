"""Make the change-log table append-only in PostgreSQL.

Row-level triggers refuse every UPDATE and DELETE, and a statement-level
trigger refuses TRUNCATE (which fires no row triggers). SQLite, the embedded
development default, gets nothing: it has no TRUNCATE and the model already
refuses save-after-insert and delete.

The one escape: TRUNCATE is let through when the session setting
`relapp.allow_changelog_truncate` is `on`. pytest-django empties the database
between transactional tests with one TRUNCATE of every table, so the test
settings (`relapp.settings_test`) open their connections with
`-c relapp.allow_changelog_truncate=on`; Relapp itself never sets it, so
`manage.py flush` and a stray TRUNCATE fail in every real deployment, and the
tests that prove the refusal turn it off on their connection first. UPDATE
and DELETE have no escape at all.

These triggers stop the application and honest mistakes. A database
superuser can still disable them; that is what the hash chain, nightly
checkpoints kept outside the database and `verify_changelog` are for.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION audit_changelogentry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND coalesce(current_setting('relapp.allow_changelog_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'The change log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""
TRIGGERS = """
CREATE TRIGGER audit_changelogentry_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_changelogentry
    FOR EACH ROW EXECUTE FUNCTION audit_changelogentry_append_only();
CREATE TRIGGER audit_changelogentry_no_truncate
    BEFORE TRUNCATE ON audit_changelogentry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_changelogentry_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS audit_changelogentry_no_truncate ON audit_changelogentry;
DROP TRIGGER IF EXISTS audit_changelogentry_no_update_delete ON audit_changelogentry;
DROP FUNCTION IF EXISTS audit_changelogentry_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # params=None: the SQL contains a literal % for RAISE.
        schema_editor.execute(FUNCTION, params=None)
        schema_editor.execute(TRIGGERS, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
