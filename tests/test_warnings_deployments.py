"""Issue 14, "warnings where the mistake is made": the deployment page says what the deploy
check would flag BEFORE the deployment is recorded, and asks for a confirm tick.

The rule is the deploy check's (`rules.deploy_refusals` through
`selectors.deploy_check_now`): the page shows its refusals, and a confirmed deployment
is recorded, flagged unauthorized and logged exactly as before, with what was
acknowledged. The API records as it always did.
"""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from approvals import services
from approvals.lifecycle import Status
from approvals.models import Deployment, FreezeWindow
from audit.models import Action
from tests.helpers import approve_all, entries, new_token, release_open_now

pytestmark = pytest.mark.django_db

IMAGE = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32


def url(release) -> str:
    return release.url("deployment_create")


def post(client, release, status="succeeded", **extra):
    return client.post(
        url(release), {"status": status, "environment": "production", "details": "", **extra}
    )


@pytest.fixture
def open_now(team):
    """Approved, its window open now, shipping IMAGE: the deploy check says yes."""
    release = release_open_now(team, version="3.0.0", approve=False)
    services.artifacts_report(
        release=release,
        actor=team["rm"],
        artifacts=[{"name": "payments-image", "kind": "image", "digest": IMAGE}],
    )
    approve_all(release, team)
    release.refresh_from_db()
    assert release.status == Status.APPROVED
    return release


def test_a_deployable_release_records_without_a_warning(client, team, open_now):
    client.force_login(team["rm"])
    page = client.get(url(open_now))
    assert (
        page.status_code == 200 and 'data-testid="deployment-warnings"' not in page.content.decode()
    )
    assert post(client, open_now, artifact=IMAGE).status_code == 302
    [deployment] = Deployment.objects.all()
    assert not deployment.unauthorized
    [entry] = entries(Action.RELEASE_DEPLOYED)
    assert entry.after["artifact"] == IMAGE and "warnings_acknowledged" not in entry.after


def test_an_unapproved_release_warns_first_then_records_flagged_with_the_acknowledgement(
    client, team, release
):
    client.force_login(team["rm"])
    preview = client.get(url(release)).content.decode()
    assert "will be flagged unauthorized" in preview and "not approved" in preview
    first = post(client, release, details="Hotfix pushed by hand")
    page = first.content.decode()
    assert first.status_code == 200
    assert "This deployment will be recorded and flagged unauthorized" in page
    assert "The release is in review, not approved." in page
    assert "The deployment window opens at" in page
    assert "Hotfix pushed by hand" in page  # what was typed is kept
    assert not Deployment.objects.exists() and not entries(Action.DEPLOYMENT_RECORDED)
    confirmed = post(client, release, details="Hotfix pushed by hand", confirm_warnings="on")
    assert confirmed.status_code == 302
    [deployment] = Deployment.objects.all()
    assert deployment.unauthorized
    [recorded] = entries(Action.DEPLOYMENT_RECORDED)
    [flag] = entries(Action.DEPLOYMENT_UNAUTHORIZED)
    assert recorded.after["warnings_acknowledged"][0] == "The release is in review, not approved."
    assert flag.after["warnings_acknowledged"] == recorded.after["warnings_acknowledged"]
    release.refresh_from_db()
    assert release.status == Status.IN_REVIEW


def test_a_digest_the_approval_does_not_cover_warns(client, team, open_now):
    client.force_login(team["rm"])
    response = post(client, open_now, artifact=OTHER)
    assert f"{OTHER} is not one of the approved artifacts." in response.content.decode()
    assert not Deployment.objects.exists()
    assert post(client, open_now, artifact=OTHER, confirm_warnings="on").status_code == 302
    [deployment] = Deployment.objects.all()
    assert [r["code"] for r in deployment.unauthorized_reasons] == ["artifact_not_approved"]


def test_a_closed_window_and_a_freeze_warn(client, team, open_now):
    now = timezone.now()
    type(open_now).objects.filter(pk=open_now.pk).update(
        window_start=now - timedelta(hours=3), window_end=now - timedelta(minutes=5)
    )
    FreezeWindow.objects.create(
        product=None,
        start=now - timedelta(hours=1),
        end=now + timedelta(hours=1),
        reason="Card-scheme change freeze",
        created_by=team["rm"],
    )
    client.force_login(team["rm"])
    page = post(client, open_now).content.decode()
    assert "The deployment window closed at" in page
    assert "Card-scheme change freeze" in page
    assert not Deployment.objects.exists()


def test_a_rollback_is_never_flagged_so_it_never_warns(client, team, release):
    client.force_login(team["rm"])
    assert post(client, release, status="rolled_back").status_code == 302
    [deployment] = Deployment.objects.all()
    assert not deployment.unauthorized


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"status": "shipped", "environment": "production"}, "status"),
        ({"status": "started", "environment": "production", "artifact": "latest"}, "artifact"),
        ({"status": "started", "environment": "x" * 61}, "environment"),
    ],
)
def test_bad_input_is_a_field_error_and_nothing_is_recorded(client, team, release, data, field):
    client.force_login(team["rm"])
    response = client.post(url(release), {**data, "confirm_warnings": "on"})
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Deployment.objects.exists() and not entries(Action.DEPLOYMENT_RECORDED)


# --- going around it ------------------------------------------------------------------------


def test_a_confirm_posted_blind_is_still_flagged_and_logged(client, team, release):
    """Ticking without having seen the warning changes nothing about the flag."""
    client.force_login(team["rm"])
    assert post(client, release, confirm_warnings="on").status_code == 302
    [deployment] = Deployment.objects.all()
    assert deployment.unauthorized
    [flag] = entries(Action.DEPLOYMENT_UNAUTHORIZED)
    assert flag.after["warnings_acknowledged"]


def test_the_api_records_as_before_without_any_tick(client, team, release):
    token = new_token(team)
    response = client.post(
        f"/api/v1/releases/{release.product.slug}/{release.version}/deployments/",
        data=json.dumps({"status": "succeeded"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201 and response.json()["unauthorized"] is True
    [flag] = entries(Action.DEPLOYMENT_UNAUTHORIZED)
    assert "warnings_acknowledged" not in flag.after


@pytest.mark.parametrize("who", ["po", "dev", "auditor"])
def test_people_who_may_not_record_get_403_on_the_page_and_its_post(client, team, release, who):
    client.force_login(team[who])
    assert client.get(url(release)).status_code == 403
    assert post(client, release, confirm_warnings="on").status_code == 403
    assert not Deployment.objects.exists() and entries(Action.ACCESS_REFUSED)


def test_outsiders_get_404(client, team, release):
    client.force_login(team["outsider"])
    assert client.get(url(release)).status_code == 404
    assert post(client, release, confirm_warnings="on").status_code == 404


def test_the_deployment_form_needs_csrf(team, release):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(team["rm"])
    assert post(csrf_client, release, confirm_warnings="on").status_code == 403
    assert not Deployment.objects.exists()


def test_the_admin_is_no_other_door_to_an_unflagged_deployment(client, team, release):
    client.force_login(team["admin"])
    response = client.post(
        "/admin/approvals/deployment/add/",
        {"release": release.pk, "status": "succeeded", "environment": "production"},
    )
    assert response.status_code == 403
    assert not Deployment.objects.exists()
