"""The runtime database role: everything it needs, and only INSERT and SELECT on the log.

Migrations run as the owner of the tables. The web, worker and beat
processes connect as CHANGELOG_RUNTIME_ROLE (env DATABASE_RUNTIME_ROLE),
which is not the owner: it cannot ALTER or DROP the change log's triggers,
and it holds no UPDATE, DELETE or TRUNCATE on the change log. After every
`migrate` the owner grants it the rest (`changelog_runtime_grant`, from a
post_migrate receiver), so new tables are covered. A system check
(`changelog_role_check`) warns when the role could rewrite the log.
"""

from django.conf import settings
from django.core.checks import Warning as CheckWarning
from django.db import connections

from audit.models import ChangeLogEntry

TABLE = ChangeLogEntry._meta.db_table
CHANGE_PRIVILEGES = ("UPDATE", "DELETE", "TRUNCATE")


def changelog_runtime_grant(*, using: str = "default", role: str | None = None) -> bool:
    """Grant `role` (default the setting) the runtime privileges; False when none is set."""
    role = role if role is not None else settings.CHANGELOG_RUNTIME_ROLE
    connection = connections[using]
    if not role or connection.vendor != "postgresql":
        return False
    name = connection.ops.quote_name(role)
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {name}")
        cursor.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {name}"
        )
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {name}")
        cursor.execute(f"REVOKE ALL ON {TABLE} FROM {name}")
        cursor.execute(f"GRANT SELECT, INSERT ON {TABLE} TO {name}")
    return True


def grant_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """post_migrate receiver (audit.apps): re-grant after every migrate."""
    changelog_runtime_grant(using=using)


def changelog_role_problems(*, using: str = "default", role: str | None = None) -> list[str]:
    """What the runtime role (default: the setting, else the connected role) may do to the log."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [TABLE])
        if cursor.fetchone()[0] is None:
            return []  # not migrated yet
        role = role or settings.CHANGELOG_RUNTIME_ROLE
        if not role:
            cursor.execute("SELECT current_user")
            role = cursor.fetchone()[0]
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        row = cursor.fetchone()
        if row is None:
            return [f"runtime role {role!r} does not exist"]
        problems = [f"runtime role {role!r} is a superuser"] if row[0] else []
        cursor.execute(
            "SELECT pg_has_role(%s, tableowner, 'USAGE') FROM pg_tables WHERE tablename = %s",
            [role, TABLE],
        )
        if cursor.fetchone()[0]:
            problems.append(f"runtime role {role!r} owns {TABLE} (it can drop its triggers)")
        for privilege in CHANGE_PRIVILEGES:
            cursor.execute("SELECT has_table_privilege(%s, %s, %s)", [role, TABLE, privilege])
            if cursor.fetchone()[0]:
                problems.append(f"runtime role {role!r} may {privilege} {TABLE}")
    return problems


def changelog_role_check(app_configs=None, databases=None, **kwargs) -> list[CheckWarning]:
    """System check (tag `database`): `manage.py check --database default`, and `migrate`."""
    messages: list[CheckWarning] = []
    for alias in databases or ():
        for problem in changelog_role_problems(using=alias):
            messages.append(
                CheckWarning(
                    f"The change log can be rewritten: {problem}.",
                    hint=(
                        "Connect the web, worker and beat processes as a role that is not the "
                        "owner, set DATABASE_RUNTIME_ROLE to it and run migrate as the owner "
                        "(README, Database roles)."
                    ),
                    id="audit.W001",
                )
            )
    if databases and not settings.CHANGELOG_MAC_KEYS and not settings.DEBUG:
        messages.append(
            CheckWarning(
                "Change-log entries carry no MAC: anyone with database access can re-hash it.",
                hint="Set CHANGELOG_MAC_KEYS or CHANGELOG_MAC_KEYS_FILE (README).",
                id="audit.W002",
            )
        )
    return messages
