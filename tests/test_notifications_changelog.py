"""Notification preference changes and unsubscribes are in the change log: one entry per
saved change, with what each event was and became; nothing logged when nothing changed,
for a refused form, a forged token or a link merely opened."""

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import Action
from notifications.models import Channel, Event
from notifications.services import preferences_for, preferences_save, unsubscribe_token
from tests.helpers import entries, verify_changelog

pytestmark = pytest.mark.django_db

LOGGED = Action.NOTIFICATION_PREFERENCES_CHANGED


def test_saving_preferences_logs_what_changed_once(client, team):
    client.force_login(team["po"])
    data = dict(preferences_for(team["po"]))
    data[Event.SIGNED] = Channel.NONE
    data[Event.VERIFICATION_FAILED] = Channel.DIGEST
    response = client.post(reverse("notifications:preferences"), data)
    assert response.status_code == 302
    [entry] = entries(LOGGED)
    assert entry.actor_id == team["po"].pk
    assert entry.before == {"signed": "digest", "verification_failed": "email"}
    assert entry.after == {"signed": "none", "verification_failed": "digest"}
    assert entry.release_id is None and entry.object_id == str(team["po"].pk)
    # Saving the same choices again changes nothing and logs nothing.
    assert client.post(reverse("notifications:preferences"), data).status_code == 302
    assert len(entries(LOGGED)) == 1
    assert verify_changelog().startswith("OK")


def test_a_refused_preferences_form_logs_nothing(client, team):
    client.force_login(team["po"])
    data = dict(preferences_for(team["po"]))
    data[Event.SIGNED] = Channel.NONE
    data[Event.HALTED] = "carrier-pigeon"
    assert client.post(reverse("notifications:preferences"), data).status_code == 400
    with pytest.raises(Exception):  # noqa: B017 - the service refuses an unknown event too
        preferences_save(user=team["po"], choices={"not-an-event": Channel.NONE})
    assert entries(LOGGED) == []


def test_one_user_cannot_log_a_change_for_another(client, team):
    """The form has no user field: whatever is posted, only the signed-in user's choices
    change, and the entry names them."""
    client.force_login(team["qa"])
    data = dict(preferences_for(team["qa"]))
    data[Event.MENTIONED] = Channel.NONE
    data["user"] = team["po"].pk
    client.post(reverse("notifications:preferences"), data)
    [entry] = entries(LOGGED)
    assert entry.actor_id == team["qa"].pk and entry.object_id == str(team["qa"].pk)
    assert preferences_for(team["po"])[Event.MENTIONED] == Channel.EMAIL


def test_an_unsubscribe_is_logged_once_and_an_opened_link_is_not(team):
    client = Client(enforce_csrf_checks=True)
    token = unsubscribe_token(user=team["po"], event=Event.UNAUTHORIZED_CHANGE)
    url = reverse("notifications:unsubscribe", kwargs={"token": token})
    page = client.get(url)  # a mail scanner opening the link
    assert page.status_code == 200 and entries(LOGGED) == []
    csrf = client.cookies["csrftoken"].value
    assert client.post(url, {"csrfmiddlewaretoken": csrf}).status_code == 200
    [entry] = entries(LOGGED)
    assert entry.actor_id == team["po"].pk
    assert entry.before == {"unauthorized_change": "email"}
    assert entry.after == {"unauthorized_change": "none"}
    assert "Unsubscribed" in entry.reason
    # The same link posted again: already off, nothing new to log.
    assert client.post(url, {"csrfmiddlewaretoken": csrf}).status_code == 200
    assert len(entries(LOGGED)) == 1
    assert verify_changelog().startswith("OK")


def test_a_forged_unsubscribe_token_logs_nothing(client, team):
    token = unsubscribe_token(user=team["po"], event=Event.SIGNATURE_REQUESTED)
    for bad in (token[:-2] + "xx", "garbage"):
        response = client.post(reverse("notifications:unsubscribe", kwargs={"token": bad}))
        assert response.status_code == 400
    assert entries(LOGGED) == []
