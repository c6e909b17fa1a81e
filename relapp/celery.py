import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relapp.settings")

app = Celery("relapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="relapp.ping")
def ping_task(payload: str) -> str:
    """Echo task used by /healthz diagnostics and the worker round-trip test."""
    return f"pong:{payload}"
