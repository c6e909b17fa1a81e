"""Attestations under real concurrency on PostgreSQL: threads with their own connections.

Issuing runs inside the change-log writer's transaction, under its chain-head
lock, so racing approvals and halts can neither sign twice nor leave an
approval in force after a halt.
"""

import pytest

from approvals import services
from approvals.lifecycle import Status
from attestations.models import Attestation, AttestationKey, AttestationKind
from tests.factories import ACCOUNTABLES, build_team, release_in_review
from tests.helpers import (
    ATTESTED_IMAGE,
    approve_all,
    attestation_key_pem,
    release_attested,
    run_together,
    sign,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def attesting(settings) -> str:
    settings.ATTESTATION_SIGNING_KEY = attestation_key_pem()
    settings.ATTESTATION_SIGNING_KEY_FILE = ""
    settings.ATTESTATION_KEY_ID = "k1"
    return settings.ATTESTATION_SIGNING_KEY


def test_the_last_two_approvals_at_the_same_instant_issue_one_attestation(attesting):
    team = build_team()
    release = release_in_review(team)
    services.artifacts_report(
        release=release,
        actor=team["rm"],
        artifacts=[{"name": "payments-image", "kind": "image", "digest": ATTESTED_IMAGE}],
    )
    last_two = ["Test thresholds", "Go/no-go decision"]
    approve_all(release, team, skip=last_two)

    def approve(name):
        return lambda: sign(release, team[ACCOUNTABLES[name]], name)

    results = run_together([approve(name) for name in last_two])
    assert not [r for r in results if isinstance(r, Exception)], results
    release.refresh_from_db()
    assert release.status == Status.APPROVED
    (attestation,) = Attestation.objects.filter(release=release)
    assert attestation.kind == AttestationKind.APPROVAL
    signed = attestation.envelope_statement()["predicate"]["signoffs"]
    assert {s["activity"] for s in signed} == set(ACCOUNTABLES)
    assert AttestationKey.objects.count() == 1


def test_two_halts_at_the_same_instant_revoke_once(attesting):
    team = build_team()
    release = release_attested(team, version="3.0.0", key_pem=attesting, key_id="k1")

    def halt(user):
        return lambda: services.release_halt(release=release, actor=team[user], reason="Stop")

    results = run_together([halt("rm"), halt("dev")])
    assert sum(isinstance(r, Exception) for r in results) == 1, results
    kinds = list(
        Attestation.objects.filter(release=release).order_by("id").values_list("kind", flat=True)
    )
    assert kinds == ["approval", "revocation"]
