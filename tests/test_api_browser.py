"""Browser journey: a release manager creates a service account and a webhook,
copies the token shown once, and reads the API documentation; axe on each page."""

import json

import pytest

from api.models import ServiceAccount
from tests.factories import build_team
from tests.helpers import axe_serious_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_release_manager_sets_up_a_pipeline_token_and_a_webhook(page, screenshot, live_server):
    team = build_team()
    sign_in(page, "rm")

    page.goto("/service-accounts/")
    assert axe_serious_violations(page) == []
    page.get_by_role("link", name="New service account").click()
    page.get_by_label("Name").fill("ci-payments")
    page.get_by_label("Description").fill("GitLab deploy job")
    page.get_by_label("Payments API").check()
    page.get_by_label("Token valid for (days)").fill("30")
    assert axe_serious_violations(page) == []
    screenshot("service-account-form")
    page.get_by_role("button", name="Create account and token").click()

    token = page.get_by_label("API token").input_value()
    assert token.startswith("relapp_")
    assert axe_serious_violations(page) == []
    screenshot("service-account-token-shown-once")
    page.get_by_role("link", name="Done, I have stored it").click()
    tokens = page.get_by_role("table", name="Tokens of ci-payments")
    assert tokens.get_by_text("Active").count() == 1
    assert token not in page.content()
    assert axe_serious_violations(page) == []
    screenshot("service-account-detail")

    # The token works from outside the browser, as a pipeline would use it.
    response = page.request.get("/api/v1/releases/", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200
    assert json.loads(response.body())["count"] == 0

    page.get_by_role("button", name="Revoke token").click()
    assert page.get_by_role("status").inner_text().startswith("Token ")
    revoked = page.request.get("/api/v1/releases/", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status == 401

    page.get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="New webhook").click()
    page.get_by_label("Payload URL").fill("https://chat.example.com/hooks/relapp")
    page.get_by_label("Release approved").check()
    page.get_by_label("Every deployment event").check()
    assert axe_serious_violations(page) == []
    page.get_by_role("button", name="Create webhook").click()
    secret = page.get_by_label("Signing secret").input_value()
    assert secret.startswith("whsec_")
    page.get_by_role("link", name="Done, I have stored it").click()
    assert page.get_by_role("heading", name="Delivery log").is_visible()
    assert axe_serious_violations(page) == []
    screenshot("webhook-detail")

    page.get_by_role("link", name="API documentation").click()
    assert page.get_by_role(
        "heading", name="GET /api/v1/releases/{product}/{version}/deploy-check"
    ).is_visible()
    assert axe_serious_violations(page) == []
    screenshot("api-docs")

    account = ServiceAccount.objects.get()
    assert account.products.get() == team["product"]
