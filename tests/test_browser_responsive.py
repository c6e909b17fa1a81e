"""Every page, for every persona, on a laptop (1280 px) and a phone (360 px).

The demo data (`seed_demo`) gives each page something to show: a deployed,
an approved, an in-review and a draft release, a gate meeting, a freeze.
A page fails when the document is wider than the viewport (something runs
off the side of a phone) or when axe-core finds a serious or critical
violation.
"""

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from approvals.models import Release
from meetings.models import GateMeeting
from tests.helpers import axe_serious_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "relapp-demo-test"  # noqa: S105 - the seeded users' password here
WIDTHS = (1280, 360)
PERSONAS = ("rm", "po", "qa", "sre", "auditor", "dev")

OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 1 && box.width > 0 && !el.closest(".table-wrap, pre, .scroll-box")) {
      wide.push(`${el.tagName.toLowerCase()}.${el.className} ${Math.round(box.right)}px`);
    }
  }
  return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5)};
}"""


def _pages() -> list[str]:
    pages = [
        reverse("home"),
        reverse("approvals:release_list"),
        reverse("approvals:release_list") + "?status=in_review",
        reverse("approvals:product_list"),
        reverse("approvals:my_signoffs"),
        reverse("approvals:release_create"),
        reverse("approvals:product_create"),
        reverse("meetings:freeze_list"),
        reverse("meetings:notification_list"),
        reverse("meetings:calendar_settings"),
        reverse("accounts:account"),
        reverse("accounts:authenticator"),
        reverse("accounts:lockout_list"),
        reverse("password_change"),
        reverse("evidence:changelog_list"),
        reverse("evidence:changelog_entry", kwargs={"seq": 3}),
        reverse("evidence:unauthorized_list"),
        reverse("api:service_account_list"),
        reverse("api:service_account_create"),
        reverse("api:webhook_list"),
        reverse("api:webhook_create"),
        reverse("api:docs"),
        reverse("search") + "?q=pay",
    ]
    for release in Release.objects.select_related("product").order_by("version"):
        kwargs = {"product": release.product.slug, "version": release.version}
        pages += [
            release.get_absolute_url(),
            reverse("approvals:rad_edit", kwargs=kwargs),
            reverse("approvals:rad_diff", kwargs=kwargs) + "?base=1&compare=2",
            reverse("approvals:raci_edit", kwargs=kwargs),
        ]
        for activity in release.activities.all()[:1]:
            pages.append(
                reverse("approvals:signoff", kwargs={**kwargs, "activity_id": activity.pk})
            )
    for meeting in GateMeeting.objects.all():
        pages.append(reverse("meetings:meeting_detail", kwargs={"meeting_id": meeting.pk}))
        pages.append(reverse("meetings:meeting_edit", kwargs={"meeting_id": meeting.pk}))
    return pages


@pytest.fixture
def demo(settings):
    settings.DEMO_PASSWORD = DEMO_PASSWORD
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115, PTH123


@pytest.mark.parametrize("username", PERSONAS)
def test_every_page_fits_a_phone_and_a_laptop_and_is_axe_clean(page, demo, username):
    pages = _pages()
    problems: dict[str, object] = {}
    sign_in(page, username, DEMO_PASSWORD)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        for path in pages:
            response = page.goto(path)
            assert response.status < 500, path
            page.wait_for_load_state("load")
            measured = page.evaluate(OVERFLOW)
            if measured["scroll"] > measured["width"]:
                problems[f"{width} {path} overflow"] = measured
            found = axe_serious_violations(page)
            if found:
                problems[f"{width} {path} axe"] = found
    assert not problems, json.dumps(problems, indent=1)


def test_the_phone_header_is_compact_and_its_menu_opens_from_a_static_script(page, demo):
    sign_in(page, "po", DEMO_PASSWORD)
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(reverse("home"))
    header = page.locator(".site-header").bounding_box()
    assert header["height"] <= 64
    toggle = page.get_by_role("button", name="Menu")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not page.get_by_role("link", name="My sign-offs", exact=True).is_visible()
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    page.get_by_role("link", name="My sign-offs", exact=True).click()
    page.wait_for_url("**/my/signoffs/")
    # On a laptop the menu button is not there and the navigation is.
    page.set_viewport_size({"width": 1280, "height": 800})
    assert not toggle.is_visible()
    assert page.get_by_role("link", name="Releases", exact=True).is_visible()


def test_without_javascript_the_phone_menu_is_simply_open(browser, live_server, demo):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 360, "height": 800}, java_script_enabled=False
    )
    page = context.new_page()
    try:
        sign_in(page, "po", DEMO_PASSWORD)
        page.goto(reverse("home"))
        assert page.get_by_role("link", name="My sign-offs", exact=True).is_visible()
        assert page.locator(".menu-toggle").is_hidden()
    finally:
        context.close()
