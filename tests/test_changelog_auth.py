"""Sign-ins, failed sign-ins and sign-outs are in the change log."""

import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.forms.models import model_to_dict

from audit.models import Action, ChangeLogEntry
from audit.verify import changelog_verify
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def last_entry() -> ChangeLogEntry:
    return ChangeLogEntry.objects.order_by("-seq").first()


def test_a_sign_in_is_logged_with_its_request(client, release_manager):
    response = client.post(
        "/login/", {"username": "rm", "password": PASSWORD}, REMOTE_ADDR="192.0.2.7"
    )
    assert response.status_code == 302
    entry = last_entry()
    assert entry.action == Action.LOGIN
    assert entry.actor == release_manager
    assert entry.actor_name == "Rm Tester (rm)"
    assert entry.request_id == response["X-Request-ID"]
    assert entry.client_ip == "192.0.2.7"
    assert changelog_verify().ok


def test_a_failed_sign_in_names_the_attempted_user_and_never_the_password(client, release_manager):
    secret = "hunter2-wrong-guess"
    client.post("/login/", {"username": "rm", "password": secret})
    entry = last_entry()
    assert entry.action == Action.LOGIN_FAILED
    assert entry.actor is None
    assert entry.actor_name == "rm"
    assert secret not in json.dumps(model_to_dict(entry), cls=DjangoJSONEncoder)
    assert ChangeLogEntry.objects.count() == 1


def test_a_failed_sign_in_for_an_unknown_user_is_logged(client, db):
    client.post("/login/", {"username": "mallory", "password": "guess"})
    entry = last_entry()
    assert (entry.action, entry.actor_id, entry.actor_name) == (
        Action.LOGIN_FAILED,
        None,
        "mallory",
    )


def test_a_sign_out_is_logged(client, release_manager):
    client.force_login(release_manager)
    client.post("/logout/")
    entry = last_entry()
    assert entry.action == Action.LOGOUT
    assert entry.actor == release_manager
    assert list(ChangeLogEntry.objects.order_by("seq").values_list("action", flat=True)) == [
        Action.LOGIN,
        Action.LOGOUT,
    ]


def test_signing_out_without_a_session_logs_nothing(client, db):
    client.post("/logout/")
    assert ChangeLogEntry.objects.count() == 0
