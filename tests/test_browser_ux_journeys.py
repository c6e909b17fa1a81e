"""The journeys issue 14 found rough, walked in real Chromium, one test per finding."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals import services
from approvals.models import FreezeWindow, Release
from audit.models import Action
from meetings.models import GateMeeting, Notification
from tests.factories import (
    PASSWORD,
    activity,
    build_team,
    complete_rad,
    release_in_review,
    release_of,
)
from tests.helpers import axe_serious_violations, entries, release_open_now, schedule, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _kwargs(release) -> dict:
    return {"product": release.product.slug, "version": release.version}


# 1. A RAD with defects can be saved again --------------------------------------


def test_a_rad_with_defects_saves_again_with_its_blank_extra_rows(page):
    team = build_team()
    release = services.release_create(
        product=team["product"],
        version="2.5.0",
        title="Multi-currency payouts",
        release_type="normal",
        fixes=None,
        window_start=timezone.now() + timedelta(days=14),
        window_end=timezone.now() + timedelta(days=14, hours=2),
        actor=team["rm"],
    )
    services.rad_revise(release=release, content=complete_rad(), actor=team["dev"])
    sign_in(page, "dev")
    page.goto(reverse("approvals:rad_edit", kwargs=_kwargs(release)))
    page.get_by_label("Scope").fill("## What ships\n\n- Payouts in EUR, GBP and USD\n")
    page.get_by_role("button", name="Save revision").click()
    page.wait_for_url(f"**{release.get_absolute_url()}*")
    assert page.locator(".field-error").count() == 0
    assert release.revisions.count() == 2


# 10. The unread badge is readable ------------------------------------------------


def test_the_unread_badge_has_enough_contrast(page):
    team = build_team()
    Notification.objects.create(user=team["po"], title="Sign Business scope")
    sign_in(page, "po")
    page.goto(reverse("home"))
    assert page.get_by_test_id("unread-count").inner_text() == "1"
    found = [v for v in axe_serious_violations(page) if v["id"] == "color-contrast"]
    assert found == []


# 7. An over-long comment is kept, with a message that says what is wrong ----------


def test_an_over_long_comment_is_kept_and_the_message_says_it_is_too_long(page):
    team = build_team()
    release = release_in_review(team)
    sign_in(page, "po")
    page.goto(release.get_absolute_url())
    text = "Looks good. " * 420 + "END"  # 5,043 characters, the limit is 5,000
    page.locator("#id_body").fill(text)
    page.get_by_role("button", name="Post comment").click()
    page.wait_for_load_state("load")
    assert "too long" in page.locator(".messages").inner_text()
    assert "5,043" in page.locator(".messages").inner_text()
    assert page.locator("#id_body").input_value() == text
    assert release.comments.count() == 0
    # An empty comment says so, and differently.
    page.locator("#id_body").fill("   ")
    page.get_by_role("button", name="Post comment").click()
    page.wait_for_load_state("load")
    assert "empty" in page.locator(".messages").inner_text()
    assert "too long" not in page.locator(".messages").inner_text()


# 6. Signing happens in a dialog, focused on the password -------------------------


def test_signing_opens_a_dialog_focused_on_the_password_with_help_announced(page):
    team = build_team()
    release = release_in_review(team)
    sign_in(page, "po")
    page.goto(release.get_absolute_url())
    row = page.locator('tr[data-activity="Business scope"]')
    row.get_by_role("link", name="Approve").click()
    dialog = page.locator("dialog.sign-dialog[open]")
    dialog.wait_for()
    password = dialog.get_by_label("Password")
    assert password.evaluate("el => el === document.activeElement")
    # The meaning text and the RAD hash are what the dialog's description announces.
    described = dialog.evaluate(
        "d => d.getAttribute('aria-describedby').split(' ')"
        ".map(id => document.getElementById(id).textContent).join(' ')"
    )
    assert "Business scope" in described
    assert services.rad_current(release).sha256 in described
    # Every aria-describedby in the dialog points at an element that exists.
    broken = dialog.evaluate(
        "d => [...d.querySelectorAll('[aria-describedby]')].flatMap(el =>"
        " el.getAttribute('aria-describedby').split(' ')).filter(id => !document.getElementById(id))"
    )
    assert broken == []
    page.keyboard.type("wrong password")
    page.keyboard.press("Enter")
    # One clear message, in the dialog, on the password box focused for the next try.
    dialog.locator(".field-error").wait_for()
    assert page.url.endswith(release.get_absolute_url())
    assert dialog.locator(".form-errors, .field-error").count() == 1
    assert dialog.get_by_label("Password").evaluate("el => el === document.activeElement")
    dialog.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign approval").click()
    page.get_by_text("Your decision on Business scope is recorded.").wait_for()
    assert release.signoffs.filter(activity=activity(release, "Business scope")).exists()


def test_without_javascript_signing_is_the_full_page_focused_on_the_password(browser, live_server):
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
        assert page.get_by_label("Password").get_attribute("autofocus") is not None
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign approval").click()
        page.wait_for_url(f"**{release.get_absolute_url()}*")
        assert release.signoffs.filter(activity=activity(release, "Business scope")).exists()
    finally:
        context.close()


# 9. Change-log rows name the grantee; the timeline leaves out others' refusals ------


def test_the_timeline_names_who_was_granted_and_leaves_out_others_refusals(page, settings):
    team = build_team()
    release = release_in_review(team)
    sign_in(page, "po")
    page.goto(reverse("approvals:raci_edit", kwargs=_kwargs(release)))  # refused: 403
    assert entries(Action.ACCESS_REFUSED)
    sign_in(page, "rm")
    page.goto(release.get_absolute_url())
    timeline = page.locator(".cl-timeline")
    granted = timeline.locator("li", has_text="Permission granted").first
    assert "to po" in granted.inner_text() or "to Paula" in granted.inner_text()
    assert timeline.locator("li", has_text="Action refused").count() == 0


# 2. Problems surface where the mistake is made -----------------------------------


def test_a_release_in_a_freeze_or_the_past_is_flagged_on_the_release_form(page):
    team = build_team()
    start = timezone.now() + timedelta(days=30)
    FreezeWindow.objects.create(
        product=None,
        start=start,
        end=start + timedelta(days=7),
        reason="Year-end freeze",
        created_by=team["rm"],
    )
    sign_in(page, "rm")
    page.goto(reverse("approvals:release_create"))
    page.get_by_label("Version").fill("3.0.0")
    page.get_by_label("Title").fill("Ledger v3")
    window = (start + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Deployment window start").fill(window)
    end = (start + timedelta(days=1, hours=2)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Deployment window end").fill(end)
    page.get_by_role("button", name="Create release").click()
    warnings = page.get_by_test_id("window-warnings")
    assert "Year-end freeze" in warnings.inner_text()
    assert "deploy check will refuse it" in warnings.inner_text()
    assert not Release.objects.filter(version="3.0.0").exists()
    # A window in the past says so too.
    past = (timezone.now() - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    past_end = (timezone.now() - timedelta(days=2, hours=-2)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Deployment window start").fill(past)
    page.get_by_label("Deployment window end").fill(past_end)
    page.get_by_role("button", name="Create release").click()
    assert "starts in the past" in page.get_by_test_id("window-warnings").inner_text()
    assert not Release.objects.filter(version="3.0.0").exists()
    # Confirming creates it, with nothing else to type again.
    page.get_by_label("create it with this window anyway").check()
    page.get_by_role("button", name="Create release").click()
    page.wait_for_url("**/rad/edit/")
    assert Release.objects.filter(version="3.0.0", product=team["product"]).exists()


# 5. A closed release looks finished ----------------------------------------------


def test_a_closed_release_shows_its_review_first_and_offers_nothing_to_change(page):
    team = build_team()
    release = release_open_now(team, version="2.3.0")
    schedule(release, team, hours=1)  # never minuted
    services.deployment_record(release=release, actor=team["rm"], status="started")
    services.deployment_record(release=release, actor=team["rm"], status="succeeded")
    services.review_record(
        release=release, actor=team["dev"], went_well="Smooth cut-over.", slipped="Docs late."
    )
    release.refresh_from_db()
    assert release.is_finished
    sign_in(page, "dev")
    page.goto(release.get_absolute_url())
    outcome = page.get_by_test_id("outcome")
    assert "Smooth cut-over." in outcome.inner_text()
    # The outcome comes before the approvals and the RAD.
    first = page.evaluate("[...document.querySelectorAll('.rad-main > section')].map(s => s.id)[0]")
    assert first == "outcome"
    access = page.locator("#h-access").locator("xpath=..")
    assert "edit" not in access.inner_text().lower()
    assert "submit" not in access.inner_text().lower()
    assert page.locator("#meetings").get_by_text("Scheduled").count() == 0
    # The RAD editor says so before anything is typed.
    page.goto(reverse("approvals:rad_edit", kwargs=_kwargs(release)))
    page.wait_for_url(f"**{release.get_absolute_url()}")
    assert "cannot change now" in page.locator(".messages").inner_text()


# 3. A gate meeting held now can be minuted ----------------------------------------


def test_a_gate_meeting_started_now_takes_minutes_and_a_decision_at_once(page):
    team = build_team()
    release = release_in_review(team)
    sign_in(page, "rm")
    page.goto(reverse("meetings:meeting_create", kwargs=_kwargs(release)))
    page.get_by_label("Location or link").fill("Room 4")
    page.get_by_role("button", name="Start the gate meeting now").click()
    page.wait_for_url("**/meetings/*/")
    assert "record the minutes" in page.locator(".messages").inner_text()
    page.locator("#id_decision").select_option("no_go")
    page.locator("#id_minutes").fill("Ledger export still misses fees; no-go until fixed.")
    page.get_by_role("button", name="Record outcome").click()
    page.wait_for_load_state("load")
    assert "Minutes and decision recorded." in page.locator(".messages").inner_text()
    meeting = GateMeeting.objects.get(release=release)
    assert meeting.decision == "no_go"
    assert entries(Action.MEETING_SCHEDULED) and entries(Action.MEETING_MINUTES)


def test_start_now_is_still_refused_for_someone_who_may_not_run_the_meeting(client):
    team = build_team()
    release = release_in_review(team)
    client.force_login(team["po"])
    response = client.post(
        reverse("meetings:meeting_create", kwargs=_kwargs(release)),
        {"start_now": "1", "duration_minutes": "15"},
    )
    assert response.status_code == 403
    assert not GateMeeting.objects.filter(release=release).exists()
    assert entries(Action.ACCESS_REFUSED)


# 9. Approval rows and "Your access" are short; the reasons are there on demand -----


def test_approval_rows_say_whom_they_wait_for_and_give_the_reason_on_demand(page):
    team = build_team()
    release = release_in_review(team)
    sign_in(page, "po")
    page.goto(release.get_absolute_url())
    row = page.locator('tr[data-activity="Test thresholds"]')
    why = row.get_by_test_id("why-not")
    assert "Waiting for" in why.inner_text()
    assert not why.get_by_text("You cannot").is_visible()
    why.locator("summary").click()
    assert why.get_by_text("You cannot").is_visible()
    access = page.locator("#h-access").locator("xpath=..")
    assert not access.get_by_text("You cannot edit the RAD").is_visible()
    assert access.locator("li.access-yes").count() >= 1


# 6. The release manager learns before submitting that it bars their own sign-off ---


def test_submitting_says_beforehand_that_it_bars_the_submitter_from_signing(page):
    team = build_team()
    release = services.release_create(
        product=team["product"],
        version="2.6.0",
        title="Refunds",
        release_type="normal",
        fixes=None,
        window_start=timezone.now() + timedelta(days=5),
        window_end=timezone.now() + timedelta(days=5, hours=2),
        actor=team["rm"],
    )
    services.rad_revise(release=release, content=complete_rad(), actor=team["dev"])
    sign_in(page, "rm")
    page.goto(release.get_absolute_url())
    note = page.get_by_test_id("submit-bars")
    assert "Go/no-go decision" in note.inner_text()
    button = page.get_by_role("button", name="Submit for review")
    assert button.get_attribute("aria-describedby") == "submit-bars"
    sign_in(page, "dev")  # the Responsible signs nothing: no such note
    page.goto(release.get_absolute_url())
    assert page.get_by_test_id("submit-bars").count() == 0


# 6. A halt-reason error keeps its own form open -----------------------------------


def test_a_missing_halt_reason_keeps_the_halt_form_open_with_the_error(page):
    team = build_team()
    release = release_open_now(team, version="2.8.0")
    sign_in(page, "po")
    page.goto(release.get_absolute_url())
    page.get_by_text("Halt this release").click()
    halt = page.locator("#halt-form")
    halt.get_by_label("Reason").fill("   ")
    halt.get_by_role("button", name="Halt").click()
    page.wait_for_url("**#halt-form")
    halt = page.locator("#halt-form")
    assert halt.get_attribute("open") is not None
    assert "Give a reason to halt it" in halt.get_by_role("alert").inner_text()
    assert halt.get_by_label("Reason").is_visible()
    release.refresh_from_db()
    assert release.status == "approved"


# Release list: sortable columns, "waiting for my signature", pages keep the filters ---


def test_the_release_list_sorts_filters_to_my_signatures_and_pages_keep_both(page):
    team = build_team()
    waiting = release_in_review(team)
    for n in range(30):
        release_of("payments-api", f"1.{n}.0", created_by=team["rm"])
    sign_in(page, "po")
    page.goto(reverse("approvals:release_list"))
    page.get_by_label("Waiting for my signature").check()
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    assert rows.count() == 1 and waiting.version in rows.first.inner_text()
    sign_in(page, "rm")
    page.goto(reverse("approvals:release_list") + "?q=1.")
    page.get_by_role("link", name="Deployment window").click()
    assert (
        page.locator("th[aria-sort=ascending]").inner_text().lower().startswith("deployment window")
    )
    page.get_by_role("link", name="Next →").click()
    assert "q=1." in page.url and "sort=window" in page.url and "page=2" in page.url
    shown = [r.inner_text() for r in page.locator("tbody tr td:first-child").all()]
    assert shown and all("1." in text for text in shown)
    page.get_by_role("link", name="Deployment window").click()  # again: reversed
    assert page.locator("th[aria-sort=descending]").count() == 1
    assert "page=" not in page.url  # a new order starts at page 1


def test_a_release_not_ready_offers_no_sign_button_only_the_reasons(page):
    team = build_team()
    release = release_in_review(team)
    FreezeWindow.objects.create(
        product=None,
        start=release.window_start - timedelta(hours=1),
        end=release.window_end + timedelta(hours=1),
        reason="Payments freeze",
        created_by=team["rm"],
    )
    sign_in(page, "po")
    scope = activity(release, "Business scope")
    page.goto(
        reverse("approvals:signoff", kwargs={**_kwargs(release), "activity_id": scope.pk})
        + "?decision=approve"
    )
    assert "Payments freeze" in page.get_by_test_id("not-ready").inner_text()
    assert page.get_by_role("button", name="Sign approval").count() == 0
    assert page.locator("input[type=password]").count() == 0


# 6. Resuming a halted release says "Resume", not "Approve" --------------------------


def test_a_halted_release_offers_resume_to_the_go_no_go_accountable(page):
    team = build_team()
    release = release_open_now(team, version="2.9.0")
    services.release_halt(release=release, actor=team["rm"], reason="Fraud spike")
    sign_in(page, "rm")
    page.goto(release.get_absolute_url())
    row = page.locator('tr[data-activity="Go/no-go decision"]')
    assert (
        row.get_by_role("link", name="Resume").count()
        + row.get_by_role("button", name="Resume").count()
        == 1
    )
    assert row.get_by_role("link", name="Approve").count() == 0
    assert row.get_by_role("button", name="Approve").count() == 0
