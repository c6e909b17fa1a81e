"""Issue 14, "Time": each person's time zone, one date format everywhere, UTC on hover and in exports.

Stored times are UTC. A person's zone (account page; the browser's on the first
sign-in) only changes how times are shown and how typed-in times are read; the
change log, exports, evidence packs and the API stay UTC ISO-8601.
"""

import csv
import io
import json
import re
import zipfile
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import UserTimeZone
from accounts.services import user_timezone_set
from accounts.timezones import BROWSER_SESSION_KEY, SESSION_KEY
from approvals.rules import window_warnings
from audit.models import Action, ChangeLogEntry
from meetings.models import Notification
from meetings.services import reminders_dispatch
from tests.factories import PASSWORD
from tests.helpers import entries, new_token, schedule

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def render(source: str, zone=UTC, **context) -> str:
    with timezone.override(zone):
        return Template(source).render(Context(context))


def zone_in(user, name: str) -> None:
    user_timezone_set(user=user, name=name, actor=user, reason="test set-up")


def stored_zone(user) -> str | None:
    row = UserTimeZone.objects.filter(user=user).first()
    return row.name if row else None


# --- the filter -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "shown"),
    [
        # Spring forward in Berlin: 02:00 CET becomes 03:00 CEST (01:00 UTC).
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "29 Mar 2026, 01:59 CET"),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "29 Mar 2026, 03:00 CEST"),
        # Fall back: 02:30 happens twice, told apart by the zone's abbreviation.
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "25 Oct 2026, 02:30 CEST"),
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "25 Oct 2026, 02:30 CET"),
    ],
)
def test_when_shows_the_readers_zone_across_daylight_saving_changes(instant, shown):
    html = render("{{ t|when }}", BERLIN, t=instant)
    iso = instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    title = instant.strftime("%-d %b %Y, %H:%M:%S UTC")
    assert html == f'<time datetime="{iso}" title="{title}">{shown}</time>'


def test_the_same_instant_reads_differently_per_zone_with_one_utc_title():
    instant = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    assert ">30 Nov 2026, 15:00 CET<" in render("{{ t|when }}", BERLIN, t=instant)
    assert ">30 Nov 2026, 23:00 JST<" in render("{{ t|when }}", TOKYO, t=instant)
    assert ">30 Nov 2026, 09:00 EST<" in render("{{ t|when }}", NEW_YORK, t=instant)
    assert ">30 Nov 2026, 14:00 UTC<" in render("{{ t|when }}", UTC, t=instant)
    for zone in (BERLIN, TOKYO, NEW_YORK, UTC):
        assert 'title="30 Nov 2026, 14:00:00 UTC"' in render("{{ t|when }}", zone, t=instant)


def test_when_day_takes_the_day_in_the_readers_zone_and_leaves_dates_alone():
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # already 1 December in Tokyo
    assert ">1 Dec 2026<" in render("{{ t|when_day }}", TOKYO, t=late)
    assert ">30 Nov 2026<" in render("{{ t|when_day }}", UTC, t=late)
    assert render("{{ d|when_day }}", TOKYO, d=date(2026, 12, 24)) == (
        '<time datetime="2026-12-24">24 Dec 2026</time>'
    )
    # A RAD keeps its rehearsal day as ISO text; anything else is shown as it is, escaped.
    assert render("{{ d|when_day }}", TOKYO, d="2026-11-25") == (
        '<time datetime="2026-11-25">25 Nov 2026</time>'
    )
    assert render("{{ d|when_day }}", TOKYO, d="<b>soon</b>") == "&lt;b&gt;soon&lt;/b&gt;"


def test_when_span_names_the_day_once_unless_the_span_crosses_midnight_for_the_reader():
    start = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    same_day = render("{{ a|when_span:b }}", BERLIN, a=start, b=start + timedelta(hours=2))
    assert re.sub("<[^>]+>", "", same_day) == "30 Nov 2026, 15:00 – 17:00 CET"
    # 22:00–00:00 UTC is 07:00–09:00 next day in Tokyo (one day) but crosses midnight in UTC.
    late = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
    tokyo = render("{{ a|when_span:b }}", TOKYO, a=late, b=late + timedelta(hours=2))
    assert re.sub("<[^>]+>", "", tokyo) == "1 Dec 2026, 07:00 – 09:00 JST"
    utc = render("{{ a|when_span:b }}", UTC, a=late, b=late + timedelta(hours=2))
    assert re.sub("<[^>]+>", "", utc) == "30 Nov 2026, 22:00 UTC – 1 Dec 2026, 00:00 UTC"


