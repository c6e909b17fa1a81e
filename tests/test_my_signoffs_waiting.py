"""My sign-offs: "Ready to sign" apart from "Waiting on something", each saying what.

The page reads the same readiness rule as signing does, so what it calls ready can be
approved and what it says waits is refused for that very reason (another door: the
service behind the sign page, the API's deploy check reads the same rule).
"""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals import services, waiting
from approvals.lifecycle import Status
from approvals.models import ApprovalPolicy, ReleaseType
from approvals.rules import signoff_waits_on
from approvals.selectors import my_signoffs
from approvals.services.base import DomainError
from approvals.waiting import my_signoff_sections
from meetings.services import freeze_create
from raci import services as raci_services
from tests.factories import activity, build_team, complete_rad, release_in_review, user_create
from tests.helpers import sign

pytestmark = pytest.mark.django_db

MY = "/my/signoffs/"
SCOPE = "Business scope"


def sections_html(body: str) -> tuple[str, str]:
    """The "Ready to sign" and "Waiting on something" sections of the page."""
    ready = body.split('data-testid="ready"', 1)[1].split("</section>", 1)[0]
    waiting = body.split('data-testid="waiting"', 1)[1].split("</section>", 1)[0]
    return ready, waiting


def draft(team, version, *, rad=True, release_type="normal", fixes=None, days=6):
    start = timezone.now() + timedelta(days=days)
    release = services.release_create(
        product=team["product"],
        version=version,
        title=f"Draft {version}",
        release_type=release_type,
        fixes=fixes,
        window_start=start,
        window_end=start + timedelta(hours=2),
        actor=team["rm"],
    )
    if rad:
        services.rad_revise(release=release, content=complete_rad(), actor=team["dev"])
    return release


def failing_check(team, release, name="security-scan"):
    ApprovalPolicy.objects.update_or_create(
        product=team["product"], defaults={"required_checks": [name]}
    )
    services.gate_check_report(release=release, actor=team["rm"], name=name, status="fail")


# --- the rule, branch by branch -----------------------------------------------------------


@pytest.mark.parametrize(
    "status, has_revision, reason, ready, expected",
    [
        (Status.IN_REVIEW, True, "", [], []),
        (Status.IN_REVIEW, True, "", ["Gate check “x” is fail."], ["Gate check “x” is fail."]),
        (Status.HALTED, True, "Fraud", ["Frozen."], ["Frozen."]),
        (Status.DRAFT, False, "", ["The RAD has no revision yet."], None),
        (Status.DRAFT, True, "", [], ["The RAD is not submitted yet."]),
        (Status.DRAFT, True, "", ["Frozen."], ["The RAD is not submitted yet.", "Frozen."]),
        (Status.DRAFT, True, "Scope rejected by Po: no", [], "sent back"),
    ],
)
def test_what_a_signature_waits_on(status, has_revision, reason, ready, expected):
    release = SimpleNamespace(status=status, status_reason=reason)
    got = signoff_waits_on(release=release, has_revision=has_revision, ready_reasons=ready)
    if expected is None:
        assert got == ["The Responsible has not written the RAD yet."]
    elif expected == "sent back":
        assert got == [
            "Waiting for the Responsible's revision: sent back (Scope rejected by Po: no)."
        ]
    else:
        assert got == expected


# --- the page -------------------------------------------------------------------------------


