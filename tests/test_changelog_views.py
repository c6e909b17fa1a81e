"""Auditor pages: who may read the log, filters, keyset pages, one entry."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.changelog import changelog_record
from audit.models import Action, ChangeLogEntry
from audit.selectors import ChangelogFilters, changelog_page
from tests.factories import release_of

pytestmark = pytest.mark.django_db

LIST = reverse("evidence:changelog_list")
CSV = reverse("evidence:changelog_export_csv")
JSON = reverse("evidence:changelog_export_json")


def entry_url(seq: int) -> str:
    return reverse("evidence:changelog_entry", args=[seq])


def seqs(response) -> list[int]:
    return [entry.seq for entry in response.context["page"].entries]


# --- access ---------------------------------------------------------------


@pytest.mark.parametrize("url", [LIST, entry_url(1), CSV, JSON])
def test_it_lets_an_auditor_read(client, changelog_auditor, filler_entries, url):
    filler_entries(1)
    client.force_login(changelog_auditor)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", [LIST, entry_url(1), CSV, JSON])
def test_it_refuses_a_user_without_the_permission_and_logs_it(
    client, outsider, filler_entries, url
):
    filler_entries(1)
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    refusal = ChangeLogEntry.objects.order_by("-seq").first()
    assert refusal.action == Action.ACCESS_REFUSED
    assert refusal.actor == outsider
    assert refusal.after == {"method": "GET", "path": url}


@pytest.mark.parametrize("url", [LIST, entry_url(1), CSV, JSON])
def test_it_sends_anonymous_visitors_to_sign_in(client, filler_entries, url):
    filler_entries(1)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("url", [LIST, entry_url(1), CSV, JSON])
def test_it_is_read_only(client, changelog_auditor, filler_entries, url):
    filler_entries(1)
    client.force_login(changelog_auditor)
    assert client.post(url).status_code == 405


def test_release_managers_read_it_through_their_group(client, release_manager, filler_entries):
    permission = Permission.objects.get(codename="view_changelogentry")
    Group.objects.get(name="Release managers").permissions.add(permission)
    filler_entries(1)
    client.force_login(release_manager)
    assert client.get(LIST).status_code == 200


def test_an_unknown_entry_is_404(client, changelog_auditor):
    client.force_login(changelog_auditor)
    assert client.get(entry_url(999)).status_code == 404


# --- keyset pagination ----------------------------------------------------


def test_pages_go_back_in_time_by_keyset(client, changelog_auditor, filler_entries):
    filler_entries(119)  # the auditor's sign-in below is entry 120
    client.force_login(changelog_auditor)
    first = client.get(LIST)
    assert seqs(first) == list(range(120, 70, -1))
    page = first.context["page"]
    assert page.newer_after is None and page.older_before == 71
    assert 'href="?before=71"' in first.content.decode()

    second = client.get(LIST, {"before": 71})
    assert seqs(second) == list(range(70, 20, -1))
    assert second.context["page"].newer_after == 70
    assert second.context["page"].older_before == 21

    last = client.get(LIST, {"before": 21})
    assert seqs(last) == list(range(20, 0, -1))
    assert last.context["page"].older_before is None

    back = client.get(LIST, {"after": 20})
    assert seqs(back) == list(range(70, 20, -1))
    newest = client.get(LIST, {"after": 70})
    assert seqs(newest) == list(range(120, 70, -1))
    assert newest.context["page"].newer_after is None


def test_pages_never_use_offset(filler_entries):
    filler_entries(30)
    with CaptureQueriesContext(connection) as queries:
        changelog_page(filters=ChangelogFilters(), before_seq=20, limit=5)
        changelog_page(filters=ChangelogFilters(), after_seq=5, limit=5)
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "OFFSET" not in sql.upper()
    assert '"seq" < 20' in sql and '"seq" > 5' in sql


def test_a_page_costs_the_same_queries_at_any_size(client, changelog_auditor, filler_entries):
    client.force_login(changelog_auditor)
    release = release_of("pay", "1.0.0", created_by=changelog_auditor)
    filler_entries(5, release=release)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(LIST, {"release": release.pk, "before": 10_000})
        assert response.status_code == 200
        return len(queries.captured_queries)

    small = count()
    filler_entries(120, release=release)
    assert count() == small
    # session, user, user and group permissions, release filter lookup,
    # page, newer-exists, release and product choices for the form, the
    # notification bell's unread count.
    assert small == 10


# --- filters --------------------------------------------------------------


@pytest.fixture
def two_releases(changelog_auditor, make_user):
    dev = make_user("dev")
    pay = release_of("pay", "1.0.0", created_by=dev)
    shop = release_of("shop", "2.0.0", created_by=dev)
    changelog_record(action=Action.RELEASE_SUBMITTED, actor=dev, release=pay)  # 1
    changelog_record(action=Action.COMMENT_ADDED, actor=dev, release=shop)  # 2
    changelog_record(action=Action.RELEASE_APPROVED, actor=changelog_auditor, release=pay)  # 3
    changelog_record(action=Action.COMMENT_ADDED)  # 4, no release
    return pay, shop


def test_it_filters_by_release(client, changelog_auditor, two_releases):
    pay, _ = two_releases
    client.force_login(changelog_auditor)
    assert seqs(client.get(LIST, {"release": pay.pk})) == [3, 1]


def test_it_filters_by_product_slug(client, changelog_auditor, two_releases):
    client.force_login(changelog_auditor)
    assert seqs(client.get(LIST, {"product": "shop"})) == [2]


def test_it_filters_by_actor_username(client, changelog_auditor, two_releases):
    client.force_login(changelog_auditor)  # entry 5: the auditor signs in
    assert seqs(client.get(LIST, {"actor": "dev"})) == [2, 1]
    assert seqs(client.get(LIST, {"actor": "auditor"})) == [5, 3]


def test_it_filters_by_action(client, changelog_auditor, two_releases):
    client.force_login(changelog_auditor)
    assert seqs(client.get(LIST, {"action": Action.COMMENT_ADDED})) == [4, 2]


def test_it_filters_by_date_range(client, changelog_auditor, two_releases):
    client.force_login(changelog_auditor)
    today = timezone.localdate()
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    assert seqs(client.get(LIST, {"date_from": today, "date_to": today})) == [5, 4, 3, 2, 1]
    assert seqs(client.get(LIST, {"date_to": yesterday})) == []
    assert seqs(client.get(LIST, {"date_from": tomorrow})) == []


def test_filters_combine_and_survive_paging(client, changelog_auditor, two_releases):
    pay, _ = two_releases
    client.force_login(changelog_auditor)
    response = client.get(LIST, {"release": pay.pk, "action": Action.RELEASE_APPROVED})
    assert seqs(response) == [3]
    page = changelog_page(filters=ChangelogFilters(release=pay), limit=1)
    assert page.older_before == 3
    body = client.get(LIST, {"release": pay.pk, "before": 3}).content.decode()
    assert f'href="?release={pay.pk}&amp;after=1"' in body


def test_bad_filters_show_errors_instead_of_entries(client, changelog_auditor, filler_entries):
    filler_entries(2)
    client.force_login(changelog_auditor)
    response = client.get(LIST, {"actor": "nobody", "date_from": "2026-02-01"})
    assert response.status_code == 200
    assert response.context["page"] is None
    assert "No user has this username." in response.content.decode()
    ended_before_start = client.get(LIST, {"date_from": "2026-02-02", "date_to": "2026-02-01"})
    assert "The end date is before the start date." in ended_before_start.content.decode()
    assert client.get(CSV, {"actor": "nobody"}).status_code == 400


def test_the_list_is_accessible_markup(client, changelog_auditor, two_releases):
    client.force_login(changelog_auditor)
    body = client.get(LIST).content.decode()
    assert '<label for="id_release">Release</label>' in body
    assert '<label for="id_actor">Actor</label>' in body
    assert '<th scope="col">Action</th>' in body
    assert 'role="search"' in body
    assert 'aria-label="Change-log pages"' in body


# --- one entry ------------------------------------------------------------


def test_an_entry_shows_before_and_after_field_by_field(client, changelog_auditor, make_user):
    dev = make_user("dev")
    release = release_of("pay", "1.0.0", created_by=dev)
    entry = changelog_record(
        action=Action.RELEASE_APPROVED,
        actor=dev,
        release=release,
        before={"status": "in_review", "approvers": ["po"]},
        after={"status": "approved", "approvers": ["po"], "approved_by": "dev"},
        reason="All sign-offs recorded",
    )
    client.force_login(changelog_auditor)
    response = client.get(entry_url(entry.seq))
    diff = {row.name: row for row in response.context["diff"]}
    assert diff["status"].before == "in_review" and diff["status"].after == "approved"
    assert diff["status"].changed
    assert not diff["approvers"].changed
    assert diff["approved_by"].before is None and diff["approved_by"].changed
    body = response.content.decode()
    assert "Entry #1: Release approved" in body
    assert "All sign-offs recorded" in body
    assert "Pay 1.0.0" in body
    assert "Verified" in body
    assert entry.hash in body


def test_a_tampered_entry_says_it_does_not_verify(client, changelog_auditor, filler_entries):
    filler_entries(3)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE audit_changelogentry SET reason = 'edited' WHERE seq = 2")
        cursor.execute("SET LOCAL session_replication_role = origin")
    client.force_login(changelog_auditor)
    body = client.get(entry_url(2)).content.decode()
    assert "Does not verify" in body
    assert "stored hash does not match this entry's contents" in body
    assert "Verified" in client.get(entry_url(3)).content.decode()


# --- the release filter: a search field, not a list of every release ------------------


def test_the_release_filter_lists_no_releases_whatever_their_number(client, changelog_auditor):
    for number in range(30):
        release_of("pay", f"1.{number}.0", created_by=changelog_auditor)
    client.force_login(changelog_auditor)
    page = client.get(LIST).content.decode()
    assert "1.29.0" not in page and "<select" not in page.split('name="release"')[0][-200:]
    assert 'list="release-options"' in page


def test_a_release_is_found_by_product_and_version_or_by_number(
    client, changelog_auditor, two_releases
):
    pay, _ = two_releases
    client.force_login(changelog_auditor)
    assert seqs(client.get(LIST, {"release": "pay 1.0.0"})) == [3, 1]
    assert seqs(client.get(LIST, {"release": "PAY 1.0.0"})) == [3, 1]
    by_number = client.get(LIST, {"release": pay.pk})
    assert seqs(by_number) == [3, 1]
    assert 'value="pay 1.0.0"' in by_number.content.decode()  # shown as typed


def test_an_unknown_release_is_a_field_error_not_an_empty_page(client, changelog_auditor):
    client.force_login(changelog_auditor)
    page = client.get(LIST, {"release": "pay 9.9.9"}).content.decode()
    assert "No release matches" in page
    assert 'value="pay 9.9.9"' in page  # what was typed is kept


def test_suggestions_match_every_word_and_stop_at_twenty(client, changelog_auditor, team):
    for number in range(25):
        release_of("pay", f"3.{number}.0", created_by=changelog_auditor)
    client.force_login(changelog_auditor)
    found = client.get(reverse("evidence:release_suggestions"), {"q": "pay 3.1"}).json()
    values = [r["value"] for r in found["releases"]]
    assert values and all(v.startswith("pay 3.1") for v in values)
    assert (
        len(client.get(reverse("evidence:release_suggestions"), {"q": "pay"}).json()["releases"])
        == 20
    )
    assert client.get(reverse("evidence:release_suggestions"), {"q": ""}).json() == {"releases": []}
    client.force_login(team["qa"])
    assert client.get(reverse("evidence:release_suggestions"), {"q": "pay"}).status_code == 403
