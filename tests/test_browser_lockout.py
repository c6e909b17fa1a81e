"""The lockout journey in Chromium: five wrong passwords, the locked page, the
release manager's notice and the unlock; axe finds nothing serious on the way."""

import pytest

from audit.models import Action
from tests.factories import PASSWORD, build_team
from tests.helpers import axe_serious_violations, entries, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _try(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")


def test_a_locked_account_is_told_why_and_a_release_manager_unlocks_it(page, screenshot, settings):
    # Every browser request comes from 127.0.0.1: lock per account only, or the
    # release manager could not sign in from the same address to unlock.
    settings.AXES_LOCKOUT_PARAMETERS = ["username"]
    build_team()
    for _ in range(5):
        _try(page, "po", "not-my-password")
    _try(page, "po", PASSWORD)
    assert page.get_by_role("heading", name="Sign-in locked").is_visible()
    assert "locked for 15 minutes" in page.get_by_role("alert").inner_text()
    assert axe_serious_violations(page) == []
    screenshot("lockout-locked")

    sign_in(page, "rm")
    assert page.get_by_test_id("unread-count").inner_text() == "1"
    page.goto("/account/")
    assert page.get_by_role("button", name="Sign out everywhere else").is_visible()
    assert axe_serious_violations(page) == []
    page.get_by_role("link", name="Locked accounts and addresses").click()
    assert axe_serious_violations(page) == []
    screenshot("lockout-list")
    page.get_by_role("button", name="Unlock account po").click()
    assert page.get_by_text("Unlocked account po.").is_visible()
    assert page.get_by_text("Nobody is locked out.").is_visible()

    sign_in(page, "po")
    assert page.get_by_role("heading", level=1).is_visible()
    assert "/login/" not in page.url
    assert [e.after["via"] for e in entries(Action.AUTH_LOCKED)] == ["sign-in"]
    assert [e.actor.username for e in entries(Action.AUTH_UNLOCKED)] == ["rm"]
