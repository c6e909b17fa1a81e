"""Issue 14, "warnings where the mistake is made": a webhook target is checked when it is
saved. A URL the send-time guard (`relapp.webhook_targets`) would refuse, or no event,
is a field error; plain http or a URL already registered warns and asks for a tick.
"""

import pytest
from django.test import Client

from api import services as api_services
from api.models import WebhookEndpoint
from audit.models import Action
from tests.factories import ProductFactory
from tests.helpers import entries

pytestmark = pytest.mark.django_db

NEW = "/webhooks/new/"


def body(team, url="https://hooks.example.com/relapp", events=("release.approved",), **extra):
    return {"product": team["product"].pk, "url": url, "events": list(events), **extra}


def existing(team, url="https://hooks.example.com/a", product=None):
    endpoint, _ = api_services.webhook_endpoint_create(
        product=product or team["product"], url=url, events=["release.halted"], actor=team["rm"]
    )
    return endpoint


def edit(endpoint, url, **extra) -> dict:
    return {"url": url, "events": ["release.halted"], "is_active": "on", **extra}


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://10.1.2.3/hook", "10.1.2.3 is a private address"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[::1]:8080/hook", "::1 is a loopback address"),
        ("https://100.100.100.200/", "cloud metadata address"),
    ],
)
@pytest.mark.parametrize("confirm", ["on", ""])
def test_a_target_the_send_time_guard_refuses_is_a_field_error_not_a_warning(
    client, team, url, words, confirm
):
    client.force_login(team["rm"])
    response = client.post(NEW, body(team, url=url, confirm_warnings=confirm))
    assert "warnings" not in response.context or not response.context["warnings"]
    assert response.status_code == 400
    assert words in " ".join(response.context["form"].errors["url"])
    assert not WebhookEndpoint.objects.exists() and not entries(Action.WEBHOOK_CHANGED)


def test_no_event_is_a_field_error(client, team):
    client.force_login(team["rm"])
    response = client.post(NEW, body(team, events=(), description="Chat"))
    assert response.status_code == 400
    assert response.context["form"].errors["events"] == ["Choose at least one event."]
    assert 'value="Chat"' in response.content.decode()  # what was typed is kept
    assert not WebhookEndpoint.objects.exists()


def test_plain_http_warns_then_saves_with_the_acknowledgement(client, team):
    client.force_login(team["rm"])
    first = client.post(NEW, body(team, url="http://hooks.example.com/relapp"))
    page = first.content.decode()
    assert first.status_code == 200 and 'data-testid="webhook-warnings"' in page
    assert "plain http" in page and 'value="http://hooks.example.com/relapp"' in page
    assert not WebhookEndpoint.objects.exists()
    confirmed = client.post(
        NEW, body(team, url="http://hooks.example.com/relapp", confirm_warnings="on")
    )
    assert confirmed.status_code == 200 and "whsec_" in confirmed.content.decode()
    [entry] = entries(Action.WEBHOOK_CHANGED)
    assert "plain http" in entry.after["warnings_acknowledged"][0]


def test_a_url_already_registered_warns_naming_it(client, team):
    other = existing(team, product=ProductFactory(name="Ledger", slug="ledger"))
    client.force_login(team["rm"])
    response = client.post(NEW, body(team, url=other.url))
    [warning] = response.context["warnings"]
    assert f"already registered for Ledger (webhook #{other.pk})" in warning
    assert WebhookEndpoint.objects.count() == 1


def test_https_to_a_new_url_needs_no_tick(client, team):
    client.force_login(team["rm"])
    assert client.post(NEW, body(team)).status_code == 200
    [entry] = entries(Action.WEBHOOK_CHANGED)
    assert "warnings_acknowledged" not in entry.after


def test_editing_warns_when_the_url_changes_and_shows_errors_on_the_page(client, team):
    endpoint = existing(team)
    taken = existing(team, url="https://hooks.example.com/taken")
    client.force_login(team["rm"])
    url = f"/webhooks/{endpoint.pk}/edit/"
    unchanged = client.post(url, edit(endpoint, endpoint.url, description="Same place"))
    assert unchanged.status_code == 302  # its own URL is no duplicate
    duplicate = client.post(url, edit(endpoint, taken.url))
    assert duplicate.status_code == 200
    assert f"webhook #{taken.pk}" in duplicate.content.decode()
    refused = client.post(url, edit(endpoint, "http://10.0.0.7/"))
    assert refused.status_code == 400
    assert "private address" in refused.content.decode()
    assert 'value="http://10.0.0.7/"' in refused.content.decode()
    no_events = client.post(url, {"url": endpoint.url, "events": [], "is_active": "on"})
    assert (
        no_events.status_code == 400 and "Choose at least one event." in no_events.content.decode()
    )
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/a"
    moved = client.post(url, edit(endpoint, "http://hooks.example.com/b", confirm_warnings="on"))
    assert moved.status_code == 302
    last = entries(Action.WEBHOOK_CHANGED)[-1]
    assert last.after["url"] == "http://hooks.example.com/b"
    assert "plain http" in last.after["warnings_acknowledged"][0]


# --- going around it ------------------------------------------------------------------------


def test_a_confirm_posted_blind_still_logs_what_it_acknowledged(client, team):
    client.force_login(team["rm"])
    response = client.post(
        NEW, body(team, url="http://hooks.example.com/blind", confirm_warnings="on")
    )
    assert response.status_code == 200
    [entry] = entries(Action.WEBHOOK_CHANGED)
    assert entry.after["warnings_acknowledged"]


@pytest.mark.parametrize("who", ["dev", "po", "auditor"])
def test_the_tick_opens_no_door_to_people_who_may_not_manage_webhooks(client, team, who):
    endpoint = existing(team)
    client.force_login(team[who])
    assert client.post(NEW, body(team, confirm_warnings="on")).status_code == 403
    edited = client.post(
        f"/webhooks/{endpoint.pk}/edit/",
        edit(endpoint, "https://evil.example/", confirm_warnings="on"),
    )
    assert edited.status_code == 403
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/a" and WebhookEndpoint.objects.count() == 1
    assert len(entries(Action.ACCESS_REFUSED)) == 2


def test_the_webhook_forms_need_csrf(team):
    endpoint = existing(team)
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(team["rm"])
    assert csrf_client.post(NEW, body(team, confirm_warnings="on")).status_code == 403
    assert (
        csrf_client.post(
            f"/webhooks/{endpoint.pk}/edit/", edit(endpoint, "https://hooks.example.com/z")
        ).status_code
        == 403
    )
    assert WebhookEndpoint.objects.count() == 1
