"""Pages that fetch only what they show (issue 16): the overview's cards, the release
page's revision list, and the release list paged by keyset instead of OFFSET."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals import services
from approvals.models import RadRevision, Release
from approvals.selectors import OVERVIEW_WAITING, my_signoffs, overview_for_user
from meetings.models import GateMeeting
from meetings.services import calendar_feed_regenerate
from tests.factories import (
    ProductFactory,
    complete_rad,
    release_history_bulk,
    release_in_review,
    user_create,
)
from tests.helpers import approve_all, sign

pytestmark = pytest.mark.django_db

CONTENT_READ = '"approvals_radrevision"."content"'


def _get(client, url: str):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode(), [q["sql"] for q in queries.captured_queries]


# --- the overview ---------------------------------------------------------------


def test_overview_lists_five_waiting_and_counts_all_of_them(client, team):
    releases = [release_in_review(team, version=f"4.{n}.0") for n in range(OVERVIEW_WAITING + 2)]
    sign(releases[0], team["po"], "Business scope")  # signed: no longer waiting
    client.force_login(team["po"])
    body, queries = _get(client, reverse("home"))
    waiting = len(releases) - 1
    assert body.count("?decision=approve") == OVERVIEW_WAITING
    assert f"All my sign-offs ({waiting})" in body
    assert "4.0.0" not in body.split("h-meetings")[0]  # the signed one is not offered
    # LIMIT in SQL: the waiting sign-offs are never all fetched to keep five.
    assert any("LIMIT 5" in sql for sql in queries)


def test_overview_counts_the_same_items_as_my_signoffs(client, team):
    """A halted release waits only for its go/no-go, a hotfix too: the overview's
    COUNT must skip what My sign-offs skips, or the two pages disagree."""
    normal = release_in_review(team, version="5.0.0")
    halted = release_in_review(team, version="5.1.0")
    approve_all(halted, team)
    services.release_halt(release=halted, actor=team["rm"], reason="Incident")
    hotfix = release_in_review(team, version="5.2.0", release_type="hotfix", fixes=normal)
    for user in (team["po"], team["rm"], team["qa"], team["dev"]):
        full = [(r.pk, a.pk, n) for r, a, n in my_signoffs(user=user).waiting]
        overview = overview_for_user(user=user)
        assert overview.waiting_count == len(full), user
        assert [(r.pk, a.pk, n) for r, a, n in overview.waiting] == full[:OVERVIEW_WAITING]
    po = overview_for_user(user=team["po"])
    assert {r.pk for r, _, _ in po.waiting} == {normal.pk}  # not the halted one, not the hotfix
    assert hotfix.pk in {r.pk for r, _, _ in overview_for_user(user=team["rm"]).waiting}


def test_overview_shows_the_next_five_meetings_only(client, team, release):
    now = timezone.now()
    for n in range(8):
        GateMeeting.objects.create(
            release=release, start=now + timedelta(days=1, hours=n), created_by=team["rm"]
        )
    GateMeeting.objects.create(
        release=release, start=now - timedelta(days=1), created_by=team["rm"]
    )
    client.force_login(team["po"])
    body, queries = _get(client, reverse("home"))
    card = body.split('id="h-meetings"')[1].split("</section>")[0]
    assert card.count("<li>") == 5  # upcoming only, soonest first
    assert any("gatemeeting" in sql and "LIMIT 5" in sql for sql in queries)


def test_overview_meetings_merge_the_attended_and_the_invited_in_start_order(team, release):
    """The card reads the meetings of the user's releases and those they were invited
    to by name separately: merged soonest first, each once, and nobody else's."""
    from meetings.selectors import upcoming_meetings_for

    now = timezone.now()
    other = release_in_review(team, version="9.0.0")
    outsider = user_create("outsider")
    at = {
        n: GateMeeting.objects.create(
            release=release, start=now + timedelta(hours=n), created_by=team["rm"]
        )
        for n in (2, 4, 6)
    }
    invited_early = GateMeeting.objects.create(
        release=other, start=now + timedelta(hours=1), created_by=team["rm"]
    )
    invited_late = GateMeeting.objects.create(
        release=other, start=now + timedelta(hours=5), created_by=team["rm"]
    )
    for meeting in (invited_early, invited_late, at[4]):  # at[4]: attended and invited
        meeting.extra_attendees.add(outsider)
    # The outsider takes part in no release: only the meetings they were invited to.
    assert upcoming_meetings_for(user=outsider, limit=5, now=now) == [
        invited_early,
        at[4],
        invited_late,
    ]
    assert upcoming_meetings_for(user=outsider, limit=2, now=now) == [invited_early, at[4]]
    # A stranger (no assignment, no invitation) sees none of them.
    assert upcoming_meetings_for(user=user_create("stranger"), limit=5, now=now) == []


