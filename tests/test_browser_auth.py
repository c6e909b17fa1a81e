import pytest

from tests.factories import PASSWORD
from tests.helpers import axe_serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_user_signs_in_through_the_real_login_page(page, login, release_manager, screenshot):
    page.goto("/")
    assert "/login/" in page.url
    assert axe_serious_violations(page) == []
    screenshot("login")
    login("rm")
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome, Rm Tester"
    assert page.get_by_role("navigation", name="Main").is_visible()
    assert axe_serious_violations(page) == []
    screenshot("home")
    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_role("heading", name="You are signed out").is_visible()


def test_a_wrong_password_keeps_the_user_out(page, login, release_manager):
    login("rm", "wrong-password")
    assert "/login/" in page.url
    assert page.get_by_role("alert").inner_text().startswith("Please enter a correct username")


def test_the_login_form_works_with_the_keyboard(page, release_manager):
    page.goto("/login/")
    # The username field has focus on arrival; the whole sign-in needs no mouse.
    assert page.evaluate("document.activeElement.id") == "id_username"
    page.keyboard.type("rm")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/")
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome, Rm Tester"
    # First Tab on a page reaches the skip link; Enter moves focus into <main>.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
