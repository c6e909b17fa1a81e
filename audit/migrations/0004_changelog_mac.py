from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_deployment_artifact_actions")]

    operations = [
        migrations.AddField(
            model_name="changelogentry",
            name="mac",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="changelogentry",
            name="mac_key_id",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
    ]
