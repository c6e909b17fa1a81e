"""The product's RAD template: edited by release managers, a new RAD starts from it,
and a post-release review's "template changes" are applied to it in one step."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals import services
from approvals.models import Product, RadRevision, RadTemplate
from approvals.rad_templates import rad_template_normalise, rad_template_with_suggestion
from audit.models import Action
from tests.factories import build_team, complete_rad, release_in_review
from tests.helpers import entries, rad_post, release_open_now

pytestmark = pytest.mark.django_db

TEMPLATE = {
    "scope": "## What ships\n\n## What does not",
    "performance_findings": "Load test report: see the perf dashboard.",
    "security_findings": "",
    "test_suites": [
        {"name": "unit", "link": ""},
        {"name": "contract", "link": "https://ci.example.com/contract"},
    ],
    "risks": [
        {
            "description": "Payment provider latency",
            "likelihood": 2,
            "impact": 3,
            "mitigation": "Circuit breaker",
            "owner": "sre",
            "category": "technical",
        }
    ],
    "rollback": {"steps": "1. Flip the feature flag off\n2. Roll back the image"},
    "monitoring": ["Error rate below 0.1% for 30 min", "p95 latency below 300 ms"],
}
SUGGESTION = "Queue depth of payouts below 100\n- p95 latency below 300 ms\nRefund error rate flat"


def template_url(product) -> str:
    return reverse("approvals:product_rad_template", args=[product.slug])


def apply_url(release) -> str:
    return reverse(
        "approvals:rad_template_from_review", args=[release.product.slug, release.version]
    )


def edit_url(release) -> str:
    return reverse("approvals:rad_edit", args=[release.product.slug, release.version])


def template_post(content=TEMPLATE, **overrides) -> dict[str, str]:
    """The template page's POST body for `content`, as the browser sends it."""
    full = {**rad_template_normalise(content)}
    return rad_post(full, **overrides)


def stored(product) -> dict | None:
    template = RadTemplate.objects.filter(product=product).first()
    return template.content if template else None


def new_release(team, version="3.0.0"):
    start = timezone.now() + timedelta(days=9)
    return services.release_create(
        product=team["product"],
        version=version,
        title="Next",
        release_type="normal",
        window_start=start,
        window_end=start + timedelta(hours=2),
        actor=team["rm"],
    )


def closed_with_review(team, *, version="2.3.0", template_changes=SUGGESTION):
    release = release_open_now(team, version=version)
    services.deployment_record(release=release, actor=team["rm"], status="started")
    services.deployment_record(release=release, actor=team["rm"], status="succeeded")
    services.review_record(
        release=release,
        actor=team["dev"],
        went_well="Smooth cut-over.",
        slipped="Payout queue grew unnoticed.",
        template_changes=template_changes,
    )
    release.refresh_from_db()
    return release


# --- the template page ----------------------------------------------------------------


def test_a_release_manager_saves_the_template_and_the_log_has_before_and_after(client, team):
    client.force_login(team["rm"])
    page = client.get(template_url(team["product"]))
    assert page.status_code == 200
    assert "No template yet" in page.content.decode()

    response = client.post(template_url(team["product"]), template_post())

    assert response.status_code == 302
    content = stored(team["product"])
    assert content["monitoring"] == TEMPLATE["monitoring"]
    assert [s["name"] for s in content["test_suites"]] == ["unit", "contract"]
    assert content["rollback"]["steps"].startswith("1. Flip the feature flag off")
    (entry,) = entries(Action.POLICY_CHANGED)
    assert entry.actor == team["rm"] and entry.product == team["product"]
    assert entry.before == {"rad_template": rad_template_normalise({})}
    assert entry.after == {"rad_template": content}

    shown = client.get(template_url(team["product"])).content.decode()
    assert 'value="Error rate below 0.1% for 30 min"' in shown
    assert "No template yet" not in shown


