"""Commit times reported with commit artifacts, and lead time for changes starting at the
earliest of them (issue 19: "release created, or the earliest reported commit time, to
deployed")."""

import json
from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError

from approvals import services
from approvals.models import Artifact, Release
from audit.models import Action
from metrics.selectors import metrics_compute
from tests.factories import ProductFactory, ReleaseFactory
from tests.helpers import entries, new_token, release_open_now, sign

pytestmark = pytest.mark.django_db

COMMIT = "0123456789abcdef0123456789abcdef01234567"
OTHER_COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
DIGEST = "sha256:" + "ab" * 32
PATH = "/api/v1/releases/payments-api/3.0.0/artifacts/"


def at(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def post(client, token, artifacts):
    return client.post(
        PATH,
        data=json.dumps({"artifacts": artifacts}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


# --- reporting a commit time ----------------------------------------------------------


def test_ci_reports_a_commit_time_with_a_commit(client, team):
    release_open_now(team, version="3.0.0", approve=False)
    committed = "2026-11-20T09:30:00+01:00"
    response = post(
        client,
        new_token(team),
        [
            {"name": "src", "kind": "commit", "digest": COMMIT, "committed_at": committed},
            {"name": "image", "kind": "image", "digest": DIGEST},
        ],
    )
    assert response.status_code == 201
    body = response.json()
    assert body["commit_times"] == {"src": "2026-11-20T08:30:00+00:00"}
    # The signed set is unchanged in shape: the commit time is not part of it.
    assert {"name": "src", "kind": "commit", "digest": COMMIT} in body["artifacts"]
    assert Artifact.objects.get(name="src").committed_at == datetime(
        2026, 11, 20, 8, 30, tzinfo=UTC
    )
    [change] = entries(Action.ARTIFACTS_CHANGED)
    assert change.after["commit_times"] == {"src": "2026-11-20T08:30:00+00:00"}


def test_a_new_commit_time_alone_is_logged_and_voids_no_signature(client, team):
    release = release_open_now(team, version="3.0.0", approve=False)
    token = new_token(team)
    row = {"name": "src", "kind": "commit", "digest": COMMIT, "committed_at": "2026-11-20T08:00Z"}
    assert post(client, token, [row]).status_code == 201
    signoff, _ = sign(release, team["po"], "Business scope")
    assert post(client, token, [{**row, "committed_at": "2026-11-19T08:00Z"}]).status_code == 201
    signoff.refresh_from_db()
    assert not signoff.is_void
    last = entries(Action.ARTIFACTS_CHANGED)[-1]
    assert last.before == {"commit_times": {"src": "2026-11-20T08:00:00+00:00"}}
    assert last.after == {"commit_times": {"src": "2026-11-19T08:00:00+00:00"}}
    # The same report again changes nothing and logs nothing.
    post(client, token, [{**row, "committed_at": "2026-11-19T08:00Z"}])
    assert len(entries(Action.ARTIFACTS_CHANGED)) == 2


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"kind": "image", "digest": DIGEST, "committed_at": "2026-11-20T08:00Z"}, "committed_at"),
        ({"kind": "commit", "digest": COMMIT, "committed_at": "yesterday"}, "committed_at"),
        ({"kind": "commit", "digest": COMMIT, "committed_at": 12}, "committed_at"),
        ({"kind": "commit", "digest": COMMIT, "committed_at": "2999-01-01T00:00Z"}, "committed_at"),
    ],
    ids=["not-a-commit", "not-a-time", "a-number", "in-the-future"],
)
def test_a_bad_commit_time_is_a_400_and_changes_nothing(client, team, row, field):
    release_open_now(team, version="3.0.0", approve=False)
    response = post(client, new_token(team), [{"name": "src", **row}])
    assert response.status_code == 400
    assert response.json()["error"] == "validation_failed"
    assert field in json.dumps(response.json())
    assert not Artifact.objects.exists()
    assert not entries(Action.ARTIFACTS_CHANGED)


