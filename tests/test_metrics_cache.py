"""The metrics' cache: never stale after a committed change, never one user's figures for another.

The cache key holds metrics.models.DataVersion's token, which deferred triggers
replace when a writing transaction commits; these tests therefore commit for
real (transaction=True), as the site does, and read the figures over HTTP.
"""

import re
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import remove_perm

from approvals import services
from approvals.models import Deployment
from metrics.models import DataVersion
from metrics.selectors import data_version
from raci import permissions
from tests.factories import release_of
from tests.helpers import approve_all

pytestmark = pytest.mark.django_db(transaction=True)

API = reverse("metrics:metrics_api")


def deployments_seen(client, user, query: str = "") -> int:
    client.force_login(user)
    response = client.get(API + query)
    assert response.status_code == 200
    return sum(period["deployments"] for period in response.json()["periods"])


def page_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("metrics:metrics"))
    assert response.status_code == 200
    assert b"<svg" in response.content  # the cached figures come back as markup, not text
    return len(queries)


def deploy(release, *, days_ago: int = 0) -> Deployment:
    row = Deployment.objects.create(
        release=release, status="succeeded", recorded_by=release.created_by
    )
    if days_ago:
        Deployment.objects.filter(pk=row.pk).update(
            recorded_at=timezone.now() - timedelta(days=days_ago)
        )
    return row


@pytest.fixture
def two_products(team, release):
    """Payments API 2.4.0 (po's, through its RACI) and Other 1.0.0 (no RACI: only rm sees
    it), one successful deployment each, today."""
    other = release_of("other", "1.0.0", created_by=team["rm"])
    deploy(release)
    deploy(other)
    return release, other


def test_the_second_request_is_served_from_the_cache_and_a_write_replaces_it(client, team):
    """Without a write in between, the page reads the figures back instead of computing
    them again; any committed write to what they read gives a new version."""
    client.force_login(team["rm"])
    cold = page_queries(client)
    warm = page_queries(client)
    assert warm < cold
    before = data_version()
    with transaction.atomic():
        release_of("other", "1.0.0", created_by=team["rm"])
    assert data_version() != before
    assert page_queries(client) > warm


def test_a_rolled_back_write_keeps_the_version(team):
    """The bump commits or rolls back with the write: a write that never happened
    throws no cached figures away, and the version stays one row."""
    before = data_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        release_of("other", "1.0.0", created_by=team["rm"])
        raise RuntimeError("changed my mind")
    assert data_version() == before
    with transaction.atomic():
        first = release_of("other", "1.0.0", created_by=team["rm"])
        for _ in range(5):
            deploy(first)
    assert data_version() != before
    assert DataVersion.objects.count() == 1


def page_deployments(client) -> int:
    """The deployment-frequency column of the page's own table (not the API)."""
    body = client.get(reverse("metrics:metrics")).content.decode()
    table = body.split('id="h-deployment-frequency"')[1].split("</tbody>")[0]
    return sum(int(cell) for cell in re.findall(r'<td class="num">(\d+)</td>', table))


def test_a_deployment_recorded_through_the_service_shows_at_once(client, team, release):
    approve_all(release, team)
    assert deployments_seen(client, team["rm"]) == 0
    assert page_deployments(client) == 0
    assert page_deployments(client) == 0  # now cached, page and figures
    services.deployment_record(release=release, actor=team["rm"], status="succeeded")
    assert deployments_seen(client, team["rm"]) == 1
    assert page_deployments(client) == 1


def test_a_back_dated_change_through_any_door_shows_at_once(client, team, two_products):
    """A raw UPDATE (the admin, a shell, a script) moves a deployment to another month:
    no service was called, the trigger still replaces the version."""
    release, _ = two_products
    month = lambda rows: [p["deployments"] for p in rows]  # noqa: E731
    client.force_login(team["rm"])
    before = month(client.get(API).json()["periods"])
    assert before[-1] == 2
    Deployment.objects.filter(release=release).update(
        recorded_at=timezone.now() - timedelta(days=100)
    )
    after = month(client.get(API).json()["periods"])
    assert after[-1] == 1 and sum(after) == 2 and after != before


