"""Content-Security-Policy in a real browser: the main pages load with no violation.

The policy (scripts and styles from 'self' only, no inline script or style)
is relapp.settings' CONTENT_SECURITY_POLICY; Chromium reports every blocked
script, style or style attribute as a `securitypolicyviolation` event and a
console error.
"""

import pytest
from django.urls import reverse

from tests.factories import activity, build_team, release_in_review
from tests.helpers import schedule, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _violations_on(page, paths: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    console: list[str] = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    for path in paths:
        console.clear()
        response = page.goto(path)
        assert response.status == 200, path
        page.wait_for_load_state("load")
        seen = page.evaluate("window.__csp") + list(console)
        if seen:
            found[path] = seen
    return found


def test_the_main_pages_load_without_a_csp_violation(page, changelog_auditor, screenshot):
    team = build_team()
    release = release_in_review(team)
    kwargs = {"product": release.product.slug, "version": release.version}
    scope = activity(release, "Business scope").pk
    meeting = schedule(release, team)
    manager_pages = [
        reverse("home"),
        reverse("approvals:release_list"),
        release.get_absolute_url(),
        reverse("approvals:rad_edit", kwargs=kwargs),
        reverse("approvals:product_list"),
        reverse("meetings:freeze_list"),
        reverse("meetings:notification_list"),
        reverse("meetings:calendar_settings"),
        reverse("accounts:account"),
        reverse("accounts:lockout_list"),
        reverse("accounts:authenticator"),
        reverse("password_change"),
        reverse("api:service_account_list"),
        reverse("api:webhook_list"),
        reverse("api:webhook_create"),
        reverse("api:service_account_create"),
        reverse("api:docs"),
        reverse("approvals:release_create"),
        reverse("approvals:product_create"),
        reverse("approvals:raci_edit", kwargs=kwargs),
        reverse("evidence:changelog_list"),
        reverse("evidence:unauthorized_list"),
        reverse("meetings:meeting_detail", kwargs={"meeting_id": meeting.pk}),
        reverse("meetings:meeting_edit", kwargs={"meeting_id": meeting.pk}),
        reverse("meetings:meeting_create", kwargs=kwargs),
    ]
    page.add_init_script(LISTEN)
    page.goto(reverse("login"))
    assert page.evaluate("window.__csp") == []
    sign_in(page, "rm")
    assert _violations_on(page, manager_pages) == {}
    page.goto(release.get_absolute_url())
    # The pass-rate bars are <progress> elements now, not inline style widths.
    assert page.locator("progress.rate-bar").count() > 0
    screenshot("csp-release-detail")
    sign_in(page, "auditor")
    assert _violations_on(page, [reverse("evidence:changelog_list")]) == {}
    sign_in(page, "po")
    signoff = reverse("approvals:signoff", kwargs={**kwargs, "activity_id": scope})
    assert _violations_on(page, [signoff]) == {}

    # The detector works: an inline style attribute is blocked and reported.
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.__csp")[0].startswith("style-src-attr")
