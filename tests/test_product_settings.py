"""Product settings pages: the approval policy and the RACI template, with policy versions."""

import io
import json
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from approvals import services
from approvals.models import ApprovalPolicy, PolicyVersion, Release
from approvals.services.policies import policy_setting_names, policy_snapshot
from audit.models import Action
from raci.models import TemplateAssignment
from tests.factories import release_in_review
from tests.helpers import approve_all, entries

pytestmark = pytest.mark.django_db


def policy_url(product) -> str:
    return reverse("approvals:product_policy", args=[product.slug])


def template_url(product) -> str:
    return reverse("approvals:product_raci_template", args=[product.slug])


def policy_post(**changes) -> dict[str, str]:
    """The settings form as the page sends it with the defaults, plus `changes`."""
    data = {
        "required_checks": "",
        "max_rehearsal_age_days": "30",
        "block_open_critical_defects": "on",
        "hotfix_review_days": "5",
        "reminder_offsets_seconds": "24, 1",
        "signoff_reminder_seconds": "7200",
        "approval_validity_days": "14",
        "hotfix_verbal_grace_hours": "0",
        "min_pass_rate": "",
        "suite_min_pass_rates": "",
        "zero_failure_suites": "",
        "block_marked_findings": "on",
        "fast_path_max_risk_score": "6",
        "fast_path_activities": "",
        "cutoff_days_before_window": "7",
        "monitoring_tick_hours": "2",
        "operations_activity": "Operational readiness",
        "required_risk_categories": "",
        "risk_judge_activity": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def template_cells(product) -> dict[str, str]:
    return {
        f"cell-{activity_id}-{user_id}": letter
        for activity_id, user_id, letter in TemplateAssignment.objects.filter(
            activity__product=product
        ).values_list("activity_id", "user_id", "letter")
    }


# --- the policy page ---------------------------------------------------------------


def test_it_shows_every_policy_setting_to_release_managers(client, team):
    client.force_login(team["rm"])
    response = client.get(policy_url(team["product"]))
    assert response.status_code == 200
    body = response.content.decode()
    for name in policy_setting_names():
        assert f'name="{name}"' in body, name
    assert "Gate-meeting reminders (hours before)" in body


def test_saving_a_change_makes_a_version_and_logs_before_and_after(client, team):
    product = team["product"]
    client.force_login(team["rm"])
    response = client.post(
        policy_url(product),
        policy_post(
            required_checks="unit-tests\nsecurity-scan\nunit-tests\n",
            max_rehearsal_age_days="10",
            reminder_offsets_seconds="48, 2",
            suite_min_pass_rates="End-to-end checkout: 100\nUnit: 97.5",
            min_pass_rate="95",
        ),
    )
    assert response.status_code == 302
    policy = ApprovalPolicy.objects.get(product=product)
    assert policy.required_checks == ["unit-tests", "security-scan"]
    assert policy.max_rehearsal_age_days == 10
    assert policy.reminder_offsets_seconds == [48 * 3600, 2 * 3600]
    assert policy.suite_min_pass_rates == {"End-to-end checkout": 100.0, "Unit": 97.5}
    versions = list(PolicyVersion.objects.filter(product=product).order_by("number"))
    # Version 1 is what was in force before (the defaults), version 2 the change.
    assert [v.number for v in versions] == [1, 2]
    assert versions[0].snapshot["max_rehearsal_age_days"] == 30
    assert versions[1].snapshot["max_rehearsal_age_days"] == 10
    assert "max_rehearsal_age_days" in versions[1].changed_fields
    (entry,) = entries(Action.POLICY_CHANGED)
    assert entry.actor == team["rm"]
    assert entry.before["max_rehearsal_age_days"] == 30
    assert entry.after["max_rehearsal_age_days"] == 10
    assert entry.after["policy_version"] == 2
    assert "Policy version 2" in entry.reason


def test_saving_the_same_settings_again_makes_no_version(client, team):
    product = team["product"]
    client.force_login(team["rm"])
    client.post(policy_url(product), policy_post(min_pass_rate="95"))
    response = client.post(policy_url(product), policy_post(min_pass_rate="95.00"), follow=True)
    assert "Nothing changed." in response.content.decode()
    assert PolicyVersion.objects.filter(product=product).count() == 2
    assert len(entries(Action.POLICY_CHANGED)) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("suite_min_pass_rates", "End-to-end checkout 100", "write “Suite name: minimum %”"),
        ("suite_min_pass_rates", "Unit: lots", "“lots” is not a number"),
        ("suite_min_pass_rates", "Unit: 120", "between 0 and 100"),
        ("reminder_offsets_seconds", "24, soon", "“soon” is not a number of hours"),
        ("reminder_offsets_seconds", "-1", "between a minute and"),
        ("min_pass_rate", "150", "between 0 and 100"),
        ("approval_validity_days", "0", "at least one day"),
        ("max_rehearsal_age_days", "-3", "greater than or equal to 0"),
        ("hotfix_review_days", "many", "Enter a whole number"),
        ("required_checks", "x" * 101, "longer than 100 characters"),
        ("required_risk_categories", "legal\nweather", "Unknown risk category: weather"),
        ("monitoring_tick_hours", "-1", "greater than or equal to 0"),
    ],
)
def test_bad_input_is_a_field_error_and_changes_nothing(client, team, field, value, message):
    product = team["product"]
    client.force_login(team["rm"])
    response = client.post(policy_url(product), policy_post(**{field: value}))
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert 'class="field-error"' in body
    assert not ApprovalPolicy.objects.filter(product=product).exists()
    assert not PolicyVersion.objects.exists()
    assert entries(Action.POLICY_CHANGED) == []