def test_a_halt_shows_in_time_to_restore_at_once(client, team, release):
    """The halt writes a change-log entry the figures read (time to restore)."""
    approve_all(release, team)
    client.force_login(team["rm"])
    restores = lambda: [p["time_to_restore_hours"] for p in client.get(API).json()["periods"]]  # noqa: E731
    assert not any(restores())
    services.release_halt(release=release, actor=team["rm"], reason="Checkout errors")
    deploy(release)  # the product's next success after the halt
    assert any(h is not None for h in restores())


def test_a_sign_off_shows_in_the_waiting_times_at_once(client, team, release):
    client.force_login(team["rm"])
    assert client.get(API).json()["waiting_by_accountable"] == []
    approve_all(release, team)
    waited = client.get(API).json()["waiting_by_accountable"]
    assert {row["name"] for row in waited} >= {"po"}


def test_one_user_never_gets_another_users_figures_from_the_cache(client, team, two_products):
    """rm (every product) fills the cache first, with the same filter po then asks for:
    po still sees only the release po may view, the outsider nothing; on the page too."""
    assert deployments_seen(client, team["rm"]) == 2
    assert page_deployments(client) == 2
    assert deployments_seen(client, team["po"]) == 1
    assert page_deployments(client) == 1
    assert deployments_seen(client, team["outsider"]) == 0
    assert page_deployments(client) == 0
    assert deployments_seen(client, team["rm"]) == 2  # rm's own entry is untouched


def test_asking_for_a_product_one_may_not_see_is_refused_not_served_from_the_cache(
    client, team, two_products
):
    assert deployments_seen(client, team["rm"], "?product=other") == 1
    client.force_login(team["po"])
    assert client.get(API + "?product=other").status_code == 400
    assert client.get(reverse("metrics:metrics") + "?product=other").status_code == 400


def test_a_granted_then_revoked_permission_changes_the_figures_at_once(client, team, two_products):
    _, other = two_products
    assert deployments_seen(client, team["po"]) == 1
    permissions.release_perms_grant(user=team["po"], release=other, codenames=[permissions.VIEW])
    assert deployments_seen(client, team["po"]) == 2
    remove_perm(f"approvals.{permissions.VIEW}", team["po"], other)
    assert deployments_seen(client, team["po"]) == 1


def test_a_revocation_racing_the_request_is_not_cached_under_the_new_version(team, two_products):
    """The request may ask has_perm before the version is read (the product filter does):
    had a revocation committed in between, the figures of a miss must still use the
    scope as it is after the version, or the old scope is served until the next write."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.cache import cache

    from metrics.selectors import metrics_for_user

    def deployments(user) -> int:
        end = timezone.localdate()
        figures = metrics_for_user(
            user=user,
            product=None,
            period="month",
            start=end - timedelta(days=60),
            end=end,
            hotfix_days=7,
        )
        return sum(bucket.deployments for bucket in figures.buckets)

    users = get_user_model().objects
    rm = users.get(pk=team["rm"].pk)  # the request's user, loaded before the version
    assert rm.has_perm("approvals.view_release")  # what the product filter asks first
    Group.objects.get(name=permissions.RELEASE_MANAGERS).user_set.remove(rm)  # commits
    served = deployments(rm)  # a miss under the new version, with the request's user
    cache.clear()
    fresh = deployments(users.get(pk=rm.pk))
    assert fresh < 2  # rm no longer sees every product's deployment (the test can bite)
    assert served == fresh


def test_parameters_the_filter_ignores_make_no_entries_of_their_own(client, team):
    """The page's key is the filter as the form read it, so `?junk=1`, `?junk=2`, … cannot
    make the server compute again or fill the cache, and the CSV links do not repeat them."""
    client.force_login(team["rm"])
    page_queries(client)
    warm = page_queries(client)
    for junk in ("1", "2"):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("metrics:metrics"), {"junk": junk})
        assert response.status_code == 200
        assert len(queries) == warm
        assert b"junk" not in response.content
