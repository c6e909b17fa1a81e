import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals import services
from approvals.lifecycle import Status
from approvals.models import Comment, RadRevision, Release
from audit.models import Action, ChangeLogEntry
from raci import permissions
from tests.factories import ProductFactory, ReleaseFactory, complete_rad
from tests.helpers import rad_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    return ProductFactory(name="Payments API", slug="payments-api")


@pytest.fixture
def release(product, release_manager):
    release = ReleaseFactory(product=product, version="2.4.0", created_by=release_manager)
    services.rad_revise(release=release, content=complete_rad(), actor=release_manager)
    return release


@pytest.fixture
def po(make_user, release):
    user = make_user("po")
    permissions.release_perms_grant(
        user=user, release=release, codenames=[permissions.VIEW, permissions.COMMENT]
    )
    return user


@pytest.fixture
def dev(make_user, release):
    user = make_user("dev")
    permissions.release_perms_grant(
        user=user,
        release=release,
        codenames=[permissions.VIEW, permissions.EDIT_RAD, permissions.SUBMIT, permissions.COMMENT],
    )
    return user


def url(name, release, **query):
    path = reverse(
        f"approvals:{name}", kwargs={"product": release.product.slug, "version": release.version}
    )
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return path


# --- who sees what -----------------------------------------------------------


def test_an_outsider_gets_404_for_a_release_and_does_not_see_it_listed(client, outsider, release):
    client.force_login(outsider)
    assert client.get(url("release_detail", release)).status_code == 404
    assert client.get(url("rad_diff", release)).status_code == 404
    response = client.get(reverse("approvals:release_list"))
    assert response.status_code == 200
    assert "2.4.0" not in response.content.decode()


def test_anonymous_visitors_are_sent_to_login(client, release):
    response = client.get(url("release_detail", release))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_user_in_the_release_sees_it(client, po, release):
    client.force_login(po)
    response = client.get(url("release_detail", release))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Payments API 2.4.0" in body
    assert "Cache stampede on deploy" in body
    assert "Edit RAD" not in body  # view + comment only
    assert "Post comment" in body


def test_an_auditor_reads_but_may_not_comment(client, auditor, release):
    client.force_login(auditor)
    response = client.get(url("release_detail", release))
    assert response.status_code == 200
    assert "Post comment" not in response.content.decode()
    response = client.post(url("comment_create", release), {"body": "hi"})
    assert response.status_code == 403
    assert not Comment.objects.exists()
    refusal = ChangeLogEntry.objects.get(action=Action.ACCESS_REFUSED)
    assert refusal.actor == auditor
    assert refusal.release == release
    assert refusal.reason == "Not permitted: comment on this release"


def test_a_reader_may_not_edit_the_rad(client, po, release):
    client.force_login(po)
    assert client.get(url("rad_edit", release)).status_code == 403
    response = client.post(url("rad_edit", release), rad_post(complete_rad(scope="hijack")))
    assert response.status_code == 403
    assert RadRevision.objects.filter(release=release).count() == 1


def test_state_changes_are_post_only(client, release_manager, release):
    client.force_login(release_manager)
    for name in ("release_submit", "release_cancel", "comment_create"):
        assert client.get(url(name, release)).status_code == 405
    release.refresh_from_db()
    assert release.status == Status.DRAFT


def test_only_release_managers_create_products_and_releases(client, po, release_manager):
    client.force_login(po)
    assert client.get(reverse("approvals:release_create")).status_code == 403
    assert (
        client.post(reverse("approvals:product_create"), {"name": "X", "slug": "x"}).status_code
        == 403
    )
    client.force_login(release_manager)
    response = client.post(
        reverse("approvals:product_create"), {"name": "Ledger", "slug": "ledger"}
    )
    assert response.status_code == 302


# --- release list ------------------------------------------------------------


def test_release_list_filters_and_searches(client, release_manager, product):
    other = ProductFactory(name="Ledger", slug="ledger")
    ReleaseFactory(product=product, version="1.0.0", title="Alpha checkout")
    ReleaseFactory(product=product, version="1.1.0", title="Beta refunds", release_type="normal")
    ReleaseFactory(product=other, version="3.0.0", title="Ledger rewrite", status=Status.IN_REVIEW)
    client.force_login(release_manager)

    def versions(**query):
        response = client.get(reverse("approvals:release_list"), query)
        assert response.status_code == 200
        return {r.version for r in response.context["page"].object_list}

    assert versions() == {"1.0.0", "1.1.0", "3.0.0"}
    assert versions(product="ledger") == {"3.0.0"}
    assert versions(status="in_review") == {"3.0.0"}
    assert versions(q="refunds") == {"1.1.0"}
    assert versions(release_type="hotfix") == set()
    assert versions(status="nonsense") == {"1.0.0", "1.1.0", "3.0.0"}  # invalid filter ignored


