from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0020_signoff_verbal_pending"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="signoff",
            index=models.Index(
                condition=models.Q(("voided_at__isnull", False)),
                fields=["signer"],
                name="signoff_voided",
            ),
        ),
    ]
