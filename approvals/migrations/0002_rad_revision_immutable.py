from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION approvals_radrevision_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'RAD revisions are immutable (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""
TRIGGER = """
CREATE TRIGGER approvals_radrevision_no_update
    BEFORE UPDATE OR DELETE ON approvals_radrevision
    FOR EACH ROW EXECUTE FUNCTION approvals_radrevision_immutable();
"""
DROP = """
DROP TRIGGER IF EXISTS approvals_radrevision_no_update ON approvals_radrevision;
DROP FUNCTION IF EXISTS approvals_radrevision_immutable();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)
        schema_editor.execute(TRIGGER, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
