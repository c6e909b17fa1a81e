"""A local user turns on an authenticator app and signs with password and code (Chromium)."""

import time
from base64 import b32decode

import pytest
from django.urls import reverse
from django_otp.oath import TOTP

from approvals.models import SignOff
from audit.models import Action, ChangeLogEntry
from tests.factories import PASSWORD, activity, build_team, release_in_review
from tests.helpers import axe_serious_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _code(secret: str, *, later_steps: int = 0) -> str:
    """What an authenticator app shows for `secret` now (or `later_steps` × 30 s from now)."""
    generator = TOTP(b32decode("".join(secret.split())))
    generator.time = time.time() + 30 * later_steps
    return str(generator.token()).zfill(6)


def test_a_local_user_enrols_an_authenticator_and_signs_with_two_components(page, screenshot):
    team = build_team()
    release = release_in_review(team)
    kwargs = {"product": release.product.slug, "version": release.version}
    signoff_url = reverse(
        "approvals:signoff",
        kwargs={**kwargs, "activity_id": activity(release, "Business scope").pk},
    )

    sign_in(page, "po")
    page.goto(reverse("accounts:account"))
    page.get_by_role("link", name="Set up or manage your authenticator app").click()
    page.get_by_role("button", name="Set up an authenticator app").click()
    secret = page.get_by_test_id("totp-secret").inner_text()
    assert page.get_by_test_id("totp-uri").inner_text().startswith("otpauth://totp/Relapp%3Apo?")
    assert axe_serious_violations(page) == []
    screenshot("authenticator-enrol")
    page.get_by_label("Authenticator code").fill(_code(secret))
    page.get_by_role("button", name="Turn on").click()
    assert "Authenticator turned on" in page.get_by_role("status").inner_text()
    assert page.get_by_test_id("authenticator-on").is_visible()

    page.goto(signoff_url)
    page.get_by_label("Your password").fill(PASSWORD)
    # The next step's code: the one used to turn it on cannot be used again.
    page.get_by_label("Authenticator code").fill(_code(secret, later_steps=1))
    assert axe_serious_violations(page) == []
    screenshot("signoff-with-code")
    page.get_by_role("button", name="Sign approval").click()
    assert "is recorded" in page.get_by_role("status").inner_text()
    page.goto(release.get_absolute_url())
    assert "(password and authenticator code)" in page.locator("#approvals").inner_text()
    screenshot("release-progress-totp")

    signoff = SignOff.objects.get()
    assert (signoff.method, signoff.components) == ("e-signature", "password+totp")
    assert ChangeLogEntry.objects.filter(action=Action.AUTHENTICATOR_ENABLED).count() == 1
