"""The embedded default, the settings' loud failures and the compose file."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _run(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRET_KEY"))}
    base.pop("DATABASE_URL", None)
    base.update(env)
    return subprocess.run(  # noqa: S603
        [sys.executable, *args], cwd=cwd, env=base, capture_output=True, text=True, timeout=120
    )


def test_embedded_default_migrates_and_seeds_a_fresh_sqlite_file(tmp_path):
    env = {"DEBUG": "true", "RELAPP_VAR_DIR": str(tmp_path), "DEMO_PASSWORD": "demo-pass-1"}
    migrate = _run(["manage.py", "migrate", "--noinput"], env)
    assert migrate.returncode == 0, migrate.stderr
    assert (tmp_path / "relapp.sqlite3").exists()
    first = _run(["manage.py", "seed_demo"], env)
    assert first.returncode == 0, first.stderr
    assert "New users: po, rm, qa, sre, auditor, dev, admin" in first.stdout
    second = _run(["manage.py", "seed_demo"], env)
    assert second.returncode == 0, second.stderr
    assert "already present" in second.stdout
    check = _run(
        [
            "manage.py",
            "shell",
            "-c",
            "from django.contrib.auth.models import User;"
            "u=User.objects.get(username='rm');"
            "print(User.objects.count(), u.check_password('demo-pass-1'),"
            " list(u.groups.values_list('name', flat=True)))",
        ],
        env,
    )
    assert check.stdout.strip().splitlines()[-1] == "7 True ['Release managers']", check.stderr


def test_missing_secret_key_fails_loudly_when_debug_is_off(tmp_path):
    result = _run(["manage.py", "check"], {"DEBUG": "false", "RELAPP_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_a_bad_boolean_fails_loudly(tmp_path):
    result = _run(["manage.py", "check"], {"DEBUG": "maybe", "RELAPP_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_a_bad_database_url_fails_loudly(tmp_path):
    result = _run(
        ["manage.py", "check"],
        {"DEBUG": "true", "DATABASE_URL": "mysql://x@y/z", "RELAPP_VAR_DIR": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "DATABASE_URL must point at PostgreSQL or SQLite" in result.stderr


def test_a_bad_port_and_time_zone_fail_loudly(tmp_path):
    port = _run(["manage.py", "check"], {"DEBUG": "true", "EMAIL_PORT": "twenty-five"})
    assert port.returncode != 0
    assert "EMAIL_PORT='twenty-five' is not an integer" in port.stderr
    zone = _run(["manage.py", "check"], {"DEBUG": "true", "TIME_ZONE": "Mars/Olympus"})
    assert zone.returncode != 0
    assert "TIME_ZONE='Mars/Olympus' is not a known time zone" in zone.stderr


def test_production_settings_pass_check_deploy(tmp_path):
    env = {
        "DEBUG": "false",
        "SECRET_KEY": "k3V!q9-" + "rZ2x#Lm8@pW4" * 5,
        "ALLOWED_HOSTS": "relapp.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://relapp.example.com",
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
        "RELAPP_VAR_DIR": str(tmp_path),
    }
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_compose_file_names_the_production_services():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat", "syslog"}
    # The change-log stream's syslog receiver starts only with --profile streaming.
    assert services["syslog"]["profiles"] == ["streaming"]
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:")
    web = " ".join(services["web"]["command"])
    assert "gunicorn" in web and "relapp.wsgi:application" in web
    assert (ROOT / "relapp" / "wsgi.py").exists()
    worker = " ".join(services["worker"]["command"])
    beat = " ".join(services["beat"]["command"])
    assert "celery -A relapp worker" in worker
    assert "celery -A relapp beat" in beat
    assert (ROOT / "relapp" / "celery.py").exists()
    for name in ("web", "worker", "beat"):
        service = services[name]
        assert service["build"] == "."
        environment = service["environment"]
        # The runtime role, never the owner (it could rewrite the change log).
        assert environment["DATABASE_URL"].startswith("postgres://relapp_app:")
        assert environment["DATABASE_RUNTIME_ROLE"] == "relapp_app"
        assert environment["CELERY_BROKER_URL"].startswith("redis://redis:")
    migrate = services["migrate"]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert migrate["environment"]["DATABASE_URL"].startswith("postgres://relapp:")
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install" in dockerfile and "collectstatic" in dockerfile


def _bare_env(tmp_path, **extra: str) -> dict[str, str]:
    """The environment of a fresh checkout: no SECRET_KEY, no DEBUG, no database URL."""
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DATABASE_URL", None)
    env.update({"RELAPP_VAR_DIR": str(tmp_path), **extra})
    return env


def _python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_manage_py_never_turns_debug_on_by_itself(tmp_path):
    check = _python(["manage.py", "check"], _bare_env(tmp_path))
    assert check.returncode != 0
    assert (
        "django.core.exceptions.ImproperlyConfigured: SECRET_KEY is required when DEBUG is off."
        in check.stderr
    )
    assert "DEBUG=true" in check.stderr


def test_manage_py_runs_with_debug_set_explicitly_as_make_lint_does(tmp_path):
    env = _bare_env(tmp_path, DEBUG="true")
    check = _python(["manage.py", "check"], env)
    assert check.returncode == 0, check.stderr
    assert "System check identified no issues" in check.stdout
    migrations = _python(["manage.py", "makemigrations", "--check", "--dry-run"], env)
    assert migrations.returncode == 0, migrations.stdout + migrations.stderr
    assert "No changes detected" in migrations.stdout


def test_the_web_process_refuses_to_start_without_secret_key(tmp_path):
    web = _python(["-c", "import relapp.wsgi"], _bare_env(tmp_path))
    assert web.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in web.stderr


def test_the_embedded_broker_keeps_its_state_under_the_var_dir(tmp_path):
    var, cwd = tmp_path / "var", tmp_path / "cwd"
    for folder in ("broker", "control", "processed"):  # as scripts/run.sh creates them
        (var / "celery" / folder).mkdir(parents=True)
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    env.update(
        {
            "DEBUG": "true",
            "RELAPP_VAR_DIR": str(var),
            "DJANGO_SETTINGS_MODULE": "relapp.settings",
            "PYTHONPATH": str(ROOT),
        }
    )
    # Sending a task binds the task queue; a remote-control ping binds the
    # pidbox reply queue: each writes an exchange table.
    code = (
        "import django; django.setup();"
        "from relapp.celery import app, ping_task;"
        "ping_task.delay('x'); app.control.ping(timeout=0.2)"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert list(cwd.iterdir()) == []
    tables = sorted(p.name for p in (var / "celery" / "control").iterdir())
    assert "celery.exchange" in tables and "reply.celery.pidbox.exchange" in tables
    assert len(list((var / "celery" / "broker").iterdir())) == 1