def test_a_posted_product_field_cannot_move_the_policy(client, team, make_user):
    product = team["product"]
    other = services.product_create(name="Ledger", slug="ledger", actor=team["rm"])
    client.force_login(team["rm"])
    client.post(policy_url(product), policy_post(product=str(other.pk), hotfix_review_days="3"))
    assert ApprovalPolicy.objects.get(product=product).hotfix_review_days == 3
    assert ApprovalPolicy.objects.get(product=other).hotfix_review_days == 5
    assert not PolicyVersion.objects.filter(product=other).exists()


def test_the_service_refuses_settings_that_are_not_policy_fields(team):
    with pytest.raises(ValidationError):
        services.policy_update(product=team["product"], actor=team["rm"], values={"product": 1})
    assert not PolicyVersion.objects.exists()


@pytest.mark.parametrize("who", ["po", "dev", "qa", "auditor"])
def test_only_release_managers_change_the_policy_others_are_refused_and_logged(client, team, who):
    release_in_review(team)  # so every persona sees the product
    client.force_login(team[who])
    assert client.get(policy_url(team["product"])).status_code == 403
    response = client.post(policy_url(team["product"]), policy_post(hotfix_review_days="1"))
    assert response.status_code == 403
    assert not ApprovalPolicy.objects.filter(product=team["product"]).exists()
    refusals = entries(Action.ACCESS_REFUSED)
    assert len(refusals) == 2
    assert all(e.actor == team[who] for e in refusals)


def test_a_product_the_user_cannot_see_is_404(client, team):
    client.force_login(team["outsider"])
    assert client.get(policy_url(team["product"])).status_code == 404
    assert client.post(policy_url(team["product"]), policy_post()).status_code == 404
    client.force_login(team["rm"])
    assert client.get(reverse("approvals:product_policy", args=["nope"])).status_code == 404


def test_anonymous_visitors_sign_in_first(client, team):
    response = client.post(policy_url(team["product"]), policy_post(hotfix_review_days="1"))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert not ApprovalPolicy.objects.exists()


def test_posts_without_a_csrf_token_are_refused(team):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team["rm"])
    response = client.post(policy_url(team["product"]), policy_post(hotfix_review_days="1"))
    assert response.status_code == 403
    assert not ApprovalPolicy.objects.exists()


def test_a_version_snapshots_every_field_of_the_model(team):
    """New policy fields (added by other issues) are versioned without a change here."""
    policy = ApprovalPolicy(product=team["product"])
    snapshot = policy_snapshot(policy)
    model_fields = {f.name for f in ApprovalPolicy._meta.concrete_fields} - {"id", "product"}
    assert set(snapshot) == model_fields


