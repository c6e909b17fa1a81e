"""The admin cannot change what the change log must see, except through services."""

import pytest

from approvals.models import ApprovalPolicy, Release
from audit.models import Action, ChangeLogEntry
from raci.models import TemplateActivity
from tests.factories import release_in_review

pytestmark = pytest.mark.django_db


def test_releases_and_products_are_read_only_in_the_admin(client, team):
    release = release_in_review(team)
    client.force_login(team["admin"])
    url = f"/admin/approvals/release/{release.pk}/change/"
    assert client.get(url).status_code == 200  # view only
    response = client.post(url, {"title": "Renamed", "version": release.version})
    assert response.status_code == 403
    release.refresh_from_db()
    assert release.title == "SEPA Instant"
    # No guardian object-permissions page: permissions follow the RACI matrix only.
    from django.contrib import admin
    from guardian.admin import GuardedModelAdmin

    assert not isinstance(admin.site._registry[Release], GuardedModelAdmin)
    assert (
        client.post("/admin/approvals/product/add/", {"name": "X", "slug": "x"}).status_code == 403
    )


def test_a_policy_change_in_the_admin_is_logged(client, team):
    policy, _ = ApprovalPolicy.objects.get_or_create(product=team["product"])
    client.force_login(team["admin"])
    response = client.post(
        f"/admin/approvals/approvalpolicy/{policy.pk}/change/",
        {
            "product": team["product"].pk,
            "required_checks": '["security-scan"]',
            "max_rehearsal_age_days": 14,
            "block_open_critical_defects": "on",
            "hotfix_review_days": 5,
            "reminder_offsets_seconds": "[86400, 3600]",
            "signoff_reminder_seconds": 7200,
            "approval_validity_days": 14,
            "hotfix_verbal_grace_hours": 0,
            "suite_min_pass_rates": "{}",
            "zero_failure_suites": "[]",
            "block_marked_findings": "on",
            "fast_path_max_risk_score": 6,
            "fast_path_activities": "[]",
            "cutoff_days_before_window": 7,
            "monitoring_tick_hours": 2,
            "operations_activity": "Operational readiness",
            "required_risk_categories": "[]",
        },
    )
    assert response.status_code == 302
    entry = ChangeLogEntry.objects.get(action=Action.POLICY_CHANGED)
    assert entry.before["max_rehearsal_age_days"] == 30
    assert entry.after["max_rehearsal_age_days"] == 14
    assert entry.after["required_checks"] == ["security-scan"]
    assert entry.actor == team["admin"]


def test_a_template_change_in_the_admin_is_logged(client, team):
    template = TemplateActivity.objects.get(product=team["product"], name="Business scope")
    client.force_login(team["admin"])
    assignments = list(template.assignments.all())
    data = {
        "product": team["product"].pk,
        "name": "Business scope",
        "position": 0,
        "assignments-TOTAL_FORMS": str(len(assignments) + 1),
        "assignments-INITIAL_FORMS": str(len(assignments)),
        "assignments-MIN_NUM_FORMS": "0",
        "assignments-MAX_NUM_FORMS": "1000",
    }
    for index, a in enumerate(assignments):
        data.update(
            {
                f"assignments-{index}-id": a.pk,
                f"assignments-{index}-activity": template.pk,
                f"assignments-{index}-user": a.user_id,
                f"assignments-{index}-letter": a.letter,
            }
        )
    n = len(assignments)
    data.update(
        {
            f"assignments-{n}-activity": template.pk,
            f"assignments-{n}-user": team["auditor"].pk,
            f"assignments-{n}-letter": "I",
        }
    )
    response = client.post(f"/admin/raci/templateactivity/{template.pk}/change/", data)
    assert response.status_code == 302
    entry = ChangeLogEntry.objects.get(action=Action.POLICY_CHANGED)
    assert entry.after["raci_template"]["Business scope"]["auditor"] == "I"
    assert Release.objects.count() == 0
