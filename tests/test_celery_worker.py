import pytest

from relapp.celery import ping_task

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_round_trips_a_task_through_redis(start_worker, settings):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    worker = start_worker()
    result = ping_task.delay("hello")
    assert result.get(timeout=20) == "pong:hello"
    log = worker.log.read_text()
    assert "relapp.ping" in log
    assert worker.popen.poll() is None
