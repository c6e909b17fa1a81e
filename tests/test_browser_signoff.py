import pytest
from django.urls import reverse

from approvals.models import SignOff
from audit.models import Action, ChangeLogEntry
from raci.models import TemplateAssignment
from raci.services import raci_template_ensure
from tests.factories import ACCOUNTABLES, PASSWORD, activity, build_team, release_in_review
from tests.helpers import ARTIFACTS, axe_serious_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def unassigned_release():
    """In review, but nobody is Accountable yet: the release manager sets that."""
    team = build_team()
    TemplateAssignment.objects.filter(letter__in=["A", "C"]).update(letter="I")
    for template in raci_template_ensure(product=team["product"]):
        for username in ("po", "qa", "sre", "rm"):
            TemplateAssignment.objects.get_or_create(
                activity=template, user=team[username], defaults={"letter": "I"}
            )
    release = release_in_review(team)
    return team, release


def test_the_accountables_sign_and_only_they_can(page, screenshot, unassigned_release):
    team, release = unassigned_release
    release_url = release.get_absolute_url()
    activity_ids = {name: activity(release, name).pk for name in ACCOUNTABLES}

    sign_in(page, "rm")
    page.goto(release_url)
    page.get_by_role("link", name="Edit matrix").click()
    for name, username in ACCOUNTABLES.items():
        page.get_by_label(f"{name} – {username}", exact=True).select_option("A")
    page.get_by_label("Business scope – cc", exact=True).select_option("C")
    assert axe_serious_violations(page) == []
    screenshot("raci-editor")
    page.get_by_role("button", name="Save matrix").click()
    assert page.get_by_role("status").inner_text() == "RACI matrix saved; permissions follow it."
    grid = page.get_by_role(
        "table", name="Responsible, Accountable, Consulted and Informed per activity"
    )
    assert grid.get_by_role("row", name="Business scope").get_by_title("Accountable").count() == 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("#raci").screenshot(path=str(ARTIFACTS / "raci-matrix.png"))

    for username in ("po", "qa", "sre", "rm"):
        sign_in(page, username)
        page.get_by_role("link", name="My sign-offs", exact=True).click()
        buttons = page.get_by_role("link", name="Review and sign")
        expected = list(ACCOUNTABLES.values()).count(username)
        assert buttons.count() == expected
        for _ in range(expected):
            page.get_by_role("link", name="Review and sign").first.click()
            assert page.get_by_test_id("meaning").inner_text().startswith("“I approve ")
            page.get_by_label("Your password").fill(PASSWORD)
            page.get_by_role("button", name="Sign approval").click()
            assert "is recorded" in page.get_by_role("status").inner_text()
            page.get_by_role("link", name="My sign-offs", exact=True).click()

    page.goto(release_url)
    assert page.get_by_test_id("release-status").inner_text() == "Approved"
    assert page.get_by_test_id("approval-count").inner_text() == "5 of 5 approved"
    assert axe_serious_violations(page) == []
    screenshot("release-approved")
    page.locator("#approvals").screenshot(path=str(ARTIFACTS / "progress-panel.png"))

    # cc is only Consulted: no Approve button, and a forged POST is refused.
    sign_in(page, "cc")
    page.goto(release_url)
    assert page.get_by_role("link", name="Approve").count() == 0
    assert page.get_by_role("button", name="Approve").count() == 0
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    signoff_url = reverse(
        "approvals:signoff",
        kwargs={
            "product": "payments-api",
            "version": "2.4.0",
            "activity_id": activity_ids["Business scope"],
        },
    )
    response = page.request.post(
        signoff_url,
        form={"decision": "approve", "revision": "1", "comment": "", "password": PASSWORD},
        headers={"X-CSRFToken": token},
    )
    assert response.status == 403

    # Refused before anything posted is looked at, and logged.
    refusal = ChangeLogEntry.objects.filter(action=Action.ACCESS_REFUSED).latest("seq")
    assert refusal.actor == team["cc"]
    assert "its Accountable is Po Tester" in refusal.reason
    assert SignOff.objects.filter(release=release, voided_at__isnull=True).count() == 5