# --- the release page's revisions ---------------------------------------------------


def _revise(release, author, times: int) -> None:
    for number in range(2, 2 + times):
        content = complete_rad(scope=f"Scope of revision {number}")
        RadRevision.objects.create(
            release=release, number=number, author=author, content=content, sha256="0" * 64
        )


def _content_reads(queries: list[str]) -> list[str]:
    reads = [sql for sql in queries if CONTENT_READ in sql]
    assert all(sql.endswith("LIMIT 1") for sql in reads), reads  # one revision per read
    return reads


def test_release_page_loads_only_the_shown_revisions_content(client, team, release):
    _revise(release, team["dev"], 4)  # revisions 1..5
    client.force_login(team["po"])
    body, queries = _get(client, release.get_absolute_url())
    assert "Revision 5" in body and "Revision 1" in body
    assert "Scope of revision 5" in body
    assert _content_reads(queries)
    body, queries = _get(client, release.get_absolute_url() + "?revision=3")
    assert "Scope of revision 3" in body and "You are reading revision 3" in body
    assert any('"number" = 3' in sql for sql in _content_reads(queries))
    body, queries = _get(client, reverse("approvals:rad_diff", args=["payments-api", "2.4.0"]))
    reads = _content_reads(queries)
    assert any('"number" = 4' in sql for sql in reads)
    assert any('"number" = 5' in sql for sql in reads)


def test_release_page_reads_each_of_its_tables_once(client, team, release):
    """The progress panel, the matrix, the access panel and the rhythm panel share what
    the page read: the RACI rows, the deployments, the gate checks and the revision
    list each come from one query, for the reader with a role and for one without."""
    _revise(release, team["dev"], 2)
    for reader in (team["po"], team["rm"]):
        client.force_login(reader)
        client.get(release.get_absolute_url())
        body, queries = _get(client, release.get_absolute_url())
        assert "Business scope" in body

        tables = ("raci_activity", "raci_assignment", "approvals_deployment", "approvals_gatecheck")
        reads = {
            table: [sql for sql in queries if sql.startswith("SELECT") and f'FROM "{table}"' in sql]
            for table in tables
        }
        for table in tables:
            assert len(reads[table]) == 1, (reader, reads[table])
        # The access panel asks for the reader's role groups once, not once per group.
        roles = [sql for sql in queries if '"auth_group"."name"' in sql.split("WHERE", 1)[-1]]
        assert len(roles) == 1, (reader, roles)


def test_release_page_answers_404_for_a_revision_that_does_not_exist(client, team, release):
    client.force_login(team["po"])
    assert client.get(release.get_absolute_url() + "?revision=9").status_code == 404
    assert client.get(release.get_absolute_url() + "?revision=x").status_code == 404


# --- the release list by keyset ----------------------------------------------------