def test_release_list_paginates(client, release_manager, product):
    for n in range(30):
        ReleaseFactory(product=product, version=f"0.{n}.0")
    client.force_login(release_manager)
    first = client.get(reverse("approvals:release_list"))
    # Newest first pages by keyset (issue 16): the next page starts after the last row.
    cursor = first.context["page"].older_before
    second = client.get(reverse("approvals:release_list"), {"before": cursor})
    assert len(first.context["page"].object_list) == 25
    assert len(second.context["page"].object_list) == 5
    sorted_page = client.get(reverse("approvals:release_list"), {"sort": "window", "page": 2})
    assert len(sorted_page.context["page"].object_list) == 5  # other orders keep pages
    # A page that is no number opens the newest releases, by redirect (old ?page= links).
    nonsense = client.get(reverse("approvals:release_list"), {"page": "zzz"})
    assert (nonsense.status_code, nonsense.url) == (302, reverse("approvals:release_list"))


def _list_queries(client, user) -> int:
    client.force_login(user)
    client.get(reverse("approvals:release_list"))  # warm process-wide caches (content types)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("approvals:release_list"))
    assert response.status_code == 200
    return len(queries), len(response.context["page"].object_list)


@pytest.mark.parametrize("persona", ["release_manager", "member"])
def test_release_list_queries_do_not_grow_with_the_data(client, product, make_user, persona):
    user = (
        make_user("rm", groups=("Release managers",))
        if persona == "release_manager"
        else make_user("member")
    )

    def add(count):
        for _ in range(count):
            release = ReleaseFactory(product=product)
            permissions.release_perms_grant(
                user=user, release=release, codenames=[permissions.VIEW]
            )

    add(5)
    small, shown_small = _list_queries(client, user)
    add(45)
    large, shown_large = _list_queries(client, user)
    assert (shown_small, shown_large) == (5, 25)
    print(f"release list queries ({persona}): {small} at 5, {large} at 50")
    assert small == large


def test_reading_view_queries_do_not_grow_with_rows(client, release_manager, product):
    def make(version, rows):
        release = ReleaseFactory(product=product, version=version)
        content = complete_rad(
            defects=[
                {"title": f"Defect {i}", "severity": "major", "link": "", "state": "open"}
                for i in range(rows)
            ],
            risks=[
                {
                    "description": f"Risk {i}",
                    "likelihood": 1 + i % 5,
                    "impact": 1 + i % 3,
                    "mitigation": "m",
                    "owner": "o",
                }
                for i in range(rows)
            ],
            test_suites=[
                {"name": f"Suite {i}", "passed": 10, "failed": 1, "skipped": 0, "link": ""}
                for i in range(rows)
            ],
        )
        for i in range(min(rows, 5)):
            content["scope"] = f"Scope {i}"
            services.rad_revise(release=release, content=content, actor=release_manager)
        for i in range(rows):
            Comment.objects.create(release=release, author=release_manager, body=f"c{i}")
        return release

    small, large = make("5.0.0", 5), make("50.0.0", 50)
    client.force_login(release_manager)
    counts = []
    for release in (small, large):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url("release_detail", release))
        assert response.status_code == 200
        counts.append(len(queries))
    assert "Defect 49" in response.content.decode()
    print(f"reading view queries: {counts}")
    assert counts[0] == counts[1]


# --- RAD editor, submit, diff, comments ----------------------------------------


def test_the_editor_saves_a_new_revision_from_a_plain_form_post(client, dev, release):
    client.force_login(dev)
    content = complete_rad()
    data = rad_post(content)
    # The blank extra row a browser without JS sends, and a row marked for removal.
    data.update(
        {
            "risks-TOTAL_FORMS": "3",
            "risks-1-description": "Old risk",
            "risks-1-likelihood": "1",
            "risks-1-impact": "1",
            "risks-1-DELETE": "on",
            "risks-2-description": "",
            "risks-2-likelihood": "1",
            "risks-2-impact": "1",
        }
    )
    data["risks-0-likelihood"] = "4"
    response = client.post(url("rad_edit", release), data)
    assert response.status_code == 302
    revision = RadRevision.objects.filter(release=release).latest("number")
    assert revision.number == 2
    assert [r["description"] for r in revision.content["risks"]] == ["Cache stampede on deploy"]
    assert revision.content["risks"][0]["likelihood"] == 4