def test_ready_and_waiting_are_apart_and_say_what(client):
    team = build_team()
    ready = release_in_review(team, version="2.4.0")
    checked = release_in_review(team, version="2.5.0")
    failing_check(team, checked)
    # The required check now also concerns 2.4.0: report it passing there.
    services.gate_check_report(release=ready, actor=team["rm"], name="security-scan", status="pass")
    frozen = release_in_review(team, version="2.6.0")
    start = timezone.now() + timedelta(days=9)
    type(frozen).objects.filter(pk=frozen.pk).update(
        window_start=start, window_end=start + timedelta(hours=2)
    )
    freeze_create(
        actor=team["rm"],
        product=None,
        start=start - timedelta(hours=1),
        end=start + timedelta(hours=3),
        reason="Black Friday",
    )
    services.gate_check_report(
        release=frozen, actor=team["rm"], name="security-scan", status="pass"
    )
    unsubmitted = draft(team, "3.0.0")
    unwritten = draft(team, "3.1.0", rad=False)
    client.force_login(team["po"])
    body = client.get(MY).content.decode()
    ready_html, waiting_html = sections_html(body)
    assert ready.get_absolute_url() in ready_html and "Review and sign" in ready_html
    for release in (checked, frozen, unsubmitted, unwritten):
        assert release.get_absolute_url() not in ready_html
        assert release.get_absolute_url() in waiting_html
    assert "Gate check “security-scan” is fail." in waiting_html
    assert "overlaps the freeze “Black Friday”" in waiting_html
    assert "The RAD is not submitted yet." in waiting_html
    assert "The Responsible has not written the RAD yet." in waiting_html
    assert "Review and sign" not in waiting_html  # only "Open release" while it waits
    assert 'Ready to sign <span class="badge badge-info">1<' in body
    assert 'Waiting on something <span class="badge badge-warn">4<' in body


def test_a_rejected_release_waits_for_the_responsibles_revision(client):
    team = build_team()
    release = release_in_review(team)
    sign(release, team["qa"], "Test thresholds", decision="reject", comment="Flaky suite")
    client.force_login(team["po"])
    _, waiting = sections_html(client.get(MY).content.decode())
    assert release.get_absolute_url() in waiting
    assert "Waiting for the Responsible&#x27;s revision: sent back (Test thresholds rejected" in (
        waiting
    )
    assert "Flaky suite" in waiting


def test_only_the_accountables_signatures_are_listed(client):
    """Informed, Consulted, Responsible and outsiders see neither section fill up."""
    team = build_team()
    release_in_review(team, version="2.4.0")
    draft(team, "3.0.0")
    for name in ("ii", "cc", "dev", "outsider", "auditor"):
        client.force_login(team[name])
        ready, waiting = sections_html(client.get(MY).content.decode())
        assert "Payments API" not in ready and "Payments API" not in waiting, name


def test_a_hotfix_draft_waits_only_on_the_go_no_go(client):
    team = build_team()
    base = release_in_review(team, version="2.4.0")
    draft(team, "2.4.1", release_type=ReleaseType.HOTFIX, fixes=base)
    client.force_login(team["po"])  # Business scope: no sign-off on a hotfix
    _, waiting = sections_html(client.get(MY).content.decode())
    assert "2.4.1" not in waiting
    client.force_login(team["rm"])  # the Go/no-go Accountable
    _, waiting = sections_html(client.get(MY).content.decode())
    assert "Payments API 2.4.1" in waiting and "Go/no-go decision" in waiting


def test_a_team_member_sees_the_draft_their_team_will_sign(client):
    team = build_team()
    release = draft(team, "3.0.0")
    leads = raci_services.team_create(name="Scope leads", actor=team["rm"])
    ana = user_create("ana", first_name="Ana", last_name="Lead")
    raci_services.team_member_add(team=leads, user=ana, actor=team["rm"])
    services.activity_team_set(
        release=release,
        actor=team["rm"],
        activity_id=activity(release, SCOPE).pk,
        team=leads,
        required=1,
    )
    client.force_login(ana)
    _, waiting = sections_html(client.get(MY).content.decode())
    assert "Payments API 3.0.0" in waiting and "as a member of Scope leads" in waiting


