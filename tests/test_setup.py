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
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
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
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["CELERY_BROKER_URL"].startswith("redis://redis:")
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install" in dockerfile and "collectstatic" in dockerfile


def test_a_bare_checkout_runs_management_commands_but_not_the_web_process(tmp_path):
    env = {"RELAPP_VAR_DIR": str(tmp_path)}
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    base.pop("DJANGO_SETTINGS_MODULE", None)
    base.pop("DATABASE_URL", None)
    base.update(env)
    check = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
    assert "No changes detected" in check.stdout
    web = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import relapp.wsgi"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert web.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in web.stderr