def test_the_editor_shows_field_errors_and_writes_nothing(client, dev, release):
    client.force_login(dev)
    data = rad_post(complete_rad(), **{"suites-0-passed": "-3", "evidence_url": "not a url"})
    response = client.post(url("rad_edit", release), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Ensure this value is greater than or equal to 0." in body
    assert "Enter a valid URL." in body
    assert RadRevision.objects.filter(release=release).count() == 1


def test_duplicate_rows_are_refused(client, dev, release):
    client.force_login(dev)
    content = complete_rad()
    content["test_suites"] = content["test_suites"] * 2
    response = client.post(url("rad_edit", release), rad_post(content))
    assert response.status_code == 200
    assert "Two rows share the name" in response.content.decode()


def test_submit_shows_what_is_missing_and_changes_nothing(client, dev, release, release_manager):
    services.rad_revise(release=release, content=complete_rad(monitoring=[]), actor=release_manager)
    client.force_login(dev)
    response = client.post(url("release_submit", release), follow=True)
    body = response.content.decode()
    assert "The RAD is not complete enough for review." in body
    assert "Post-deployment monitoring: add at least one checklist item." in body
    release.refresh_from_db()
    assert release.status == Status.DRAFT


def test_submit_moves_the_release_to_review(client, dev, release):
    client.force_login(dev)
    response = client.post(url("release_submit", release), follow=True)
    assert "Submitted for review" in response.content.decode()
    release.refresh_from_db()
    assert release.status == Status.IN_REVIEW
    again = client.post(url("release_submit", release), follow=True)
    assert "is not possible while the release is in review" in again.content.decode()


def test_diff_view_marks_changes_between_any_two_revisions(client, po, release, release_manager):
    changed = complete_rad()
    changed["risks"][0]["impact"] = 5
    services.rad_revise(release=release, content=changed, actor=release_manager)
    services.rad_revise(
        release=release, content=complete_rad(scope="New scope"), actor=release_manager
    )
    client.force_login(po)
    response = client.get(url("rad_diff", release, base=1, compare=2))
    sections = {s.key: s for s in response.context["sections"]}
    assert sections["risks"].changed and not sections["scope"].changed
    body = response.content.decode()
    assert "Cache stampede on deploy" in body
    response = client.get(url("rad_diff", release, base=1, compare=3))
    assert {s.key for s in response.context["sections"] if s.changed} == {"scope"}
    missing = client.get(url("rad_diff", release, base=1, compare=9))
    assert missing.status_code == 200
    assert "Choose two revisions that exist." in missing.content.decode()


def test_an_old_revision_can_be_read_and_a_missing_one_is_404(client, po, release, release_manager):
    services.rad_revise(
        release=release, content=complete_rad(scope="Second"), actor=release_manager
    )
    client.force_login(po)
    response = client.get(url("release_detail", release, revision=1))
    assert "You are reading revision 1, not the current one." in response.content.decode()
    assert client.get(url("release_detail", release, revision=7)).status_code == 404


def test_a_comment_is_posted_and_listed(client, po, release):
    client.force_login(po)
    response = client.post(url("comment_create", release), {"body": "Ship it"}, follow=True)
    assert "Comment posted." in response.content.decode()
    assert [c.body for c in response.context["comments"]] == ["Ship it"]
    empty = client.post(url("comment_create", release), {"body": ""}, follow=True)
    assert "nothing was posted" in empty.content.decode()
    assert Comment.objects.count() == 1


def test_create_release_form_shows_field_errors(client, release_manager, product):
    client.force_login(release_manager)
    response = client.post(
        reverse("approvals:release_create"),
        {
            "product": product.pk,
            "version": "one",
            "title": "T",
            "release_type": "normal",
            "window_start": "2030-01-02T10:00",
            "window_end": "2030-01-02T09:00",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "is not a semantic version" in body
    assert "The deployment window must end after it starts." in body
    assert not Release.objects.exists()
    response = client.post(
        reverse("approvals:release_create"),
        {
            "product": product.pk,
            "version": "3.0.0",
            "title": "T",
            "release_type": "normal",
            "window_start": "2030-01-02T10:00",
            "window_end": "2030-01-02T12:00",
        },
    )
    assert response.status_code == 302
    assert Release.objects.get().version == "3.0.0"


def test_hostile_markdown_in_a_rad_renders_no_script(client, release_manager, release):
    services.rad_revise(
        release=release,
        content=complete_rad(
            scope='<script>alert(1)</script> [x](javascript:alert(2)) <b onmouseover="x()">b</b>'
        ),
        actor=release_manager,
    )
    client.force_login(release_manager)
    body = client.get(url("release_detail", release)).content.decode().lower()
    assert "<script>alert" not in body
    assert "javascript:alert" not in body
    assert "onmouseover" not in body