def test_what_the_page_calls_ready_signs_and_what_waits_is_refused_for_that_reason():
    team = build_team()
    ready = release_in_review(team, version="2.4.0")
    checked = release_in_review(team, version="2.5.0")
    failing_check(team, checked)
    services.gate_check_report(release=ready, actor=team["rm"], name="security-scan", status="pass")
    sections = my_signoff_sections(user=team["po"], mine=my_signoffs(user=team["po"]))
    assert [i.release.pk for i in sections.ready] == [ready.pk]
    assert [i.release.pk for i in sections.waiting] == [checked.pk]
    [waiting] = sections.waiting
    with pytest.raises(DomainError) as refused:
        sign(checked, team["po"], SCOPE)
    assert waiting.waits_on[0] in str(refused.value)
    sign(ready, team["po"], SCOPE)  # lands
    sections = my_signoff_sections(user=team["po"], mine=my_signoffs(user=team["po"]))
    assert ready.pk not in [i.release.pk for i in sections.ready + sections.waiting]
    # The moment the check passes, the same signature is ready.
    services.gate_check_report(
        release=checked, actor=team["rm"], name="security-scan", status="pass"
    )
    sections = my_signoff_sections(user=team["po"], mine=my_signoffs(user=team["po"]))
    assert [i.release.pk for i in sections.ready] == [checked.pk]


def test_my_signoffs_query_count_is_pinned_at_two_sizes(client, django_assert_num_queries):
    """Ready, failing-check, frozen and draft items at 4 and at 40 releases: same queries."""
    team = build_team()
    ApprovalPolicy.objects.create(product=team["product"], required_checks=["security-scan"])
    freeze_create(
        actor=team["rm"],
        product=team["product"],
        start=timezone.now() + timedelta(days=9),
        end=timezone.now() + timedelta(days=10),
        reason="Audit week",
    )
    client.force_login(team["po"])
    made = 0
    for size in (4, 40):
        while made < size:
            kind = made % 4
            if kind == 3:
                draft(team, f"5.{made}.0")
            else:
                release = release_in_review(team, version=f"4.{made}.0")
                status = "pass" if kind != 1 else "fail"
                services.gate_check_report(
                    release=release, actor=team["rm"], name="security-scan", status=status
                )
                if kind == 2:  # into the freeze
                    start = timezone.now() + timedelta(days=9, hours=2)
                    type(release).objects.filter(pk=release.pk).update(
                        window_start=start, window_end=start + timedelta(hours=1)
                    )
            made += 1
        client.get(MY)
        with django_assert_num_queries(PINNED_MY_SIGNOFFS):
            body = client.get(MY).content.decode()
        ready, waiting = sections_html(body)
        assert ready.count("Review and sign") == size // 4
        assert waiting.count('data-testid="waiting-item"') == size - size // 4
        assert "Audit week" in waiting and "is fail." in waiting and "not submitted" in waiting


PINNED_MY_SIGNOFFS = 18


def test_the_page_costs_the_same_as_the_list_it_replaced_plus_a_constant(client):
    """The readiness of every release is fed in a fixed number of queries (≤ 8 more)."""
    team = build_team()
    client.force_login(team["po"])
    for n in range(3):
        release_in_review(team, version=f"6.{n}.0")
    with CaptureQueriesContext(connection) as queries:
        my_signoff_sections(user=team["po"], mine=my_signoffs(user=team["po"]))
    selector = len(queries)
    with CaptureQueriesContext(connection) as queries:
        my_signoffs(user=team["po"])
    assert selector - len(queries) <= 8, (selector, len(queries))
    assert reverse("approvals:my_signoffs") == MY


# --- bounded: a page per group, keyset "More" links -----------------------------------------


def _shown(section: str) -> list[str]:
    return re.findall(r"Payments API ([\d.]+)</a>", section)


