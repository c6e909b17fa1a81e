import pytest

from approvals import services
from approvals.lifecycle import Status
from raci import permissions
from tests.factories import ProductFactory, ReleaseFactory, complete_rad
from tests.helpers import axe_serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def in_review(release_manager, make_user):
    product = ProductFactory(name="Payments API", slug="payments-api")
    release = ReleaseFactory(
        product=product, version="2.4.0", title="SEPA Instant", created_by=release_manager
    )
    first = complete_rad()
    services.rad_revise(release=release, content=first, actor=release_manager)
    second = complete_rad()
    second["defects"].append(
        {"title": "Ledger export misses fees", "severity": "critical", "link": "", "state": "open"}
    )
    services.rad_revise(release=release, content=second, actor=release_manager)
    third = complete_rad()
    third["risks"][0]["likelihood"] = 4  # the changed risk the PO must notice
    services.rad_revise(release=release, content=third, actor=release_manager)
    services.release_submit(release=release, actor=release_manager)
    po = make_user("po", first_name="Paula", last_name="Okafor")
    permissions.release_perms_grant(
        user=po, release=release, codenames=[permissions.VIEW, permissions.COMMENT]
    )
    release.refresh_from_db()
    assert release.status == Status.IN_REVIEW
    return release


def test_a_product_owner_reviews_the_rad_compares_revisions_and_comments(
    page, login, screenshot, in_review
):
    login("po")
    page.get_by_role("link", name="Releases", exact=True).click()
    assert axe_serious_violations(page) == []
    screenshot("release-list")

    page.get_by_role("link", name="Payments API 2.4.0").click()
    assert page.get_by_test_id("release-status").inner_text() == "In review"
    assert page.get_by_role("heading", name="1 Scope").is_visible()
    # The risk sits in the heat-map cell likelihood 4 × impact 4.
    dot = page.get_by_role("link", name="Risk 1: Cache stampede on deploy")
    assert dot.get_attribute("href") == "#risk-1"
    cell_title = dot.locator("xpath=..").get_attribute("title")
    assert cell_title == "Likelihood 4 × impact 4 = 16"
    assert page.get_by_text("Rehearsed 5 days ago").is_visible()
    assert axe_serious_violations(page) == []
    screenshot("rad-reading-view")

    page.get_by_role("link", name="Compare revisions").click()
    page.get_by_label("From revision").select_option("1")
    page.get_by_label("To revision").select_option("3")
    page.get_by_role("button", name="Compare").click()
    risks = page.get_by_role("region", name="Risk assessment changed")
    changed = risks.locator("[data-kind=changed]")
    assert "Cache stampede on deploy" in changed.inner_text()
    row = changed.get_by_role("row", name="Likelihood")
    assert row.locator("del").inner_text() == "2"
    assert row.locator("ins").inner_text() == "4"
    assert axe_serious_violations(page) == []
    screenshot("rad-diff")

    page.get_by_role("link", name="Payments API 2.4.0").click()
    page.get_by_role("textbox", name="Comment").fill(
        "Risk 1 went up: is the cache warm-up scripted?"
    )
    page.get_by_role("button", name="Post comment").click()
    comments = page.locator("#comments .comment")
    assert comments.count() == 1
    assert "Paula Okafor" in comments.first.inner_text()
    assert "is the cache warm-up scripted?" in comments.first.inner_text()
    assert page.get_by_role("status").inner_text() == "Comment posted."
