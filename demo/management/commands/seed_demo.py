from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from demo.data import seed_payments
from demo.history import seed_history
from demo.rad_template import seed_rad_template
from demo.teams import seed_fast_path, seed_teams_and_delegation

# username -> (first name, last name, groups)
DEMO_USERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "po": ("Paula", "Okafor", ()),
    "rm": ("Rafael", "Martins", ("Release managers",)),
    "qa": ("Quinn", "Abbott", ()),
    "sre": ("Sasha", "Reyes", ()),
    "auditor": ("Alex", "Dunmore", ("Auditors",)),
    "dev": ("Dana", "Evans", ()),
}
DEMO_GROUPS = ("Release managers", "Auditors")


class Command(BaseCommand):
    help = "Load the demo users and data. Safe to run again: nothing is duplicated."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        user_model = get_user_model()
        groups = {name: Group.objects.get_or_create(name=name)[0] for name in DEMO_GROUPS}
        created_users = []
        for username, (first, last, group_names) in DEMO_USERS.items():
            user, created = user_model.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@relapp.example",
                },
            )
            if created:
                user.set_password(settings.DEMO_PASSWORD)
                user.save(update_fields=["password"])
                created_users.append(username)
            for name in group_names:
                user.groups.add(groups[name])
        admin, created = user_model.objects.get_or_create(
            username="admin",
            defaults={
                "first_name": "Site",
                "last_name": "Administrator",
                "email": "admin@relapp.example",
                "is_staff": True,
                "is_superuser": True,
            },
        )
        if created:
            admin.set_password(settings.DEMO_PASSWORD)
            admin.save(update_fields=["password"])
            created_users.append("admin")
        summary = ", ".join(created_users) if created_users else "none (already present)"
        users = {u.username: u for u in user_model.objects.filter(username__in=DEMO_USERS)}
        created_data = seed_payments(users=users)
        created_data += seed_history(users=users)
        created_data += seed_teams_and_delegation(users=users)
        created_data += seed_fast_path(users=users)
        created_data += seed_rad_template(users=users)
        data = ", ".join(created_data) if created_data else "none (already present)"
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready. New users: {summary}. New data: {data}.")
        )