def test_saving_the_same_template_again_changes_nothing(client, team):
    client.force_login(team["rm"])
    client.post(template_url(team["product"]), template_post())
    response = client.post(template_url(team["product"]), template_post(), follow=True)
    assert "Nothing changed." in response.content.decode()
    assert len(entries(Action.POLICY_CHANGED)) == 1


def test_the_policy_page_links_to_the_template(client, team):
    client.force_login(team["rm"])
    body = client.get(reverse("approvals:product_policy", args=[team["product"].slug])).content
    assert template_url(team["product"]).encode() in body


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"suites-1-link": "not a link"}, "suites-1-link", "Enter a valid URL."),
        ({"monitoring-1-item": "Error rate below 0.1% for 30 min"}, None, "Two rows share"),
        (
            {"risks-0-description": "", "risks-0-mitigation": "Circuit breaker"},
            "risks-0-description",
            "This field is required.",
        ),
        ({"risks-0-likelihood": "9"}, "risks-0-likelihood", "Select a valid choice"),
        ({"monitoring-0-item": "x" * 301}, "monitoring-0-item", "at most 300 characters"),
    ],
)
def test_bad_input_gives_field_errors_and_changes_nothing(client, team, overrides, field, message):
    client.force_login(team["rm"])
    client.post(template_url(team["product"]), template_post())
    before, logged = stored(team["product"]), len(entries())

    response = client.post(template_url(team["product"]), template_post(**overrides))

    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert "The template was not saved" in body
    if field:
        assert f'name="{field}"' in body
    assert stored(team["product"]) == before
    assert len(entries()) == logged


def test_a_template_holds_nothing_only_a_release_knows(team):
    """Posted straight to the service (another door): defects, counts and the rehearsal go."""
    services.rad_template_update(product=team["product"], actor=team["rm"], content=complete_rad())
    content = stored(team["product"])
    assert content["defects"] == []
    assert {(s["passed"], s["failed"], s["skipped"]) for s in content["test_suites"]} == {(0, 0, 0)}
    assert content["rollback"]["rehearsed_on"] is None
    assert content["rollback"]["evidence_url"] == ""
    assert not content["performance_blocking"] and not content["security_blocking"]


@pytest.mark.parametrize("username, status", [("dev", 403), ("po", 403), ("auditor", 403)])
@pytest.mark.parametrize("method", ["get", "post"])
def test_only_release_managers_change_templates_and_refusals_are_logged(
    client, team, username, status, method
):
    release_in_review(team)  # dev and po take part, so they can see the product
    client.force_login(team[username])
    response = getattr(client, method)(template_url(team["product"]), template_post())
    assert response.status_code == status
    assert stored(team["product"]) is None
    (refusal,) = entries(Action.ACCESS_REFUSED)
    assert refusal.actor == team[username]
    assert "RAD templates" in refusal.reason


def test_a_product_the_user_cannot_see_is_a_404(client, team):
    client.force_login(team["outsider"])
    assert client.get(template_url(team["product"])).status_code == 404
    assert client.post(template_url(team["product"]), template_post()).status_code == 404
    assert stored(team["product"]) is None
    assert client.get(reverse("approvals:product_rad_template", args=["nope"])).status_code == 404


def test_the_template_page_needs_csrf(team):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team["rm"])
    assert client.post(template_url(team["product"]), template_post()).status_code == 403
    assert stored(team["product"]) is None


# --- a new release starts from it ---------------------------------------------------------


def test_a_new_release_starts_from_the_template(client, team):
    services.rad_template_update(product=team["product"], actor=team["rm"], content=TEMPLATE)
    release = new_release(team)
    client.force_login(team["dev"])

    page = client.get(edit_url(release)).content.decode()

    assert "pre-filled from the <strong>RAD template of Payments API</strong>" in page
    assert 'value="p95 latency below 300 ms"' in page
    assert 'value="contract"' in page
    assert "1. Flip the feature flag off" in page
    assert reverse("approvals:rad_start_from", args=[team["product"].slug, "3.0.0"]) in page
    # The author fills in what only the release knows and saves revision 1.
    content = {
        **rad_template_normalise(TEMPLATE),
        "test_suites": [{"name": "unit", "passed": 10, "failed": 0, "skipped": 0, "link": ""}],
    }
    response = client.post(edit_url(release), rad_post(content, rehearsed_on="2026-11-20"))
    assert response.status_code == 302
    revision = RadRevision.objects.get(release=release)
    assert revision.content["monitoring"] == TEMPLATE["monitoring"]
    assert revision.content["rollback"]["rehearsed_on"] == "2026-11-20"


