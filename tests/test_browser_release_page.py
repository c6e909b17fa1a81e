"""Issue 14: the release page reads top-down, and the signing dialog keeps a refusal inside it.

The header gives status, window, readiness and the reader's one next step; the
RAD sections fold under a table of contents; a wrong password comes back into
the dialog, said before anything about the release (a freeze, say).
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals import services
from approvals.models import FreezeWindow, SignOff
from audit.models import Action
from raci.models import Activity, Assignment
from relapp.credentials import WRONG_PASSWORD
from tests.factories import (
    PASSWORD,
    UserFactory,
    activity,
    build_team,
    complete_rad,
    release_in_review,
)
from tests.helpers import (
    ARTIFACTS,
    approve_all,
    axe_serious_violations,
    entries,
    release_open_now,
    sign_in,
)

browser = pytest.mark.browser


def _kwargs(release) -> dict:
    return {"product": release.product.slug, "version": release.version}


def _draft(team, *, version="2.6.0", **rad):
    """A draft created by rm whose RAD dev wrote (complete unless `rad` says otherwise)."""
    start = timezone.now() + timedelta(days=5)
    release = services.release_create(
        product=team["product"],
        version=version,
        title="Refunds",
        release_type="normal",
        fixes=None,
        window_start=start,
        window_end=start + timedelta(hours=2),
        actor=team["rm"],
    )
    services.rad_revise(release=release, content=complete_rad(**rad), actor=team["dev"])
    return release


def _freeze(release, team):
    return FreezeWindow.objects.create(
        product=None,
        start=release.window_start - timedelta(hours=1),
        end=release.window_end + timedelta(hours=1),
        reason="Payments freeze",
        created_by=team["rm"],
    )


def _send(dialog, password: str):
    """Type `password` into the dialog and press Enter; wait until its answer is shown."""
    box = dialog.get_by_label("Password")
    box.fill(password)
    box.press("Enter")
    dialog.page.wait_for_selector("dialog.sign-dialog[aria-busy=false]", state="attached")


def _header(page):
    header = page.get_by_test_id("release-header")
    return header, header.get_by_test_id("next-action")


# 1. The header: status, window, readiness, one next step per reader --------------


@browser
@pytest.mark.django_db(transaction=True)
def test_the_header_gives_each_reader_their_one_next_step(page):
    team = build_team()
    review = release_in_review(team)
    draft = _draft(team)

    sign_in(page, "po")
    page.goto(review.get_absolute_url())
    header, step = _header(page)
    assert header.get_by_test_id("release-status").inner_text() == "In review"
    assert review.window_start.strftime("%-d %b %Y") in header.inner_text()
    assert header.get_by_test_id("readiness").inner_text().startswith("Ready for sign-off")
    assert step.get_attribute("data-step") == "sign"
    assert header.locator(".button.primary").count() == 1
    # The header's Sign opens the same signing dialog as the row's Approve.
    step.get_by_role("link", name="Sign Business scope").click()
    dialog = page.locator("dialog.sign-dialog[open]")
    dialog.wait_for()
    assert "Approve Business scope" in dialog.inner_text()

    sign_in(page, "rm")  # the release manager's draft, its RAD complete: Submit
    page.goto(draft.get_absolute_url())
    header, step = _header(page)
    assert step.get_attribute("data-step") == "submit"
    assert header.locator(".button.primary").count() == 1
    assert page.get_by_role("button", name="Submit for review").count() == 1
    assert header.get_by_test_id("readiness").inner_text().startswith("Ready to submit")

    sign_in(page, "auditor")  # reads everything, does nothing
    page.goto(review.get_absolute_url())
    header, step = _header(page)
    assert step.get_attribute("data-step") == "nothing"
    assert "Nothing for you to do now" in step.inner_text()
    assert "Waiting for" in step.inner_text()
    assert header.locator(".button.primary, form").count() == 0
    assert axe_serious_violations(page) == []


@browser
@pytest.mark.django_db(transaction=True)
def test_the_header_says_what_is_missing_from_the_same_rules_as_the_panels(page):
    team = build_team()
    draft = _draft(team, scope="", risks=[])
    review = release_in_review(team, version="2.7.0")
    _freeze(review, team)

    sign_in(page, "dev")  # the Responsible: the RAD is incomplete, so "Complete the RAD"
    page.goto(draft.get_absolute_url())
    header, step = _header(page)
    readiness = header.get_by_test_id("readiness").inner_text()
    assert readiness.startswith("2 things missing")
    assert "Scope" in readiness and "Risk assessment" in readiness
    assert step.get_attribute("data-step") == "edit_rad"
    # The submit button that stays (not the next step) points at the same list.
    assert (
        page.get_by_role("button", name="Submit for review").get_attribute("aria-describedby")
        == "submit-blockers"
    )
    assert page.locator("#submit-blockers li").count() == 2

    sign_in(page, "po")  # a freeze over the window: no Sign, the freeze said instead
    page.goto(review.get_absolute_url())
    header, step = _header(page)
    assert "Payments freeze" in header.get_by_test_id("readiness").inner_text()
    assert step.get_attribute("data-step") == "nothing"
    assert "You sign Business scope once nothing is missing" in step.inner_text()
    assert step.get_by_role("link").count() == 0


@browser
@pytest.mark.django_db(transaction=True)
def test_an_approved_release_offers_its_deployment_and_a_closed_one_nothing(page):
    team = build_team()
    release = release_open_now(team, version="2.8.0")
    sign_in(page, "rm")
    page.goto(release.get_absolute_url())
    header, step = _header(page)
    assert step.get_attribute("data-step") == "record_deployment"
    step.get_by_role("link", name="Record deployment").click()
    assert page.url.endswith("#lifecycle")

    services.deployment_record(release=release, actor=team["rm"], status="started")
    services.deployment_record(release=release, actor=team["rm"], status="succeeded")
    services.review_record(release=release, actor=team["dev"], went_well="Calm.", slipped="-")
    page.goto(release.get_absolute_url())
    header, step = _header(page)
    assert step.get_attribute("data-step") == "nothing"
    assert header.get_by_test_id("release-status").inner_text() == "Closed"
    first = page.evaluate("[...document.querySelectorAll('.rad-main > section')].map(s => s.id)[0]")
    assert first == "outcome"


# 2. The RAD sections fold; a table of contents links to them ----------------------


@browser
@pytest.mark.django_db(transaction=True)
def test_rad_sections_fold_and_the_contents_lead_to_them_on_desktop_and_phone(page):
    team = build_team()
    release = release_in_review(team)
    sign_in(page, "po")
    page.goto(release.get_absolute_url())
    sections = page.locator("details.rad-details")
    assert sections.count() == 5
    assert all(sections.nth(i).get_attribute("open") is not None for i in range(5))
    scope = page.locator("#scope")
    assert scope.locator(".prose").is_visible()
    scope.locator("summary").click()
    assert not scope.locator(".prose").is_visible()
    toc = page.get_by_test_id("release-toc")
    for name in ("Approval progress", "1 Scope", "4 Rollback plan", "Comments"):
        assert toc.get_by_role("link", name=name).count() == 1
    toc.get_by_role("link", name="1 Scope").click()
    assert page.url.endswith("#scope")
    assert scope.locator(".prose").is_visible()  # following the link unfolds it again

    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(release.get_absolute_url())
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert not toc.get_by_role("link", name="1 Scope").is_visible()  # a short "Contents"
    assert all(sections.nth(i).get_attribute("open") is None for i in range(5))
    toc.locator("summary").click()
    toc.get_by_role("link", name="4 Rollback plan").click()
    assert page.locator("#rollback details").get_attribute("open") is not None
    assert page.locator("#rollback .rehearsal").is_visible()
    assert axe_serious_violations(page) == []


@browser
@pytest.mark.django_db(transaction=True)
def test_without_javascript_the_sections_are_open_and_the_contents_are_links(browser, live_server):
    team = build_team()
    release = release_in_review(team)
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, viewport={"width": 360, "height": 740}
    )
    page = context.new_page()
    try:
        sign_in(page, "po")
        page.goto(release.get_absolute_url())
        assert page.locator("details.rad-details[open]").count() == 5
        page.get_by_test_id("release-toc").get_by_role("link", name="3 Risk assessment").click()
        assert page.url.endswith("#risks")
        assert page.locator("#risks .risk-list").is_visible()
    finally:
        context.close()


# 3. A wrong password stays in the dialog, said before the release's state -----------


@browser
@pytest.mark.django_db(transaction=True)
def test_a_wrong_password_comes_back_into_the_dialog_before_a_freeze_message(page, screenshot):
    team = build_team()
    release = release_in_review(team)
    scope = activity(release, "Business scope")
    sign_in(page, "po")
    page.goto(release.get_absolute_url())
    page.locator('tr[data-activity="Business scope"]').get_by_role("link", name="Approve").click()
    dialog = page.locator("dialog.sign-dialog[open]")
    dialog.wait_for()
    dialog.get_by_label("Comment").fill("Scope read twice.")
    _send(dialog, "wrong password")
    assert page.url.endswith(release.get_absolute_url())  # still the release page
    password = dialog.get_by_label("Password")
    assert password.get_attribute("aria-invalid") == "true"
    assert password.evaluate("el => el === document.activeElement")
    assert dialog.locator(".field-error").inner_text() == WRONG_PASSWORD
    described = password.evaluate(
        "el => el.getAttribute('aria-describedby').split(' ')"
        ".map(id => document.getElementById(id).textContent).join(' ')"
    )
    assert WRONG_PASSWORD in described
    assert dialog.get_by_label("Comment").input_value() == "Scope read twice."
    assert dialog.locator(".form-errors, .field-error, [data-testid=not-ready]").count() == 1
    screenshot("release-page-dialog-wrong-password-1280")
    page.set_viewport_size({"width": 360, "height": 740})
    screenshot("release-page-dialog-wrong-password-360")
    page.screenshot(path=str(ARTIFACTS / "release-page-dialog-wrong-password-360-top.png"))
    page.set_viewport_size({"width": 1280, "height": 900})

    # A freeze lands on the window while the dialog is open: a wrong password is
    # still said first, alone; the right one then hears about the freeze.
    _freeze(release, team)
    _send(dialog, "still wrong")
    assert dialog.locator(".field-error").inner_text() == WRONG_PASSWORD
    assert dialog.get_by_label("Password").evaluate("el => el === document.activeElement")
    assert "freeze" not in dialog.inner_text().lower()
    _send(dialog, PASSWORD)
    assert "Payments freeze" in dialog.get_by_test_id("not-ready").inner_text()
    assert dialog.locator(".field-error, .form-errors").count() == 0
    assert page.url.endswith(release.get_absolute_url())
    assert not SignOff.objects.filter(activity=scope).exists()
    refusals = [e.reason for e in entries(Action.SIGNOFF_REFUSED)]
    assert len(refusals) == 3
    assert sum(WRONG_PASSWORD in m for m in refusals) == 2


@browser
@pytest.mark.django_db(transaction=True)
def test_the_dialog_records_the_signature_after_a_wrong_password(page):
    team = build_team()
    release = release_in_review(team)
    sign_in(page, "po")
    page.goto(release.get_absolute_url())
    page.locator('tr[data-activity="Business scope"]').get_by_role("link", name="Approve").click()
    dialog = page.locator("dialog.sign-dialog[open]")
    dialog.wait_for()
    page.keyboard.type("wrong password")
    page.keyboard.press("Enter")
    dialog.locator(".field-error").wait_for()
    page.keyboard.type(PASSWORD)  # the focus is back in the password box
    page.keyboard.press("Enter")
    page.get_by_text("Your decision on Business scope is recorded.").wait_for()
    assert page.locator("dialog[open]").count() == 0
    assert release.signoffs.filter(activity=activity(release, "Business scope")).count() == 1


@browser
@pytest.mark.django_db(transaction=True)
def test_without_javascript_the_signing_page_says_the_wrong_password_before_the_freeze(
    browser, live_server
):
    team = build_team()
    release = release_in_review(team)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, "po")
        page.goto(release.get_absolute_url())
        page.locator('tr[data-activity="Business scope"]').get_by_role(
            "link", name="Approve"
        ).click()
        page.wait_for_url("**/signoff/**")
        _freeze(release, team)
        page.get_by_label("Comment").fill("Looks right.")
        page.get_by_label("Password").fill("wrong password")
        page.get_by_role("button", name="Sign approval").click()
        page.wait_for_load_state("load")
        password = page.get_by_label("Password")
        assert password.get_attribute("aria-invalid") == "true"
        assert password.get_attribute("autofocus") is not None
        assert page.locator(".field-error").inner_text() == WRONG_PASSWORD
        assert page.get_by_test_id("not-ready").count() == 0
        assert page.get_by_label("Comment").input_value() == "Looks right."
        password.fill(PASSWORD)
        page.get_by_role("button", name="Sign approval").click()
        page.wait_for_load_state("load")
        assert "Payments freeze" in page.get_by_test_id("not-ready").inner_text()
        assert page.locator(".field-error, .form-errors").count() == 0
    finally:
        context.close()
    assert not release.signoffs.exists()


# The order, through the other doors: the form POST and the service itself --------


@pytest.mark.django_db
def test_a_wrong_password_is_said_before_readiness_and_counts_as_a_wrong_credential(client):
    team = build_team()
    release = release_in_review(team)
    _freeze(release, team)
    scope = activity(release, "Business scope")
    with pytest.raises(services.SignOffRefused) as refused:
        services.signoff_record(
            release=release,
            activity_id=scope.pk,
            signer=team["po"],
            decision="approve",
            comment="",
            password="wrong",
            revision_number=1,
        )
    assert str(refused.value) == WRONG_PASSWORD
    assert refused.value.wrong_credential and not refused.value.forbidden
    with pytest.raises(services.SignOffRefused, match="Not ready for sign-off") as refused:
        services.signoff_record(
            release=release,
            activity_id=scope.pk,
            signer=team["po"],
            decision="approve",
            comment="",
            password=PASSWORD,
            revision_number=1,
        )
    assert not refused.value.wrong_credential
    assert not SignOff.objects.exists()
    assert [e.reason for e in entries(Action.SIGNOFF_REFUSED)] == [
        WRONG_PASSWORD,
        str(refused.value),
    ]


@pytest.mark.django_db
def test_someone_elses_activity_is_refused_before_their_password_is_looked_at(client):
    team = build_team()
    release = release_in_review(team)
    scope = activity(release, "Business scope")
    for password in ("wrong", PASSWORD):  # qa is not Business scope's Accountable
        with pytest.raises(services.SignOffRefused) as refused:
            services.signoff_record(
                release=release,
                activity_id=scope.pk,
                signer=team["qa"],
                decision="approve",
                comment="",
                password=password,
                revision_number=1,
            )
        assert refused.value.forbidden and not refused.value.wrong_credential
        assert "Accountable" in str(refused.value)
    client.force_login(team["qa"])
    url = reverse("approvals:signoff", kwargs={**_kwargs(release), "activity_id": scope.pk})
    response = client.post(url, {"decision": "approve", "revision": 1, "password": "wrong"})
    assert response.status_code == 403
    assert not SignOff.objects.exists()


@pytest.mark.django_db
def test_the_signing_post_marks_the_password_and_keeps_the_comment(client):
    team = build_team()
    release = release_in_review(team)
    _freeze(release, team)
    scope = activity(release, "Business scope")
    client.force_login(team["po"])
    url = reverse("approvals:signoff", kwargs={**_kwargs(release), "activity_id": scope.pk})
    data = {"decision": "approve", "revision": 1, "comment": "Fine by me.", "password": "x"}
    response = client.post(url, data)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'aria-invalid="true"' in body and WRONG_PASSWORD in body
    assert "Fine by me." in body
    assert "Payments freeze" not in body
    # The stale-revision refusal also waits for the password: one message at a time.
    response = client.post(url, {**data, "revision": 7})
    assert WRONG_PASSWORD in response.content.decode()
    assert "changed to revision" not in response.content.decode()
    assert not SignOff.objects.exists()


# The release page's query count, pinned at two sizes -----------------------------


# 25 after the RACI rows, rhythm data and role groups are read once (issue 16); +2 for the
# RAD editor's section comments and evidence files.
RELEASE_PAGE_QUERIES = 27


@pytest.mark.django_db
def test_the_release_page_costs_a_pinned_number_of_queries_at_any_size(client):
    team = build_team()
    counts = []
    for version, extra in (("5.0.0", 0), ("50.0.0", 45)):
        release = release_in_review(team, version=version)
        for n in range(extra):
            item = Activity.objects.create(release=release, name=f"Extra {n}", position=10 + n)
            person = UserFactory(username=f"a{version}-{n}")
            Assignment.objects.create(activity=item, user=person, letter="A")
            Assignment.objects.create(activity=item, user=team["dev"], letter="R")
        approve_all(release, team, skip=("Go/no-go decision",))
        client.force_login(team["rm"])
        with CaptureQueriesContext(connection) as queries:
            response = client.get(release.get_absolute_url())
        assert response.status_code == 200
        assert 'data-testid="next-action"' in response.content.decode()
        counts.append(len(queries))
    print(f"release page queries at 5 and 50 activities: {counts}")
    assert counts == [RELEASE_PAGE_QUERIES, RELEASE_PAGE_QUERIES], counts


# Screenshots: draft, in review, closed, at 1280 and 360 px -------------------------


@browser
@pytest.mark.django_db(transaction=True)
def test_the_release_page_fits_desktop_and_phone_in_each_state(page, screenshot):
    team = build_team()
    draft = _draft(team, scope="")
    review = release_in_review(team, version="2.7.0")
    closed = release_open_now(team, version="2.8.0")
    services.deployment_record(release=closed, actor=team["rm"], status="started")
    services.deployment_record(release=closed, actor=team["rm"], status="succeeded")
    services.review_record(
        release=closed, actor=team["dev"], went_well="Smooth cut-over.", slipped="Docs late."
    )
    sign_in(page, "rm")
    for state, release in (("draft", draft), ("in-review", review), ("closed", closed)):
        for width in (1280, 360):
            page.set_viewport_size({"width": width, "height": 900 if width > 400 else 740})
            page.goto(release.get_absolute_url())
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (state, width)
            screenshot(f"release-page-{state}-{width}")
            page.screenshot(path=str(ARTIFACTS / f"release-page-{state}-{width}-top.png"))
    assert axe_serious_violations(page) == []