@pytest.fixture
def many(team):
    product = ProductFactory(name="Bulk", slug="bulk")
    made = release_history_bulk(product=product, created_by=team["rm"], releases=70, deployments=0)
    with connection.cursor() as cursor:  # ties on created_at: the id must break them
        cursor.execute(
            "UPDATE approvals_release SET created_at = '2026-01-01T00:00:00Z' "
            "WHERE product_id = %s AND id %% 3 = 0",
            [product.pk],
        )
    return made


def _older_link(body: str) -> str | None:
    found = re.search(r'href="\?([^"]*before=\d+)" rel="next"', body)
    return "?" + found.group(1).replace("&amp;", "&") if found else None


def test_release_list_pages_by_keyset_through_every_release_once(client, team, many):
    client.force_login(team["rm"])
    url, seen, pages = reverse("approvals:release_list") + "?product=bulk", [], 0
    link = ""
    while link is not None:
        body, queries = _get(client, url + link.replace("?", "&", 1) if link else url)
        assert not any("OFFSET" in sql for sql in queries)
        assert "70 releases" in body
        seen += re.findall(r"<strong>Bulk</strong> ([\d.]+)</a>", body)
        link = _older_link(body)
        if link:
            assert "product=bulk" in link  # the filters are kept
        pages += 1
    assert pages == 3
    assert len(seen) == 70 and len(set(seen)) == 70
    expected = list(
        Release.objects.filter(product__slug="bulk")
        .order_by("-created_at", "-id")
        .values_list("version", flat=True)
    )
    assert seen == expected


def test_release_list_newer_link_returns_to_the_previous_page(client, team, many):
    client.force_login(team["rm"])
    url = reverse("approvals:release_list")
    first, _ = _get(client, url)
    second, _ = _get(client, url + _older_link(first))
    newer = re.search(r'href="\?(after=\d+)" rel="prev"', second).group(1)
    back, _ = _get(client, url + "?" + newer)
    rows = re.compile(r"<strong>\w[\w ]*</strong> ([\d.]+)</a>")
    assert rows.findall(back) == rows.findall(first)


@pytest.mark.parametrize("cursor", ["before=abc", "before=99999999", "after=-1", "before=1e9"])
def test_release_list_ignores_a_bad_cursor(client, team, many, cursor):
    client.force_login(team["rm"])
    first, _ = _get(client, reverse("approvals:release_list"))
    body, _ = _get(client, reverse("approvals:release_list") + "?" + cursor)
    rows = re.compile(r"<strong>\w[\w ]*</strong> ([\d.]+)</a>")
    assert rows.findall(body) == rows.findall(first)


def test_release_list_keyset_shows_only_visible_releases(client, team, many):
    """A cursor naming a release the user may not see reveals nothing about it."""
    client.force_login(team["po"])  # sees Payments API releases only
    mine = release_in_review(team)
    hidden = many[5]
    body, _ = _get(client, reverse("approvals:release_list") + f"?before={hidden.pk}")
    assert "Bulk" not in body
    body, _ = _get(client, reverse("approvals:release_list"))
    assert str(mine.version) in body and "1 release" in body


def test_a_bookmarked_page_number_redirects_to_the_same_releases_by_keyset(client, team, many):
    """`?page=N` from before the default order paged by keyset lands on the cursor that
    shows the very releases page N showed (filters kept), not silently on the first page."""
    client.force_login(team["rm"])
    url = reverse("approvals:release_list")
    expected = list(
        Release.objects.filter(product__slug="bulk")
        .order_by("-created_at", "-id")
        .values_list("version", flat=True)
    )
    response = client.get(url, {"product": "bulk", "page": "2"})
    assert response.status_code == 302
    assert "product=bulk" in response["Location"] and "page=" not in response["Location"]
    body, queries = _get(client, response["Location"])
    rows = re.compile(r"<strong>Bulk</strong> ([\d.]+)</a>")
    assert rows.findall(body) == expected[25:50]
    assert not any("OFFSET" in sql for sql in queries)  # the landing page itself is keyset
    first = client.get(url, {"product": "bulk", "page": "1"})
    assert first.status_code == 302 and "before=" not in first["Location"]