def test_the_service_refuses_a_commit_time_without_a_time_zone(team, release):
    with pytest.raises(ValidationError) as error:
        services.artifacts_report(
            release=release,
            actor=team["rm"],
            artifacts=[
                {
                    "name": "src",
                    "kind": "commit",
                    "digest": COMMIT,
                    "committed_at": datetime(2026, 1, 1),
                }
            ],
        )
    assert "time zone" in error.value.message_dict["committed_at"][0]
    assert not Artifact.objects.exists()


def test_commit_times_are_fixed_once_approved_like_the_artifacts(client, team):
    release_open_now(team, version="3.0.0")
    row = {"name": "src", "kind": "commit", "digest": COMMIT, "committed_at": "2026-11-20T08:00Z"}
    response = post(client, new_token(team), [row])
    assert response.status_code == 409
    assert not Artifact.objects.exists()


def test_another_products_token_cannot_report_a_commit_time(client, team):
    release_open_now(team, version="3.0.0", approve=False)
    other = ProductFactory(name="Ledger", slug="ledger")
    token = new_token(team, name="ci-ledger", products=[other])
    row = {"name": "src", "kind": "commit", "digest": COMMIT, "committed_at": "2026-11-20T08:00Z"}
    assert post(client, token, [row]).status_code in (403, 404)
    assert not Artifact.objects.exists()


# --- the metric ---------------------------------------------------------------------------


def test_lead_time_starts_at_the_earliest_reported_commit_time(release_manager):
    """Payments, March 2026 (UTC):

    A created 03-01 10:00, deployed 03-10 10:00; commits reported at 02-27 10:00 and
      02-25 10:00, an image without a time → from the earliest, 02-25 10:00:
      4 days to 03-01 + 9 days = 13 days = 312 h (216 h had it started at creation).
    B created 03-05 10:00, deployed 03-06 10:00; a commit reported without a time
      → from creation: 24 h.
    C created 03-01 00:00, committed 03-02 00:00, deployed 03-03 00:00 → from the
      commit time (present, so used even though later than creation): 24 h.
    March mean: (312 + 24 + 24) / 3 = 120 h.
    """
    product = ProductFactory(name="Payments", slug="payments")
    a, b, c = (
        ReleaseFactory(product=product, version=v, created_by=release_manager)
        for v in ("1.0.0", "1.1.0", "1.2.0")
    )
    report = lambda release, rows: services.artifacts_report(  # noqa: E731
        release=release, actor=release_manager, artifacts=rows
    )
    report(
        a,
        [
            {"name": "api", "kind": "commit", "digest": COMMIT, "committed_at": at(27, 10, 2)},
            {
                "name": "web",
                "kind": "commit",
                "digest": OTHER_COMMIT,
                "committed_at": at(25, 10, 2),
            },
            {"name": "image", "kind": "image", "digest": DIGEST},
        ],
    )
    report(b, [{"name": "api", "kind": "commit", "digest": COMMIT}])
    report(c, [{"name": "api", "kind": "commit", "digest": COMMIT, "committed_at": at(2, 0)}])
    for release, created, deployed in (
        (a, at(1, 10), at(10, 10)),
        (b, at(5, 10), at(6, 10)),
        (c, at(1, 0), at(3, 0)),
    ):
        Release.objects.filter(pk=release.pk).update(created_at=created, deployed_at=deployed)
    [march] = metrics_compute(
        releases=Release.objects.filter(product=product),
        period="month",
        start=date(2026, 3, 1),
        end=date(2026, 3, 31),
    ).buckets
    assert march.lead_time_hours == 120.0


def test_without_commit_times_lead_time_still_starts_at_creation(release_manager):
    """One release created 03-01 10:00, deployed 03-02 16:00 = 30 h; no artifacts."""
    release = ReleaseFactory(
        product=ProductFactory(name="Payments", slug="payments"), created_by=release_manager
    )
    Release.objects.filter(pk=release.pk).update(created_at=at(1, 10), deployed_at=at(2, 16))
    [march] = metrics_compute(
        releases=Release.objects.all(),
        period="month",
        start=date(2026, 3, 1),
        end=date(2026, 3, 31),
    ).buckets
    assert march.lead_time_hours == 30.0
