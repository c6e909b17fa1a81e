"""The RAD editor in real Chromium: Markdown preview, the browser draft restored after a
failed save and after a reload, a section comment resolved, an evidence file attached."""

import hashlib
import re

import pytest

from approvals import services
from approvals.models import Attachment, Comment
from tests.factories import complete_rad, release_in_review
from tests.helpers import axe_serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def both_widths(page, screenshot, name: str) -> None:
    """Screenshots at 1280 and 360 px; nothing may be wider than the phone's screen."""
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        if width == 360:
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= 360, f"{name} is {scroll} px wide on a 360 px screen"
        screenshot(f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})


def draft_keys(page) -> list[str]:
    return page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('relapp.rad-draft.'))")


def test_preview_and_the_draft_survive_a_failed_save_and_a_reload(page, login, screenshot, team):
    release = release_in_review(team)
    edit = release.url("rad_edit")
    login("dev")
    page.goto(edit)
    scope = page.get_by_role("textbox", name="Scope")
    scope.fill("## Plan\n\nShips **instant refunds**.\n\n<script>window.pwned = 1</script>")
    page.locator("[data-preview-for=scope]").click()
    preview = page.locator("[data-preview=scope]")
    assert preview.locator("h4").inner_text() == "Plan"  # the reading view's heading shift
    assert preview.locator("strong").inner_text() == "instant refunds"
    assert preview.locator("script").count() == 0 and page.evaluate("window.pwned") is None
    assert not scope.is_visible()
    assert axe_serious_violations(page) == []
    both_widths(page, screenshot, "rad-editor-preview")
    page.get_by_role("button", name="Edit", exact=True).click()
    assert scope.is_visible()

    # A failed save: the server refuses a negative count; the draft is there, with a notice.
    page.locator("[name=suites-0-passed]").fill("-1")
    page.get_by_role("button", name="Save revision").click()
    page.wait_for_load_state()
    assert "The RAD was not saved" in page.content()
    notice = page.locator("[data-draft-notice]")
    assert notice.inner_text().startswith("Restored your unsaved draft from ")
    assert "instant refunds" in scope.input_value()
    assert axe_serious_violations(page) == []
    both_widths(page, screenshot, "rad-editor-restored-draft")

    # A reload (a plain GET): the server shows revision 1, the browser puts the draft back.
    page.goto(edit)
    assert "instant refunds" in scope.input_value()
    assert page.locator("[name=suites-0-passed]").input_value() == "-1"
    assert notice.is_visible() and "Discard" in notice.inner_text()
    page.get_by_role("button", name="Discard").click()
    page.wait_for_load_state()
    assert scope.input_value() == complete_rad()["scope"]
    assert not notice.is_visible() and draft_keys(page) == []

    # A save that goes through clears the draft.
    scope.fill("Saved scope")
    page.get_by_role("button", name="Save revision").click()
    page.wait_for_url(release.get_absolute_url())
    assert draft_keys(page) != []  # kept until the editor hears the save went through
    page.goto(edit)
    assert draft_keys(page) == [] and not notice.is_visible()
    assert scope.input_value() == "Saved scope"

    # Someone else writes revision 3 meanwhile: the older draft is offered, not applied.
    scope.fill("My long edit")
    page.wait_for_timeout(600)
    services.rad_revise(release=release, content=complete_rad(scope="Theirs"), actor=team["rm"])
    page.goto(edit)
    assert scope.input_value() == "Theirs"
    assert "based on revision 2, but revision 3 is current now" in notice.inner_text()
    page.get_by_role("button", name="Restore it anyway").click()
    assert scope.input_value() == "My long edit"


def test_a_reviewer_resolves_a_section_comment_and_evidence_is_attached(
    page, login, screenshot, team, tmp_path
):
    release = release_in_review(team)
    services.release_comment(
        release=release, actor=team["cc"], body="When was this rehearsed?", section="rollback"
    )
    login("po")
    page.goto(release.get_absolute_url())
    section = page.get_by_test_id("section-comments-rollback")
    assert "When was this rehearsed?" in section.inner_text()
    section.get_by_role("button", name=re.compile("^Resolve")).click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == "Comment resolved."
    folded = page.get_by_test_id("resolved-rollback")
    assert "1 resolved comment" in folded.inner_text()
    assert not folded.get_by_text("When was this rehearsed?").is_visible()
    assert axe_serious_violations(page) == []

    login("dev")
    page.goto(release.get_absolute_url())
    fake = tmp_path / "screenshot.png"
    fake.write_bytes(b"<html><script>alert(1)</script></html>")
    page.locator("#attachments input[type=file]").set_input_files(str(fake))
    page.get_by_role("button", name="Attach file").click()
    page.wait_for_load_state()
    assert "not a .png file" in page.locator(".field-error").inner_text()
    real = tmp_path / "latency.png"
    real.write_bytes(PNG)
    page.locator("#attachments input[type=file]").set_input_files(str(real))
    page.get_by_role("button", name="Attach file").click()
    page.wait_for_url("**#attachments")
    files = page.get_by_test_id("attachments")
    assert "latency.png" in files.inner_text()
    assert hashlib.sha256(PNG).hexdigest() in files.inner_text()
    with page.expect_download() as got:
        files.get_by_role("link", name="latency.png").click()
    assert got.value.suggested_filename == "latency.png"
    assert axe_serious_violations(page) == []

    page.goto(release.url("rad_edit"))
    rollback = page.get_by_test_id("section-comments-rollback")
    assert rollback.get_by_text("1 resolved comment").is_visible()
    both_widths(page, screenshot, "rad-editor-comments-files")
    rollback.get_by_text("1 resolved comment").click()
    rollback.get_by_role("button", name=re.compile("^Reopen")).click()
    page.wait_for_url("**/rad/edit/#comments-rollback")
    assert Comment.objects.get().resolved_at is None
    assert Attachment.objects.get().filename == "latency.png"
