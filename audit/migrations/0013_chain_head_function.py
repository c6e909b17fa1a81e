"""The chain head in one round trip: take the writer's lock, then read the head.

`audit_changelog_head(lock_key, client_ip)` takes the transaction-scoped
advisory lock, then reads the time, the client address as inet spells it and
the head's seq and hash. It is VOLATILE: in READ COMMITTED each statement in
it takes a fresh snapshot, so the head is read only after the lock is held
and sees the previous holder's committed entry (one SELECT doing both would
read the head with the snapshot taken before it waited for the lock). It
saves one round trip inside the serialised section of every audited write
(docs/changelog-scaling.md). SQLite gets nothing: audit.changelog reads the
head there itself.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION audit_changelog_head(lock_key bigint, client_ip text)
RETURNS TABLE (now timestamptz, stored_ip text, head_seq bigint, head_hash text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    RETURN QUERY
        SELECT clock_timestamp(), host(client_ip::inet), head.seq, head.hash::text
        FROM (SELECT 1) AS one
        LEFT JOIN (
            SELECT entry.seq, entry.hash FROM audit_changelogentry AS entry
            ORDER BY entry.seq DESC LIMIT 1
        ) AS head ON true;
END;
$$;
"""
DROP = "DROP FUNCTION IF EXISTS audit_changelog_head(bigint, text);"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0012_windows_actions")]

    operations = [migrations.RunPython(forwards, backwards)]
