"""Schemathesis against /api/schema/: generated requests to every operation
answer without a server error and exactly as the schema says.

Requests go through Django's WSGI application in this process, inside the
test's transaction, with a valid token scoped to payments-api. The schema's
path examples (payments-api 2.4.0) name a real release, so the success
paths are exercised as well as the 4xx ones.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from approvals import services
from tests.factories import build_team, release_in_review
from tests.helpers import new_token

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def api_world(db):
    team = build_team()
    release = release_in_review(team)
    services.gate_check_report(release=release, actor=team["rm"], name="unit-tests", status="pass")
    return {"token": new_token(team, changelog=True)}


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """A raw WSGI call ends with request_finished, which would close the test's
    connection in the middle of its transaction; Django's test client
    disconnects the same receivers for the same reason."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Loaded when the module is collected: fetching the schema needs no database.
# (schemathesis' fixture-based lazy loader does not run on pytest 9.)
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_answers_as_its_schema_says(case, api_world):
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {api_world['token']}"}, checks=CHECKS
    )
    assert response.status_code < 500