def test_each_group_shows_a_bounded_page_and_more_links_walk_it_once(client, monkeypatch):
    """Three per group here (50 in production): the rest is counted, "More" follows a keyset
    cursor (an activity id, never an offset) and walks every item once, in order."""
    monkeypatch.setattr(waiting, "SIGNOFFS_SHOWN", 3)
    team = build_team()
    ready = [release_in_review(team, version=f"7.{n}.0") for n in range(7)]
    for n in range(4):
        draft(team, f"8.{n}.0")
    client.force_login(team["po"])
    expected = [r.version for r in sorted(ready, key=lambda r: (r.window_start, r.pk))]
    body = client.get(MY).content.decode()
    ready_html, waiting_html = sections_html(body)
    assert ">7</span>" in ready_html and ">4</span>" in waiting_html  # the badges count all
    assert "4 more after these." in ready_html and "1 more after these." in waiting_html
    seen, url = [], MY
    while True:
        ready_html, _ = sections_html(client.get(url).content.decode())
        page = _shown(ready_html)
        assert 1 <= len(page) <= 3
        seen += page
        more = re.search(r'href="(\?[^"#]*ready_after=\d+[^"#]*)#h-ready" rel="next"', ready_html)
        if not more:
            break
        url = MY + more.group(1).replace("&amp;", "&")
    assert seen == expected
    assert "6 sooner not shown." in ready_html and "more after these" not in ready_html


def test_more_keeps_the_other_groups_place(client, monkeypatch):
    monkeypatch.setattr(waiting, "SIGNOFFS_SHOWN", 2)
    team = build_team()
    for n in range(3):
        release_in_review(team, version=f"7.{n}.0")
    drafts = [draft(team, f"8.{n}.0", days=6 + n) for n in range(3)]
    client.force_login(team["po"])
    _, waiting_html = sections_html(client.get(MY).content.decode())
    after = re.search(r"waiting_after=(\d+)", waiting_html).group(1)
    ready_html, waiting_html = sections_html(
        client.get(f"{MY}?waiting_after={after}").content.decode()
    )
    assert _shown(waiting_html) == [drafts[2].version]
    more = re.search(r'href="\?([^"#]*)#h-ready" rel="next"', ready_html).group(1)
    assert f"waiting_after={after}" in more  # the waiting group stays where it was


def test_an_item_signed_between_pages_neither_repeats_nor_skips(client, monkeypatch):
    """The cursor's item left the group (signed): the next page starts right after where
    it stood, found from the activity's row."""
    monkeypatch.setattr(waiting, "SIGNOFFS_SHOWN", 2)
    team = build_team()
    releases = [release_in_review(team, version=f"7.{n}.0") for n in range(5)]
    client.force_login(team["po"])
    ready_html, _ = sections_html(client.get(MY).content.decode())
    more = re.search(r'href="(\?ready_after=\d+)#h-ready"', ready_html).group(1)
    sign(releases[1], team["po"], SCOPE)  # the last one shown, the cursor's item
    ready_html, _ = sections_html(client.get(MY + more).content.decode())
    assert _shown(ready_html) == [releases[2].version, releases[3].version]
    assert ">4</span>" in ready_html


@pytest.mark.parametrize("cursor", ["abc", "99999999", "-1", "1e9"])
def test_a_bad_cursor_starts_from_the_soonest(client, cursor):
    team = build_team()
    release_in_review(team, version="7.0.0")
    client.force_login(team["po"])
    response = client.get(MY, {"ready_after": cursor, "waiting_after": cursor})
    assert response.status_code == 200
    ready_html, _ = sections_html(response.content.decode())
    assert _shown(ready_html) == ["7.0.0"]


def test_a_cursor_naming_someone_elses_activity_shows_only_my_items(client):
    """An activity id from a release the reader cannot see only places the cursor in
    the order: nothing of that release (not even its name) appears."""
    team = build_team()
    mine = release_in_review(team, version="7.0.0")
    outsider = user_create("outsider")
    client.force_login(outsider)
    theirs = activity(mine, SCOPE).pk
    body = client.get(MY, {"ready_after": theirs, "waiting_after": theirs}).content.decode()
    assert "Payments API" not in body and "7.0.0" not in body
