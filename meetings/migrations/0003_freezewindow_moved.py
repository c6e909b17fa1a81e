# The freeze window now belongs to approvals (approvals/migrations/0006). Its
# content type moves with it, so permissions granted on it keep working.

from django.db import migrations


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if ContentType.objects.filter(app_label="approvals", model="freezewindow").exists():
        return
    ContentType.objects.filter(app_label="meetings", model="freezewindow").update(
        app_label="approvals"
    )


def restore_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="approvals", model="freezewindow").update(
        app_label="meetings"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("meetings", "0002_reminder_claim_token_reminder_claimed_until"),
        ("approvals", "0006_freezewindow"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="FreezeWindow")],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, restore_content_type),
    ]
