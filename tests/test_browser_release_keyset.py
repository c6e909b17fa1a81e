"""The release list in Chromium, paged newest first by keyset: Older, Newer and Newest
links that keep the filters, axe-clean and without sideways scrolling on a phone."""

import pytest
from django.urls import reverse

from tests.factories import ProductFactory, build_team, release_history_bulk
from tests.helpers import axe_serious_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_rm_pages_through_a_filtered_release_list(page, screenshot):
    team = build_team()
    release_history_bulk(
        product=ProductFactory(name="Bulk", slug="bulk"),
        created_by=team["rm"],
        releases=60,
        deployments=0,
    )
    sign_in(page, "rm")
    page.goto(reverse("approvals:release_list") + "?product=bulk")
    rows = page.locator("tbody tr")
    assert rows.count() == 25
    first_page = rows.first.inner_text()
    page.get_by_role("link", name="Older →").click()
    page.wait_for_url("**before=*")
    assert "product=bulk" in page.url
    assert rows.count() == 25 and rows.first.inner_text() != first_page
    assert axe_serious_violations(page) == []
    screenshot("release-list-keyset")
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot("release-list-keyset-360")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name="Older →").click()
    page.wait_for_url("**before=*")
    assert rows.count() == 10  # 60 = 25 + 25 + 10
    assert page.get_by_role("link", name="Older →").count() == 0
    page.get_by_role("link", name="← Newer").click()
    page.wait_for_url("**after=*")
    assert rows.count() == 25
    page.get_by_role("link", name="Newest").click()
    assert rows.first.inner_text() == first_page
    assert "product=bulk" in page.url