def test_empty_values_render_nothing_and_text_is_escaped_nowhere():
    assert render("[{{ t|when }}][{{ t|when_day }}][{{ t|when_utc }}]", BERLIN, t=None) == "[][][]"
    assert render("[{{ t|when }}]", BERLIN, t="<script>") == "[]"


def test_when_for_renders_in_the_recipients_zone_and_names_it(make_user):
    instant = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    tokyo = make_user("tokyo-reader")
    zone_in(tokyo, "Asia/Tokyo")
    # The zone active while rendering (a worker's, a sender's) does not matter.
    text = render("{{ t|when_for:u }}", BERLIN, t=instant, u=tokyo)
    assert text == "30 Nov 2026, 23:00 JST (Asia/Tokyo)"
    assert render("{{ t|when_for:u }}", BERLIN, t=instant, u=make_user("nobody-set")) == (
        "30 Nov 2026, 14:00 UTC (UTC)"
    )


# --- "one format": no template renders a datetime with |date -----------------------------

# Pure calendar days (no time, no zone) of the calendar page: a month or day label.
ALLOWED_DATE = {
    ("meetings/calendar.html", "day"),
    ("meetings/calendar.html", "first"),
    ("meetings/includes/calendar_grid.html", "day"),
    ("meetings/includes/calendar_grid.html", "days.0.0"),
    ("meetings/includes/calendar_grid.html", "d"),
}


def test_no_template_formats_a_time_outside_the_when_filters():
    found = []
    for path in TEMPLATES.rglob("*"):
        if not path.is_file() or path.suffix not in {".html", ".txt"}:
            continue
        relative = path.relative_to(TEMPLATES).as_posix()
        text = path.read_text()
        for match in re.finditer(r"([\w.]+)(?:\|\w+)*\|(date|time):", text):
            if (relative, match.group(1)) not in ALLOWED_DATE:
                found.append(f"{relative}: {match.group(0)}")
        # Pinning UTC (evidence packs) is fine; any other hand-made conversion is not.
        if re.search(r"\|utc\b", text) or re.search(r"{% timezone (?!\"UTC\")", text):
            found.append(f"{relative}: converts zones by hand")
    assert found == []


# --- the account page ---------------------------------------------------------------------


def test_the_account_page_offers_every_zone_with_the_current_one_selected(client, make_user):
    user = make_user("zoe")
    zone_in(user, "Europe/Berlin")
    client.force_login(user)
    page = client.get(reverse("accounts:account")).content.decode()
    assert '<option value="Europe/Berlin" selected>Europe/Berlin</option>' in page
    assert '<option value="Asia/Tokyo">' in page
    assert 'action="/account/time-zone/"' in page