def test_the_admin_door_makes_a_version_too(team):
    policy = ApprovalPolicy.objects.create(product=team["product"])
    policy.approval_validity_days = 3
    services.policy_save(policy=policy, actor=team["admin"], changed=["approval_validity_days"])
    latest = PolicyVersion.objects.filter(product=team["product"]).order_by("-number").first()
    assert latest.number == 2
    assert latest.snapshot["approval_validity_days"] == 3
    assert latest.changed_fields == ["approval_validity_days"]


# --- the version a release was approved under ------------------------------------


def test_a_release_records_the_version_it_was_approved_under(client, team):
    product = team["product"]
    first = release_in_review(team, version="3.0.0")
    approve_all(first, team)
    first.refresh_from_db()
    assert first.policy_version.number == 1  # no change yet: the defaults as version 1
    services.policy_update(product=product, actor=team["rm"], values={"hotfix_review_days": 2})
    second = release_in_review(team, version="3.1.0")
    approve_all(second, team)
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.policy_version.number == 2
    assert second.policy_version.snapshot["hotfix_review_days"] == 2
    assert first.policy_version.number == 1  # a later change does not rewrite history
    (approved,) = [e for e in entries(Action.RELEASE_APPROVED) if e.release_id == second.pk]
    assert approved.after["policy_version"] == 2

    client.force_login(team["po"])
    page = client.get(second.get_absolute_url()).content.decode()
    assert "approval policy version 2" in page

    client.force_login(team["auditor"])
    response = client.get(reverse("evidence:evidence_pack", args=[product.slug, "3.1.0"]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    release_doc = json.loads(
        next(archive.read(n) for n in archive.namelist() if n.endswith("/release.json"))
    )
    assert release_doc["release"]["policy_version"]["number"] == 2
    assert release_doc["release"]["policy_version"]["settings"]["hotfix_review_days"] == 2


def test_an_unapproved_release_names_no_version(client, team):
    release = release_in_review(team, version="3.2.0")
    client.force_login(team["rm"])
    assert "approval policy version" not in client.get(release.get_absolute_url()).content.decode()
    assert Release.objects.get(pk=release.pk).policy_version is None


# --- the RACI template page --------------------------------------------------------


def test_a_release_manager_edits_the_template_and_new_releases_copy_it(client, team):
    product = team["product"]
    client.force_login(team["rm"])
    assert client.get(template_url(product)).status_code == 200
    data = template_cells(product)
    scope = product.template_activities.get(name="Business scope")
    data[f"cell-{scope.pk}-{team['po'].pk}"] = "C"
    data[f"cell-{scope.pk}-{team['qa'].pk}"] = "A"
    data["new_activity"] = "Security review"
    data[f"cell-new-{team['qa'].pk}"] = "A"
    response = client.post(template_url(product), data)
    assert response.status_code == 302
    (entry,) = entries(Action.POLICY_CHANGED)
    assert entry.before["raci_template"]["Business scope"]["po"] == "A"
    assert entry.after["raci_template"]["Business scope"]["qa"] == "A"
    assert entry.after["raci_template"]["Security review"] == {"qa": "A"}
    release = release_in_review(team, version="4.0.0")
    names = list(release.activities.values_list("name", flat=True))
    assert "Security review" in names
    scope_a = release.activities.get(name="Business scope").assignments.get(letter="A")
    assert scope_a.user == team["qa"]


def test_a_template_activity_needs_exactly_one_accountable(client, team):
    product = team["product"]
    before = template_cells(product)
    client.force_login(team["rm"])
    data = dict(before)
    scope = product.template_activities.get(name="Business scope")
    data[f"cell-{scope.pk}-{team['qa'].pk}"] = "A"  # a second A next to po
    response = client.post(template_url(product), data)
    assert response.status_code == 200
    assert "Business scope: needs exactly one Accountable (A), has 2." in response.content.decode()
    assert template_cells(product) == before
    assert entries(Action.POLICY_CHANGED) == []


def test_only_release_managers_edit_the_template(client, team):
    release_in_review(team)
    before = template_cells(team["product"])
    client.force_login(team["po"])
    assert client.post(template_url(team["product"]), before).status_code == 403
    client.force_login(team["outsider"])
    assert client.get(template_url(team["product"])).status_code == 404
    assert template_cells(team["product"]) == before
