"""No log flooding: anonymous refusals are aggregated, API auth failures throttled (429)."""

import secrets
import time
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from audit.models import Action, ChangeLogEntry
from relapp.http import refusal_record
from relapp.middleware import current_client_ip
from relapp.models import RefusalTally
from relapp.refusals import refusals_summarise
from tests.helpers import entries, new_token

pytestmark = pytest.mark.django_db

BASE = "/api/v1/releases/"
ATTACKER = "203.0.113.7"


def made_up_token() -> str:
    return f"relapp_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"


def fresh_minute(needed_seconds: float = 15) -> None:
    """Wait for the next minute if this one ends before the test can finish in it."""
    left = 60 - (timezone.now().second + timezone.now().microsecond / 1e6)
    if left < needed_seconds:
        time.sleep(left + 0.05)


def api_get(client, token: str, address: str = ATTACKER):
    return client.get(BASE, headers={"Authorization": f"Bearer {token}"}, REMOTE_ADDR=address)


def anonymous_refusal(address: str | None, *, reason: str = "Not permitted: look") -> None:
    request = RequestFactory().get("/somewhere/")
    token = current_client_ip.set(address)
    try:
        refusal_record(request, reason=reason)
    finally:
        current_client_ip.reset(token)


def after_this_minute():
    return timezone.now() + timedelta(minutes=1)


def test_100_made_up_tokens_from_one_address_write_at_most_2_entries_and_get_429s(client):
    fresh_minute()
    responses = [api_get(client, made_up_token()) for _ in range(100)]
    statuses = [response.status_code for response in responses]
    assert statuses == [401] * 10 + [429] * 90
    throttled = responses[-1]
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert throttled.json()["error"] == "throttled"
    assert len(entries(Action.ACCESS_REFUSED)) == 1  # the first, at once

    assert refusals_summarise(now=after_this_minute()) == 1
    first, summary = entries(Action.ACCESS_REFUSED)
    assert ChangeLogEntry.objects.count() == 2
    assert first.reason == "Refused API token: unknown or malformed"
    assert summary.after["count"] == 100
    assert summary.after["summarised"] == 99
    assert summary.client_ip == ATTACKER
    assert "99 more refusals" in summary.reason
    assert not RefusalTally.objects.exists()


def test_the_throttle_follows_the_setting(client, settings):
    settings.API_AUTH_FAILURE_RATE = "3/min"
    statuses = [api_get(client, made_up_token()).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]


def test_a_valid_token_still_works_from_a_throttled_address(client, team):
    token = new_token(team)
    for _ in range(12):
        api_get(client, made_up_token())
    assert api_get(client, made_up_token()).status_code == 429
    assert api_get(client, token).status_code == 200


def test_each_address_is_throttled_and_logged_on_its_own(client):
    fresh_minute()
    for _ in range(11):
        api_get(client, made_up_token())
    assert api_get(client, made_up_token()).status_code == 429
    assert api_get(client, made_up_token(), address="198.51.100.2").status_code == 401
    assert sorted(e.client_ip for e in entries(Action.ACCESS_REFUSED)) == [
        "198.51.100.2",
        ATTACKER,
    ]


def test_anonymous_refusals_are_one_entry_per_address_and_minute_plus_a_count():
    fresh_minute()
    for _ in range(3):
        anonymous_refusal(ATTACKER)
    anonymous_refusal("198.51.100.2")
    assert len(entries(Action.ACCESS_REFUSED)) == 2
    RefusalTally.objects.update(minute=timezone.now().replace(second=0, microsecond=0))
    assert refusals_summarise(now=timezone.now()) == 0  # the minute is not over yet
    assert refusals_summarise(now=after_this_minute()) == 1  # only ATTACKER had more than one
    summary = entries(Action.ACCESS_REFUSED)[-1]
    assert (summary.client_ip, summary.after["count"], summary.actor) == (ATTACKER, 3, None)
    assert refusals_summarise(now=after_this_minute()) == 0  # written once
    anonymous_refusal(ATTACKER)  # a new minute: logged at once again
    assert len(entries(Action.ACCESS_REFUSED)) == 4


def test_a_new_minute_starts_a_new_count():
    minute = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=5)
    RefusalTally.objects.create(client_ip=ATTACKER, minute=minute, count=7)
    anonymous_refusal(ATTACKER)
    assert len(entries(Action.ACCESS_REFUSED)) == 1
    refusals_summarise()
    assert [e.after.get("count") for e in entries(Action.ACCESS_REFUSED)] == [None, 7]


def test_refusals_of_a_signed_in_user_are_each_logged(outsider):
    request = RequestFactory().get("/somewhere/")
    token = current_client_ip.set(ATTACKER)
    try:
        for _ in range(3):
            refusal_record(request, actor=outsider, reason="Not permitted: look")
    finally:
        current_client_ip.reset(token)
    assert len(entries(Action.ACCESS_REFUSED)) == 3
    assert not RefusalTally.objects.exists()


@pytest.mark.parametrize("address", [None, "not-an-address"])
def test_a_refusal_without_a_usable_address_is_logged_on_its_own(address):
    anonymous_refusal(address)
    anonymous_refusal(address)
    assert len(entries(Action.ACCESS_REFUSED)) == 2