def test_without_a_template_the_editor_says_the_rad_starts_empty(client, team):
    release = new_release(team)
    client.force_login(team["dev"])
    page = client.get(edit_url(release)).content.decode()
    assert "has no RAD template, so this first revision starts empty" in page
    assert "Error rate below" not in page


def test_a_written_rad_is_not_replaced_by_the_template(client, team):
    release = release_in_review(team, monitoring=["Own item"])
    services.rad_template_update(product=team["product"], actor=team["rm"], content=TEMPLATE)
    client.force_login(team["dev"])
    page = client.get(edit_url(release)).content.decode()
    assert 'value="Own item"' in page
    assert "p95 latency below 300 ms" not in page
    assert "pre-filled from" not in page


def test_starting_from_an_earlier_release_takes_the_rest_from_the_template(client, team):
    earlier = release_in_review(team, version="2.3.0", scope="Earlier scope")
    services.rad_template_update(product=team["product"], actor=team["rm"], content=TEMPLATE)
    release = new_release(team)
    client.force_login(team["dev"])
    response = client.post(
        reverse("approvals:rad_start_from", args=[team["product"].slug, release.version]),
        {"source": earlier.pk, "sections": ["scope"]},
    )
    assert response.status_code == 302
    content = RadRevision.objects.get(release=release).content
    assert content["scope"] == "Earlier scope"
    assert content["monitoring"] == TEMPLATE["monitoring"]


# --- a review's suggested changes -----------------------------------------------------------


def test_a_review_suggestion_is_applied_to_a_chosen_section_in_one_step(client, team):
    services.rad_template_update(product=team["product"], actor=team["rm"], content=TEMPLATE)
    release = closed_with_review(team)
    client.force_login(team["rm"])
    detail = client.get(release.get_absolute_url()).content.decode()
    assert apply_url(release) in detail
    page = client.get(apply_url(release)).content.decode()
    assert "Queue depth of payouts below 100" in page

    response = client.post(apply_url(release), {"section": "monitoring", "text": SUGGESTION})

    assert response.status_code == 302
    assert response["Location"] == template_url(team["product"])
    assert stored(team["product"])["monitoring"] == [
        "Error rate below 0.1% for 30 min",
        "p95 latency below 300 ms",
        "Queue depth of payouts below 100",
        "Refund error rate flat",
    ]
    entry = entries(Action.POLICY_CHANGED)[-1]
    assert entry.actor == team["rm"]
    assert entry.before["rad_template"]["monitoring"] == TEMPLATE["monitoring"]
    assert entry.after["from_review"] == {"release": str(release), "section": "monitoring"}
    assert "post-release review of Payments API 2.3.0" in entry.reason

    again = client.post(apply_url(release), {"section": "monitoring", "text": SUGGESTION})
    assert again.status_code == 302
    assert len(entries(Action.POLICY_CHANGED)) == 2  # the save and the one application


def test_a_suggestion_can_start_a_template_and_go_to_the_rollback_steps(client, team):
    release = closed_with_review(team, template_changes="3. Drain the payout queue first")
    client.force_login(team["rm"])
    client.post(apply_url(release), {"section": "rollback", "text": "3. Drain the payout queue"})
    assert stored(team["product"])["rollback"]["steps"] == "3. Drain the payout queue"