@pytest.mark.parametrize("page", ["99", "abc", "99999999999999999999"])
def test_a_page_number_past_the_end_says_so_and_shows_the_newest(client, team, many, page):
    client.force_login(team["rm"])
    response = client.get(reverse("approvals:release_list"), {"page": page}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain and "before=" not in response.redirect_chain[-1][0]
    body = response.content.decode()
    if page == "99":
        assert "Page 99 no longer exists" in body
    rows = re.compile(r"<strong>\w[\w ]*</strong> ([\d.]+)</a>")
    first, _ = _get(client, reverse("approvals:release_list"))
    assert rows.findall(body) == rows.findall(first)


def test_a_page_number_names_no_release_the_user_may_not_see(client, team, many):
    """po sees one release: page 2 is past the end for them whatever others see."""
    client.force_login(team["po"])
    release_in_review(team)
    response = client.get(reverse("approvals:release_list"), {"page": "2"})
    assert response.status_code == 302 and "before=" not in response["Location"]


# --- the calendar feed's time window -------------------------------------------------


def test_calendar_feed_carries_only_its_time_window(client, team, release):
    """90 days back and 400 ahead (meetings.calendar_views.FEED_PAST_DAYS/FUTURE_DAYS):
    a feed that grew with every meeting ever held would slow every calendar poll."""
    now = timezone.now()
    places = ((-200, "Zanzibar"), (-30, "Lastmonth"), (30, "Nextmonth"), (500, "Quokkaville"))
    for days, where in places:
        GateMeeting.objects.create(
            release=release, start=now + timedelta(days=days), location=where, created_by=team["rm"]
        )
    token = calendar_feed_regenerate(user=team["po"])
    body, queries = _get(client, reverse("meetings:calendar_feed", args=[token]))
    unfolded = body.replace("\r\n ", "")
    assert "Lastmonth" in unfolded and "Nextmonth" in unfolded
    assert "Zanzibar" not in unfolded and "Quokkaville" not in unfolded
    assert any("gatemeeting" in sql and '"start" <' in sql for sql in queries)  # bound in SQL


# --- the change log's filters ------------------------------------------------------------


def _filter_form(body: str) -> str:
    form = body[body.index('class="card cl-filters"') :]
    form = form[: form.index("</form>")]
    return re.sub(r'value="[^"]*"', "", form)


def test_change_log_filters_stay_the_same_size_with_many_releases_and_people(
    client, team, changelog_auditor, filler_entries
):
    client.force_login(changelog_auditor)
    url = reverse("evidence:changelog_list")
    filler_entries(3, actor=team["rm"])
    small = _filter_form(client.get(url).content.decode())
    # Products are few and stay a <select>; releases and people grow without bound.
    release_history_bulk(
        product=team["product"], created_by=team["rm"], releases=300, deployments=0
    )
    for n in range(100):
        user_create(f"person{n:03d}")
    body = client.get(url).content.decode()
    assert _filter_form(body) == small  # no <option> per release or per person
    assert "person099" not in body and "0.299.299" not in body


def test_change_log_pages_by_seq_and_keeps_the_filters(
    client, team, changelog_auditor, filler_entries
):
    filler_entries(120, actor=team["rm"])
    client.force_login(changelog_auditor)
    url = reverse("evidence:changelog_list") + "?actor=rm"
    body, queries = _get(client, url)
    older = re.search(r'href="\?([^"]*before=\d+)"', body).group(1).replace("&amp;", "&")
    assert "actor=rm" in older
    assert not any("OFFSET" in sql for sql in queries)
    second, queries = _get(client, reverse("evidence:changelog_list") + "?" + older)
    assert not any("OFFSET" in sql for sql in queries)
    assert "Newer entries" in second
