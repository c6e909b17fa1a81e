"""An auditor's journey through the change log in real Chromium."""

import pytest

from audit.chain import verify_export_file
from audit.changelog import changelog_record
from audit.models import Action
from tests.factories import release_of
from tests.helpers import axe_serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_auditor_filters_by_release_opens_the_approval_and_exports_a_verifiable_csv(
    page, login, changelog_auditor, make_user, screenshot, tmp_path
):
    po = make_user("po", first_name="Pat", last_name="Owner")
    pay = release_of("pay", "2.4.0", created_by=po)
    shop = release_of("shop", "1.0.0", created_by=po)
    changelog_record(action=Action.RELEASE_CREATED, actor=po, release=pay)
    changelog_record(action=Action.RELEASE_CREATED, actor=po, release=shop)
    changelog_record(
        action=Action.RELEASE_SUBMITTED,
        actor=po,
        release=pay,
        before={"status": "draft"},
        after={"status": "in_review"},
    )
    approval = changelog_record(
        action=Action.RELEASE_APPROVED,
        actor=po,
        release=pay,
        before={"status": "in_review"},
        after={"status": "approved"},
        reason="=cmd|' /C calc'!A0 all sign-offs recorded",
    )
    changelog_record(action=Action.COMMENT_ADDED, actor=po, release=shop)

    login("auditor")
    page.goto("/changelog/")
    assert page.get_by_role("heading", level=1).inner_text() == "Change log"
    assert axe_serious_violations(page) == []
    release_field = page.get_by_label("Release")
    release_field.press_sequentially("pay 2.4", delay=30)
    suggestion = page.locator("#release-options option")
    suggestion.first.wait_for(state="attached", timeout=5000)
    assert suggestion.evaluate_all("options => options.map(o => o.value)") == ["pay 2.4.0"]
    release_field.fill("pay 2.4.0")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_load_state("domcontentloaded")
    rows = page.locator("table tbody tr")
    assert rows.count() == 3
    screenshot("changelog-list")

    page.get_by_role("link", name=f"Entry {approval.seq}", exact=True).click()
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == f"Entry #{approval.seq}: Release approved"
    assert page.get_by_text("Verified", exact=True).is_visible()
    changed = page.locator("tr.cl-changed th")
    assert changed.inner_text().startswith("status")
    assert axe_serious_violations(page) == []
    screenshot("changelog-entry")

    page.go_back()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    path = tmp_path / "pay.csv"
    download_info.value.save_as(path)

    text = path.read_text()
    assert "'=cmd|" in text
    result = verify_export_file(path)
    assert result.ok, result.summary()
    assert result.count == 3
    assert (result.first_seq, result.last_seq) == (1, approval.seq)
