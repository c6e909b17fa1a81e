# The freeze window moves from meetings to approvals (the approval rules read
# it). Only Django's model state moves: the table keeps its name.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0005_approvalpolicy_reminder_offsets_seconds_and_more"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="FreezeWindow",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("start", models.DateTimeField()),
                        ("end", models.DateTimeField()),
                        ("reason", models.CharField(max_length=300)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("created_by", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("product", models.ForeignKey(blank=True, help_text="Empty: applies to every product.", null=True, on_delete=django.db.models.deletion.CASCADE, related_name="freezes", to="approvals.product")),
                    ],
                    options={
                        "db_table": "meetings_freezewindow",
                        "ordering": ["start", "id"],
                        "constraints": [models.CheckConstraint(condition=models.Q(("end__gt", models.F("start"))), name="freeze_ordered")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