@pytest.mark.parametrize(
    "data, field",
    [
        ({"section": "defects", "text": SUGGESTION}, "section"),
        ({"section": "", "text": SUGGESTION}, "section"),
        ({"section": "monitoring", "text": "   "}, "text"),
    ],
)
def test_a_bad_application_gives_field_errors_and_changes_nothing(client, team, data, field):
    release = closed_with_review(team)
    client.force_login(team["rm"])
    logged = len(entries())
    response = client.post(apply_url(release), data)
    assert response.status_code == 200
    assert f'id="id_{field}-error"' in response.content.decode()
    assert stored(team["product"]) is None
    assert len(entries()) == logged


def test_others_are_refused_the_application_and_the_button(client, team):
    release = closed_with_review(team)
    client.force_login(team["dev"])
    assert apply_url(release) not in client.get(release.get_absolute_url()).content.decode()
    response = client.post(apply_url(release), {"section": "monitoring", "text": SUGGESTION})
    assert response.status_code == 403
    assert stored(team["product"]) is None
    (refusal,) = entries(Action.ACCESS_REFUSED)
    assert refusal.actor == team["dev"] and refusal.release_id == release.pk
    client.force_login(team["outsider"])
    assert client.get(apply_url(release)).status_code == 404


def test_a_review_without_suggestions_has_nothing_to_apply(client, team):
    release = closed_with_review(team, template_changes="")
    client.force_login(team["rm"])
    assert apply_url(release) not in client.get(release.get_absolute_url()).content.decode()
    assert client.get(apply_url(release)).status_code == 404
    in_review = release_in_review(team, version="2.9.0")
    assert client.get(apply_url(in_review)).status_code == 404


def test_a_review_of_another_product_cannot_change_this_template(team):
    """The service itself refuses (another door than the page, which takes the product from the URL)."""
    release = closed_with_review(team)
    other = services.product_create(name="Ledger", slug="ledger", actor=team["rm"])
    with pytest.raises(ValidationError):
        services.rad_template_apply_review(
            product=other,
            review=release.review,
            section="monitoring",
            text=SUGGESTION,
            actor=team["rm"],
        )
    assert stored(other) is None


# --- the pure part -----------------------------------------------------------------------


def test_a_suggestion_adds_each_line_once_and_drops_list_marks():
    content = rad_template_with_suggestion(
        {"test_suites": [{"name": "unit"}]}, section="test_suites", text="* unit\n- e2e\ne2e\n\n"
    )
    assert [s["name"] for s in content["test_suites"]] == ["unit", "e2e"]
    risks = rad_template_with_suggestion({}, section="risks", text="Vendor outage")
    assert risks["risks"][0]["description"] == "Vendor outage"
    scope = rad_template_with_suggestion({"scope": "A"}, section="scope", text="B")
    assert scope["scope"] == "A\n\nB"
    assert rad_template_with_suggestion(scope, section="scope", text="B")["scope"] == "A\n\nB"
    with pytest.raises(KeyError):
        rad_template_with_suggestion({}, section="defects", text="x")


def test_two_products_keep_their_own_templates():
    team = build_team()
    other = services.product_create(name="Ledger", slug="ledger", actor=team["rm"])
    services.rad_template_update(product=team["product"], actor=team["rm"], content=TEMPLATE)
    assert services.rad_template_content(other) is None
    assert services.rad_template_content(team["product"])["monitoring"] == TEMPLATE["monitoring"]


# --- the demo ----------------------------------------------------------------------------


def test_seed_demo_gives_payments_api_a_template_a_new_release_starts_from(client):
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)  # idempotent
    product = Product.objects.get(slug="payments-api")
    content = services.rad_template_content(product)
    assert "Payout queue depth back under 100 within 15 minutes" in content["monitoring"]
    assert content["rollback"]["steps"].startswith("1. Announce the rollback")
    assert len([e for e in entries(Action.POLICY_CHANGED) if "rad_template" in e.after]) == 1
    rm = get_user_model().objects.get(username="rm")
    release = new_release({"product": product, "rm": rm}, version="9.0.0")
    client.force_login(rm)
    page = client.get(edit_url(release)).content.decode()
    assert 'value="No duplicate captures in the reconciliation report"' in page