def test_changing_the_zone_is_logged_with_before_and_after_and_shown_at_once(client, make_user):
    user = make_user("zoe")
    client.force_login(user)
    response = client.post(reverse("accounts:time_zone"), {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    assert stored_zone(user) == "Asia/Tokyo"
    assert client.session[SESSION_KEY] == "Asia/Tokyo"
    [entry] = entries(Action.TIMEZONE_CHANGED)
    assert (entry.actor_id, entry.before, entry.after) == (
        user.pk,
        {"time_zone": "UTC"},
        {"time_zone": "Asia/Tokyo"},
    )
    client.post(reverse("accounts:time_zone"), {"time_zone": "Europe/Berlin"})
    assert entries(Action.TIMEZONE_CHANGED)[-1].before == {"time_zone": "Asia/Tokyo"}
    # The same zone again changes nothing and logs nothing.
    client.post(reverse("accounts:time_zone"), {"time_zone": "Europe/Berlin"})
    assert len(entries(Action.TIMEZONE_CHANGED)) == 2


@pytest.mark.parametrize(
    "value",
    ["Mars/Olympus_Mons", "", "europe/berlin", "Europe/Berlin\n", "../../etc/passwd", "x" * 500],
)
def test_a_zone_that_is_not_an_iana_name_is_refused_with_a_field_error(client, make_user, value):
    user = make_user("zoe")
    zone_in(user, "Europe/Berlin")
    client.force_login(user)
    before = ChangeLogEntry.objects.count()
    response = client.post(reverse("accounts:time_zone"), {"time_zone": value})
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert stored_zone(user) == "Europe/Berlin"
    assert ChangeLogEntry.objects.count() == before


def test_the_service_refuses_a_bad_zone_too(make_user):
    user = make_user("zoe")
    with pytest.raises(ValueError):
        user_timezone_set(user=user, name="Nowhere/Land", actor=user, reason="attack")
    assert stored_zone(user) is None


def test_nobody_sets_someone_elses_zone(client, make_user):
    victim, attacker = make_user("victim"), make_user("attacker")
    zone_in(victim, "Europe/Berlin")
    client.force_login(attacker)
    client.post(
        reverse("accounts:time_zone"),
        {"time_zone": "Asia/Tokyo", "user": victim.pk, "user_id": victim.pk},
    )
    assert stored_zone(victim) == "Europe/Berlin"
    assert stored_zone(attacker) == "Asia/Tokyo"


def test_the_zone_form_needs_sign_in_post_and_csrf(make_user):
    anonymous = Client()
    response = anonymous.post(reverse("accounts:time_zone"), {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    user = make_user("zoe")
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(user)
    assert (
        csrf_client.post(reverse("accounts:time_zone"), {"time_zone": "Asia/Tokyo"}).status_code
        == 403
    )
    assert csrf_client.get(reverse("accounts:time_zone")).status_code == 405
    assert stored_zone(user) is None


def test_the_admin_offers_no_door_to_the_zone(client, make_user):
    admin = make_user("root", is_superuser=True, is_staff=True)
    client.force_login(admin)
    assert client.get("/admin/accounts/usertimezone/").status_code == 404


# --- the first sign-in takes the browser's zone ----------------------------------------------


def sign_in(client, username: str, browser_tz: str, password: str = PASSWORD):
    return client.post(
        reverse("login"),
        {"username": username, "password": password, "browser_tz": browser_tz},
    )


def test_the_first_sign_in_takes_the_browsers_zone_and_later_ones_do_not(client, make_user):
    user = make_user("zoe")
    assert sign_in(client, "zoe", "Asia/Tokyo").status_code == 302
    assert stored_zone(user) == "Asia/Tokyo"
    assert client.session[SESSION_KEY] == "Asia/Tokyo"
    [entry] = entries(Action.TIMEZONE_CHANGED)
    assert entry.reason == "First sign-in: time zone taken from the browser"
    client.logout()
    sign_in(client, "zoe", "Europe/Berlin")  # travelling: the setting stays
    assert stored_zone(user) == "Asia/Tokyo"
    assert client.session[SESSION_KEY] == "Asia/Tokyo"
    assert len(entries(Action.TIMEZONE_CHANGED)) == 1


@pytest.mark.parametrize(
    "value", ["", "Not/AZone", "<script>alert(1)</script>", "UTC+5", "x" * 300]
)
def test_an_invalid_browser_zone_is_ignored_and_times_stay_utc(client, make_user, value):
    user = make_user("zoe")
    assert sign_in(client, "zoe", value).status_code == 302
    assert stored_zone(user) is None
    assert client.session[SESSION_KEY] == "UTC"
    assert entries(Action.TIMEZONE_CHANGED) == []


def test_a_failed_sign_in_sets_no_zone(client, make_user):
    user = make_user("zoe")
    assert sign_in(client, "zoe", "Asia/Tokyo", password="wrong").status_code == 200
    assert stored_zone(user) is None


def test_the_sign_in_page_carries_the_browser_zone_field_and_its_script(client):
    page = client.get(reverse("login")).content.decode()
    assert '<input type="hidden" name="browser_tz" value="">' in page
    assert "js/browser_tz" in page
    assert "<script>" not in page  # no inline script: the CSP forbids it


def test_the_single_sign_on_start_keeps_a_valid_browser_zone_for_the_callback(
    client, make_user, settings
):
    settings.OIDC_ENABLED = True
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://idp.example.test/authorize"
    settings.OIDC_RP_CLIENT_ID = "relapp"
    client.get(reverse("accounts:oidc_start"), {"tz": "Not/AZone"})
    assert BROWSER_SESSION_KEY not in client.session
    response = client.get(reverse("accounts:oidc_start"), {"tz": "America/New_York"})
    assert response.status_code == 302
    assert client.session[BROWSER_SESSION_KEY] == "America/New_York"
    # The callback signs in (Django's login keeps the session's data): the zone is taken.
    user = make_user("sso-user")
    client.force_login(user)
    assert stored_zone(user) == "America/New_York"
    assert BROWSER_SESSION_KEY not in client.session


# --- pages in the reader's zone --------------------------------------------------------------


def test_a_reader_in_tokyo_sees_the_window_in_tokyo_time_with_the_utc_title(client, team, release):
    start = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)
    type(release).objects.filter(pk=release.pk).update(
        window_start=start, window_end=start + timedelta(hours=2)
    )
    zone_in(team["po"], "Asia/Tokyo")
    client.force_login(team["po"])
    page = client.get(release.get_absolute_url()).content.decode()
    assert (
        '<time datetime="2027-03-01T01:00:00Z" title="1 Mar 2027, 01:00:00 UTC">'
        "1 Mar 2027, 10:00</time> – "
        '<time datetime="2027-03-01T03:00:00Z" title="1 Mar 2027, 03:00:00 UTC">12:00 JST</time>'
    ) in page
    listing = client.get(reverse("approvals:release_list")).content.decode()
    assert "1 Mar 2027, 10:00</time>" in listing and "12:00 JST</time>" in listing
    # A reader without a zone sees the same instant in UTC.
    client.force_login(team["qa"])
    page = client.get(release.get_absolute_url()).content.decode()
    assert "1 Mar 2027, 01:00</time> – " in page and "03:00 UTC</time>" in page


def test_a_user_in_new_york_enters_a_window_in_new_york_time_and_gets_it_back(
    client, team, release
):
    zone_in(team["rm"], "America/New_York")
    client.force_login(team["rm"])
    url = f"/releases/{release.product.slug}/{release.version}/window/"
    form = client.get(url).content.decode()
    assert "Times are in America/New_York." in form
    day = (timezone.now() + timedelta(days=6)).astimezone(NEW_YORK).date()
    local_start = datetime(day.year, day.month, day.day, 9, 0, tzinfo=NEW_YORK)
    response = client.post(
        url,
        {
            "window_start": f"{day.isoformat()}T09:00",
            "window_end": f"{day.isoformat()}T11:00",
            "reason": "Customer asked for the New York morning",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    release.refresh_from_db()
    assert release.window_start == local_start.astimezone(UTC)
    assert release.window_end == (local_start + timedelta(hours=2)).astimezone(UTC)
    again = client.get(url).content.decode()
    assert f'value="{day.isoformat()} 09:00"' in again
    assert f'value="{day.isoformat()} 11:00"' in again
    shown = client.get(release.get_absolute_url()).content.decode()
    abbreviation = local_start.tzname()  # EST or EDT
    assert f"{day.day} {local_start:%b %Y}, 09:00</time>" in shown
    assert f"11:00 {abbreviation}</time>" in shown


# --- exports, evidence packs, the API and e-mails ----------------------------------------------


ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)$")


def test_change_log_exports_stay_utc_for_a_reader_in_tokyo(
    client, team, release, changelog_auditor
):
    zone_in(changelog_auditor, "Asia/Tokyo")
    client.force_login(changelog_auditor)
    rows = list(
        csv.DictReader(
            io.StringIO(
                b"".join(
                    client.get(reverse("evidence:changelog_export_csv")).streaming_content
                ).decode()
            )
        )
    )
    assert rows
    times = [row["created_at"] for row in rows if row["seq"].isdigit()]
    assert times and [t for t in times if not ISO_UTC.match(t)] == []
    payload = b"".join(client.get(reverse("evidence:changelog_export_json")).streaming_content)
    documents = json.loads(payload)
    listed = documents["entries"] if isinstance(documents, dict) else documents
    stamps = [e["created_at"] for e in listed if isinstance(e, dict) and "created_at" in e]
    assert stamps and [t for t in stamps if not ISO_UTC.match(t)] == []


def test_the_evidence_pack_stays_utc_for_a_reader_in_tokyo(
    client, team, release, changelog_auditor
):
    zone_in(changelog_auditor, "Asia/Tokyo")
    client.force_login(changelog_auditor)
    response = client.get(
        reverse("evidence:evidence_pack", args=[release.product.slug, release.version])
    )
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    pack = zipfile.ZipFile(io.BytesIO(content))
    text = "\n".join(
        pack.read(name).decode(errors="replace")
        for name in pack.namelist()
        if name.endswith((".html", ".txt", ".json", ".csv"))
    )
    assert "JST" not in text and "+09:00" not in text
    created = release.created_at.astimezone(UTC)
    assert (
        created.strftime("%Y-%m-%d %H:%M:%S UTC") in text
        or created.strftime("%Y-%m-%dT%H:%M:%S") in text
    )


def test_the_api_answers_in_utc_even_to_a_signed_in_reader_in_tokyo(client, team, release):
    token = new_token(team)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    url = f"/api/v1/releases/{release.product.slug}/{release.version}/"
    by_token = api.get(url).json()
    zone_in(team["rm"], "Asia/Tokyo")
    client.force_login(team["rm"])
    browsed = client.get(url, HTTP_ACCEPT="application/json")
    text = json.dumps(by_token)
    assert "+09:00" not in text and "+09:00" not in browsed.content.decode()
    assert browsed.status_code == 200
    window = by_token["deployment_window"]["start"]
    assert ISO_UTC.match(window), window
    assert browsed.json()["deployment_window"] == by_token["deployment_window"]


def test_a_reminder_e_mail_shows_each_recipient_their_own_zone(team, release):
    zone_in(team["po"], "Asia/Tokyo")
    zone_in(team["qa"], "Europe/Berlin")
    meeting = schedule(release, team, hours=0.5)
    with timezone.override(NEW_YORK):  # the sender's zone plays no part
        reminders_dispatch()
    mails = {
        m.to[0].split("@")[0]: m
        for m in mail.outbox
        if m.subject.startswith("Reminder: release gate")
    }
    for who, zone, name in [
        ("po", TOKYO, "Asia/Tokyo"),
        ("qa", BERLIN, "Europe/Berlin"),
        ("sre", UTC, "UTC"),
    ]:
        local = meeting.start.astimezone(zone)
        expected = f"{local.day} {local:%b %Y, %H:%M} {local.tzname()} ({name})"
        message = mails[who]
        assert expected in message.subject, (who, message.subject)
        assert expected in message.body
        assert expected in message.alternatives[0][0]


# --- texts written once for everyone say UTC, whoever's zone was active -------------------------


def test_a_past_window_warning_typed_in_new_york_names_the_utc_time():
    typed = datetime(2026, 11, 30, 9, 0, tzinfo=NEW_YORK)  # 14:00 UTC
    [warning] = window_warnings(
        start=typed,
        end=typed + timedelta(hours=2),
        now=datetime(2026, 12, 1, tzinfo=UTC),
        freezes=[],
        is_hotfix=False,
    )
    assert "(2026-11-30 14:00 UTC)" in warning


def test_a_meeting_notification_scheduled_from_tokyo_says_utc(team, release):
    zone_in(team["rm"], "Asia/Tokyo")
    with timezone.override(TOKYO):  # the scheduler's request
        meeting = schedule(release, team, hours=30)
    start = meeting.start.astimezone(UTC)
    titles = set(Notification.objects.values_list("title", flat=True))
    assert f"Gate meeting for {release} on {start:%a %d %b %H:%M} UTC" in titles


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu"])
def test_the_filters_write_what_djangos_date_format_writes(zone, language):
    """The filters format days and clocks without Django's format parser (they run a
    hundred times a page): every month, single- and double-digit days and hours, both
    sides of a clock change and a year before 1000 read exactly as "j M Y, H:i" did."""
    from django.utils import translation
    from django.utils.dateformat import format as date_format

    from accounts.templatetags.when import _utc_title, when_day, when_for, when_text

    instants = [
        datetime(2026, month, day, hour, 7, 9, tzinfo=UTC)
        for month in range(1, 13)
        for day, hour in ((1, 0), (9, 9), (28, 23))
    ]
    instants += [
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
        datetime(987, 6, 5, 4, 3, 2, tzinfo=UTC),
    ]
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
        for instant in instants:
            local = timezone.localtime(instant)
            assert when_text(instant) == f"{date_format(local, 'j M Y, H:i')} {local.tzname()}"
            assert date_format(local, "j M Y") in when_day(instant)
            assert _utc_title(instant) == date_format(instant, "j M Y, H:i:s") + " UTC"
            assert when_day(instant.date()).endswith(
                f">{date_format(instant.date(), 'j M Y')}</time>"
            )
    assert when_for(date(2026, 11, 30), None) == "30 Nov 2026"
