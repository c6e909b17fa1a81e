"""The RACI editor in Chromium: rm types part of a name into "Add person", picks the
suggestion the JSON endpoint sent, sets a letter and saves; the page lists no users."""

import pytest
from django.urls import reverse

from raci.models import Assignment
from tests.factories import build_team, release_in_review, user_create
from tests.helpers import axe_serious_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def look(page, screenshot, name: str) -> None:
    """Axe-clean, and a screenshot at 1280 and at 360 px without sideways scrolling."""
    assert axe_serious_violations(page) == [], name
    screenshot(f"raci-people-{name}")
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot(f"raci-people-{name}-360")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, name
    page.set_viewport_size({"width": 1280, "height": 900})


def test_rm_adds_a_person_by_typing_and_picking_a_suggestion(page, screenshot):
    team = build_team()
    release = release_in_review(team)
    user_create("olga", first_name="Olga", last_name="Outram")
    for n in range(30):
        user_create(f"filler{n:02d}")
    sign_in(page, "rm")
    page.goto(reverse("approvals:raci_edit", args=["payments-api", release.version]))
    field = page.get_by_label("Add person")
    assert page.locator("select#id_new_person").count() == 0  # no list of every user
    field.press_sequentially("Outr", delay=50)
    option = page.locator("#person-options option[value='olga']")
    option.wait_for(state="attached")
    assert option.get_attribute("label") == "Olga Outram (olga)"
    look(page, screenshot, "editor")
    field.fill("olga")
    scope = release.activities.get(name="Business scope")
    page.locator(f"#id_cell-{scope.pk}-new").select_option("I")
    page.get_by_role("button", name="Save matrix").click()
    page.wait_for_url(f"**{release.get_absolute_url()}#raci")
    assert Assignment.objects.filter(activity=scope, user__username="olga", letter="I").exists()


def test_a_mistyped_username_shows_a_field_error(page, screenshot):
    team = build_team()
    release = release_in_review(team)
    sign_in(page, "rm")
    page.goto(reverse("approvals:raci_edit", args=["payments-api", release.version]))
    page.get_by_label("Add person").fill("olgaa")
    scope = release.activities.get(name="Business scope")
    page.locator(f"#id_cell-{scope.pk}-new").select_option("I")
    page.get_by_role("button", name="Save matrix").click()
    error = page.locator(".field-error", has_text="No active user has the username")
    error.wait_for()
    assert page.locator(".new-col .field-error").count() == 1  # one error, not two
    look(page, screenshot, "error")
    assert not Assignment.objects.filter(activity=scope, letter="I", user__username="olgaa")
