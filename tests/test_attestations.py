"""Approval attestations: signed in-toto statements a deploy gate verifies offline.

Every check of an envelope goes through two verifiers that share no code:
Relapp's own (attestations.dsse) and the shipped script
(attestations/verify_attestation.py, run as a separate Python process with
the standard library and `cryptography` only). The statement is also parsed
with the in-toto attestation framework's own Python bindings.
"""

import base64
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import google.protobuf.json_format as protobuf_json
import in_toto_attestation.v1.statement_pb2 as statement_pb2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.utils import timezone
from in_toto_attestation.v1.statement import Statement

from approvals import services
from approvals.artifacts import artifact_set_sha256
from approvals.lifecycle import Status
from approvals.models import Release
from approvals.selectors import policy_for
from attestations import verify_attestation
from attestations.dsse import (
    EnvelopeInvalid,
    SigningKey,
    attestation_key_check,
    envelope_sign,
    envelope_verify,
    keyid_for,
)
from attestations.models import Attestation, AttestationKey, AttestationKind
from audit.models import Action, ChangeLogEntry
from audit.signing import load_public_key, public_key_pem
from tests.factories import PASSWORD, activity
from tests.helpers import (
    ATTESTED_COMMIT,
    ATTESTED_IMAGE,
    attestation_key_pem,
    new_token,
    release_attested,
    release_open_now,
    sign,
)

pytestmark = pytest.mark.django_db

SCRIPT = Path(verify_attestation.__file__)
URL = "/api/v1/releases/payments-api/{version}/attestation"
KEYS_URL = "/.well-known/relapp/attestation-keys.json"
OTHER_DIGEST = "sha256:" + "77" * 32


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


@pytest.fixture
def attesting(settings, key):
    """The attestation key is configured (as ATTESTATION_SIGNING_KEY would be)."""
    settings.ATTESTATION_SIGNING_KEY = attestation_key_pem(key)
    settings.ATTESTATION_SIGNING_KEY_FILE = ""
    settings.ATTESTATION_KEY_ID = ""
    return settings


def approved_release(team, version="3.0.0"):
    """Approved with artifacts while the `attesting` key is configured."""
    release = release_open_now(team, version=version, approve=False)
    services.artifacts_report(
        release=release,
        actor=team["rm"],
        artifacts=[
            {"name": "payments-image", "kind": "image", "digest": ATTESTED_IMAGE},
            {"name": "payments-src", "kind": "commit", "digest": ATTESTED_COMMIT},
        ],
    )
    for name, username in (
        ("Business scope", "po"),
        ("Test thresholds", "qa"),
        ("Operational readiness", "sre"),
        ("Deployment & rollback plan", "rm"),
        ("Go/no-go decision", "rm"),
    ):
        sign(release, team[username], name)
    release.refresh_from_db()
    return release


def fetch(client, team, version="3.0.0", token=None):
    if token is None:
        if "token" not in team:
            team["token"] = new_token(team)
        token = team["token"]
    return client.get(URL.format(version=version), headers={"Authorization": f"Bearer {token}"})


def statement_of(envelope: dict) -> dict:
    return json.loads(base64.b64decode(envelope["payload"]))


def with_payload(envelope: dict, payload: bytes) -> dict:
    return {**envelope, "payload": base64.b64encode(payload).decode()}


def run_script(tmp_path, document, *args: str) -> subprocess.CompletedProcess:
    """The shipped verifier as a deploy gate runs it: its own process, no Django, no Relapp."""
    path = tmp_path / "envelope.json"
    path.write_text(json.dumps(document))
    command = [sys.executable, "-I", str(SCRIPT), str(path), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)  # noqa: S603


def pem_file(tmp_path, key, name="key.pem") -> str:
    path = tmp_path / name
    path.write_text(public_key_pem(key))
    return str(path)


# --- issuing ----------------------------------------------------------------------


def test_an_approved_release_s_envelope_verifies_with_the_public_key(
    client, team, attesting, key, tmp_path
):
    approved_release(team)
    response = fetch(client, team)
    assert response.status_code == 200
    envelope = response.json()
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert envelope["signatures"][0]["keyid"] == keyid_for(key.public_key())

    keyid, statement = envelope_verify(envelope, {"*": key.public_key()})
    assert keyid == keyid_for(key.public_key())
    run = run_script(tmp_path, envelope, "--key", pem_file(tmp_path, key))
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == "OK: payments-api 3.0.0 is approved"
    assert "signed: Business scope: " in run.stdout

    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://relapp.dev/approval/v1"
    assert statement["subject"] == [
        {
            "name": "payments-image",
            "digest": {"sha256": ATTESTED_IMAGE.removeprefix("sha256:")},
            "annotations": {"kind": "image"},
        },
        {
            "name": "payments-src",
            "digest": {"gitCommit": ATTESTED_COMMIT},
            "annotations": {"kind": "commit"},
        },
    ]


def test_the_predicate_names_the_rad_every_required_signoff_and_the_approval_entry(
    client, team, attesting
):
    release = approved_release(team)
    predicate = statement_of(fetch(client, team).json())["predicate"]
    current = services.rad_current(release)
    approved = ChangeLogEntry.objects.get(release=release, action=Action.RELEASE_APPROVED)

    assert predicate["product"] == {"slug": "payments-api", "name": "Payments API"}
    assert predicate["version"] == "3.0.0"
    assert predicate["rad"] == {"revision": current.number, "sha256": current.sha256}
    assert predicate["artifacts_sha256"] == artifact_set_sha256(release.artifacts.all())
    assert predicate["changelog"] == {
        "seq": approved.seq,
        "hash": approved.hash,
        "action": "release.approved",
    }
    assert predicate["policy"] == {"version": 0, "approval_validity_days": 14}
    assert predicate["window"]["start"].startswith(release.window_start.strftime("%Y-%m-%dT%H"))
    signoffs = {s["activity"]: s for s in predicate["signoffs"]}
    assert len(signoffs) == 5
    scope = signoffs["Business scope"]
    live = release.signoffs.get(activity__name="Business scope", voided_at__isnull=True)
    assert scope["signer"] == live.printed_name
    assert scope["method"] == "e-signature"
    assert scope["meaning"] == live.meaning
    assert scope["rad_sha256"] == current.sha256
    assert scope["artifacts_sha256"] == predicate["artifacts_sha256"]
    assert scope["signed_at"].startswith(live.signed_at.strftime("%Y-%m-%dT%H:%M"))


def test_a_policy_change_gives_a_new_policy_version(client, team, attesting):
    policy = policy_for(team["product"])
    policy.approval_validity_days = 7
    services.policy_save(policy=policy, actor=team["rm"], changed=["approval_validity_days"])
    changed = ChangeLogEntry.objects.get(action=Action.POLICY_CHANGED)
    approved_release(team)
    predicate = statement_of(fetch(client, team).json())["predicate"]
    assert predicate["policy"] == {"version": changed.seq, "approval_validity_days": 7}


def test_nothing_is_issued_before_approval_or_without_artifacts(client, team, attesting):
    in_review = release_open_now(team, version="3.0.0", approve=False)
    response = fetch(client, team)
    assert response.status_code == 404
    assert "not been approved" in response.json()["detail"]
    release_open_now(team, version="3.1.0")  # approved, but ships nothing to attest
    assert fetch(client, team, version="3.1.0").status_code == 404
    assert not Attestation.objects.exists()
    assert Release.objects.get(pk=in_review.pk).status == Status.IN_REVIEW


def test_without_a_configured_key_nothing_is_signed(client, team, settings):
    settings.ATTESTATION_SIGNING_KEY = ""
    settings.ATTESTATION_SIGNING_KEY_FILE = ""
    release = approved_release(team)
    assert release.status == Status.APPROVED
    assert fetch(client, team).status_code == 404


# --- tampering ----------------------------------------------------------------------


def tampered(envelope: dict) -> dict[str, dict]:
    payload = base64.b64decode(envelope["payload"])
    statement = statement_of(envelope)
    statement["subject"][0]["digest"]["sha256"] = OTHER_DIGEST.removeprefix("sha256:")
    signature = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    signature[0] ^= 1
    flipped = bytearray(payload)
    flipped[len(flipped) // 2] ^= 1
    return {
        "one payload byte": with_payload(envelope, bytes(flipped)),
        "a subject digest": with_payload(
            envelope, json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
        ),
        "the signature": {
            **envelope,
            "signatures": [
                {**envelope["signatures"][0], "sig": base64.b64encode(signature).decode()}
            ],
        },
        "the payload type": {**envelope, "payloadType": "application/json"},
    }


def test_changing_a_payload_byte_a_digest_or_the_signature_fails_verification(
    client, team, attesting, key, tmp_path
):
    approved_release(team)
    envelope = fetch(client, team).json()
    pem = pem_file(tmp_path, key)
    for what, forged in tampered(envelope).items():
        with pytest.raises(EnvelopeInvalid):
            envelope_verify(forged, {"*": key.public_key()})
        run = run_script(tmp_path, forged, "--key", pem)
        assert run.returncode == 1, what
        assert run.stdout.startswith("FAILED: "), (what, run.stdout)
    with pytest.raises(CommandError, match="FAILED: no signature verifies"):
        path = tmp_path / "forged.json"
        path.write_text(json.dumps(tampered(envelope)["the signature"]))
        call_command("verify_attestation", str(path), "--key", pem)


def test_another_key_does_not_verify_it(client, team, attesting, tmp_path):
    approved_release(team)
    envelope = fetch(client, team).json()
    stranger = Ed25519PrivateKey.generate()
    with pytest.raises(EnvelopeInvalid):
        envelope_verify(envelope, {"*": stranger.public_key()})
    run = run_script(tmp_path, envelope, "--key", pem_file(tmp_path, stranger))
    assert run.returncode == 1


def test_the_artifact_check_accepts_only_approved_digests(client, team, attesting, key, tmp_path):
    approved_release(team)
    envelope = fetch(client, team).json()
    pem = pem_file(tmp_path, key)
    for digest in (ATTESTED_IMAGE, ATTESTED_COMMIT, ATTESTED_IMAGE.upper().replace("SHA", "sha")):
        run = run_script(tmp_path, envelope, "--key", pem, "--artifact", digest)
        assert run.returncode == 0, run.stdout
    run = run_script(tmp_path, envelope, "--key", pem, "--artifact", OTHER_DIGEST)
    assert run.returncode == 1
    assert run.stdout.splitlines()[-1] == (
        f"FAILED: {OTHER_DIGEST} is not one of the approved artifacts of payments-api 3.0.0"
    )


# --- the management command -------------------------------------------------------------


def test_verify_attestation_prints_what_was_approved_by_whom_for_which_digest(
    client, team, attesting, key, tmp_path, capsys
):
    release = approved_release(team)
    path = tmp_path / "attestation.json"
    path.write_text(json.dumps(fetch(client, team).json()))
    pem = pem_file(tmp_path, key)
    call_command("verify_attestation", str(path), "--key", pem, "--artifact", ATTESTED_IMAGE)
    out = capsys.readouterr().out
    current = services.rad_current(release)
    assert f"RAD revision {current.number} sha256 {current.sha256}" in out
    for signoff in release.signoffs.filter(voided_at__isnull=True):
        assert f"{signoff.activity.name}: {signoff.printed_name}, e-signature" in out
    assert f"subject: payments-image {ATTESTED_IMAGE}" in out
    assert out.splitlines()[-1] == f"OK: payments-api 3.0.0 is approved for {ATTESTED_IMAGE}"
    with pytest.raises(CommandError, match="is not one of the approved artifacts"):
        call_command("verify_attestation", str(path), "--key", pem, "--artifact", OTHER_DIGEST)
    (tmp_path / "garbage.json").write_text("{not json")
    with pytest.raises(CommandError, match="FAILED"):
        call_command("verify_attestation", str(tmp_path / "garbage.json"), "--key", pem)


# --- revocation -------------------------------------------------------------------------


def test_a_halt_supersedes_the_approval_with_a_revocation(client, team, attesting, key, tmp_path):
    release = approved_release(team)
    approval = fetch(client, team).json()
    services.release_halt(release=release, actor=team["rm"], reason="Fraud spike")

    response = fetch(client, team)
    assert response.status_code == 410
    revocation = response.json()
    _, statement = envelope_verify(revocation, {"*": key.public_key()})
    assert statement["predicateType"] == "https://relapp.dev/approval-revocation/v1"
    assert statement["subject"] == statement_of(approval)["subject"]
    halted = ChangeLogEntry.objects.get(release=release, action=Action.RELEASE_HALTED)
    assert statement["predicate"]["changelog"]["seq"] == halted.seq
    assert statement["predicate"]["reason"] == "Fraud spike"
    first = Attestation.objects.get(release=release, kind=AttestationKind.APPROVAL)
    assert statement["predicate"]["revokes"]["payload_sha256"] == first.payload_sha256
    # The halt also voided the Go/no-go signature: still one revocation, not two.
    assert ChangeLogEntry.objects.filter(release=release, action=Action.SIGNOFF_VOIDED).exists()
    assert Attestation.objects.filter(release=release).count() == 2

    # The history (as the evidence pack holds it) no longer verifies as approved.
    history = {"attestations": [{"envelope": approval}, {"envelope": revocation}]}
    run = run_script(tmp_path, history, "--key", pem_file(tmp_path, key))
    assert run.returncode == 1
    assert "REVOKED: payments-api 3.0.0" in run.stdout
    assert run.stdout.splitlines()[-1] == "FAILED: the approval of payments-api 3.0.0 was revoked"


def test_resuming_issues_a_new_approval_naming_the_new_signature(client, team, attesting):
    release = approved_release(team)
    services.release_halt(release=release, actor=team["rm"], reason="Fraud spike")
    sign(release, team["rm"], "Go/no-go decision")
    response = fetch(client, team)
    assert response.status_code == 200
    predicate = statement_of(response.json())["predicate"]
    resumed = ChangeLogEntry.objects.get(release=release, action=Action.RELEASE_RESUMED)
    assert predicate["changelog"]["seq"] == resumed.seq
    assert predicate["status"] == Status.APPROVED
    go = release.signoffs.get(activity__name="Go/no-go decision", voided_at__isnull=True)
    signed = {s["activity"]: s["signed_at"] for s in predicate["signoffs"]}
    assert signed["Go/no-go decision"].startswith(go.signed_at.strftime("%Y-%m-%dT%H:%M:%S"))
    kinds = list(Attestation.objects.filter(release=release).values_list("kind", flat=True))
    assert kinds == ["approval", "revocation", "approval"]


def test_an_expired_approval_is_revoked_and_re_signing_issues_a_fresh_one(client, team, attesting):
    release = approved_release(team)
    later = release.approved_at + timedelta(days=15)
    assert services.approvals_expire(now=later) == {"expired": 1, "verbal_unconfirmed": 0}
    response = fetch(client, team)
    assert response.status_code == 410
    assert "expired" in statement_of(response.json())["predicate"]["reason"]
    sign(release, team["rm"], "Go/no-go decision")
    fresh = statement_of(fetch(client, team).json())["predicate"]
    release.refresh_from_db()
    assert fresh["approved_at"].startswith(release.approved_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert fresh["expires_at"] > fresh["approved_at"]


def test_cancelling_an_approved_release_revokes_it(client, team, attesting):
    release = approved_release(team)
    services.release_cancel(release=release, actor=team["rm"], reason="Superseded by 3.0.1")
    response = fetch(client, team)
    assert response.status_code == 410
    assert statement_of(response.json())["predicate"]["status"] == Status.CANCELLED


def test_a_voided_signature_revokes_the_approval_even_when_the_release_stays_approved(
    client, team, attesting
):
    """Whatever service voids a signature, the approval in force is withdrawn."""
    release = approved_release(team)
    with transaction.atomic():
        services.signoffs_void(
            release=services.release_lock(release),
            actor=team["rm"],
            reason="Signer left the company",
            activity__name="Business scope",
        )
    response = fetch(client, team)
    assert response.status_code == 410
    assert statement_of(response.json())["predicate"]["reason"] == "Signer left the company"


def test_a_failed_halt_issues_nothing(client, team, attesting):
    release = approved_release(team)
    with pytest.raises(Exception, match="reason"):
        services.release_halt(release=release, actor=team["rm"], reason="  ")
    assert fetch(client, team).status_code == 200
    assert Attestation.objects.filter(release=release).count() == 1


# --- keys and rotation ----------------------------------------------------------------


def test_key_rotation_keeps_old_attestations_verifiable_within_their_period(
    client, team, settings, tmp_path
):
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    first = release_attested(team, version="3.0.0", key_pem=attestation_key_pem(old), key_id="k1")
    second = release_attested(team, version="3.1.0", key_pem=attestation_key_pem(new), key_id="k2")
    document = client.get(KEYS_URL).json()
    assert [k["keyid"] for k in document["keys"]] == ["k1", "k2"]
    k1, k2 = document["keys"]
    assert k1["valid_until"] == k2["valid_from"] and k2["valid_until"] is None
    assert load_public_key(k1["public_key_pem"]).public_bytes_raw() == (
        old.public_key().public_bytes_raw()
    )
    keys_path = tmp_path / "keys.json"
    keys_path.write_text(json.dumps(document))

    old_envelope = fetch(client, team, version="3.0.0").json()
    new_envelope = fetch(client, team, version="3.1.0").json()
    assert old_envelope["signatures"][0]["keyid"] == "k1"
    assert new_envelope["signatures"][0]["keyid"] == "k2"
    for envelope in (old_envelope, new_envelope):
        run = run_script(tmp_path, envelope, "--keys", str(keys_path))
        assert run.returncode == 0, run.stdout
    with pytest.raises(EnvelopeInvalid):
        envelope_verify(old_envelope, {"*": new.public_key()})

    # An envelope claiming k1 but issued after k1's period ended is refused.
    shrunk = {**document, "keys": [{**k1, "valid_until": k1["valid_from"]}, k2]}
    keys_path.write_text(json.dumps(shrunk))
    run = run_script(tmp_path, old_envelope, "--keys", str(keys_path))
    assert run.returncode == 1
    assert "outside the validity period of key k1" in run.stdout
    assert {first.pk, second.pk} == set(Attestation.objects.values_list("release_id", flat=True))


def test_a_key_id_cannot_be_reused_for_another_key(client, team):
    release_attested(team, version="3.0.0", key_id="k1")
    with pytest.raises(Exception, match="already names another public key"):
        release_attested(team, version="3.1.0", key_id="k1")
    # The refused approval rolled back with its attestation.
    assert Release.objects.get(version="3.1.0").status == Status.IN_REVIEW
    assert AttestationKey.objects.count() == 1


def test_the_public_keys_are_published_without_an_account(client, team, attesting, key):
    approved_release(team)
    response = client.get(KEYS_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    (row,) = response.json()["keys"]
    assert row["keyid"] == keyid_for(key.public_key())
    assert row["algorithm"] == "ed25519"
    assert client.post(KEYS_URL).status_code == 405


def test_issued_attestations_and_keys_are_never_rewritten(client, team, attesting):
    approved_release(team)
    attestation = Attestation.objects.get()
    attestation.envelope = {"payloadType": "forged"}
    with pytest.raises(ValueError, match="append-only"):
        attestation.save()
    with pytest.raises(ValueError):
        attestation.delete()
    with pytest.raises(ValueError):
        AttestationKey.objects.get().delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        AttestationKey.objects.create(
            keyid=AttestationKey.objects.get().keyid,
            public_key_pem="x",
            valid_from=attestation.issued_at,
        )


# --- who may read it ------------------------------------------------------------------


def test_readers_get_it_and_everyone_else_is_refused_like_elsewhere_in_the_api(
    client, team, attesting
):
    approved_release(team)
    url = URL.format(version="3.0.0")
    assert client.get(url).status_code == 401
    client.force_login(team["auditor"])
    assert client.get(url).status_code == 200
    client.force_login(team["ii"])  # Informed: may see the release
    assert client.get(url).status_code == 200
    client.force_login(team["outsider"])
    assert client.get(url).json()["detail"] == "No such release."
    assert client.get(url).status_code == 404
    client.logout()

    other = services.product_create(name="Card vault", slug="card-vault", actor=team["rm"])
    token = new_token(team, name="ci-vault", products=[other])
    before = ChangeLogEntry.objects.filter(action=Action.ACCESS_REFUSED).count()
    assert fetch(client, team, token=token).status_code == 403
    assert ChangeLogEntry.objects.filter(action=Action.ACCESS_REFUSED).count() == before + 1
    assert client.get(url, headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert (
        client.get(
            URL.format(version="9.9.9"),
            headers={"Authorization": f"Bearer {new_token(team, name='ci-2')}"},
        ).status_code
        == 404
    )
    assert (
        client.post(
            url, headers={"Authorization": f"Bearer {new_token(team, name='ci-3')}"}
        ).status_code
        == 405
    )


# --- interoperability -------------------------------------------------------------------


def test_the_statement_parses_with_the_in_toto_attestation_bindings(client, team, attesting):
    approved_release(team)
    envelope = fetch(client, team).json()
    parsed = protobuf_json.Parse(base64.b64decode(envelope["payload"]), statement_pb2.Statement())
    Statement.copy_from_pb(parsed).validate()
    assert parsed.type == "https://in-toto.io/Statement/v1"
    assert parsed.predicate_type == "https://relapp.dev/approval/v1"
    assert [(s.name, dict(s.digest)) for s in parsed.subject] == [
        ("payments-image", {"sha256": ATTESTED_IMAGE.removeprefix("sha256:")}),
        ("payments-src", {"gitCommit": ATTESTED_COMMIT}),
    ]
    assert parsed.predicate["version"] == "3.0.0"


def test_the_revocation_parses_with_the_in_toto_attestation_bindings(client, team, attesting):
    release = approved_release(team)
    services.release_halt(release=release, actor=team["rm"], reason="Fraud spike")
    envelope = fetch(client, team).json()
    parsed = protobuf_json.Parse(base64.b64decode(envelope["payload"]), statement_pb2.Statement())
    Statement.copy_from_pb(parsed).validate()
    assert parsed.predicate_type == "https://relapp.dev/approval-revocation/v1"


def test_the_shipped_verifier_imports_neither_django_nor_relapp():
    source = SCRIPT.read_text()
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert all(
        line.split()[1].split(".")[0]
        in {"argparse", "base64", "json", "sys", "datetime", "pathlib", "typing", "cryptography"}
        for line in imports
    ), imports


def test_signing_a_verbal_confirmation_counts_in_the_attested_signoffs(client, team, attesting):
    """A verbal approval, once confirmed, is named with its method and recorder."""
    release = release_open_now(team, version="3.0.0", approve=False)
    services.artifacts_report(
        release=release,
        actor=team["rm"],
        artifacts=[{"name": "payments-image", "kind": "image", "digest": ATTESTED_IMAGE}],
    )
    for name, username in (
        ("Business scope", "po"),
        ("Test thresholds", "qa"),
        ("Deployment & rollback plan", "rm"),
        ("Go/no-go decision", "rm"),
    ):
        sign(release, team[username], name)
    verbal = services.signoff_record_verbal(
        release=release,
        activity_id=activity(release, "Operational readiness").pk,
        recorded_by=team["rm"],
        channel="call",
        given_at=timezone.now(),
        note="",
    )
    assert fetch(client, team).status_code == 404  # a pending verbal does not approve
    services.signoff_verbal_respond(
        signoff=verbal, actor=team["sre"], confirm=True, note="", password=PASSWORD
    )
    predicate = statement_of(fetch(client, team).json())["predicate"]
    ops = next(s for s in predicate["signoffs"] if s["activity"] == "Operational readiness")
    assert ops["method"] == "verbal" and ops["recorded_by"] == "rm"


def test_an_approval_past_its_expiry_no_longer_verifies_as_approved(
    client, team, attesting, key, tmp_path
):
    approved_release(team)
    statement = statement_of(fetch(client, team).json())
    statement["predicate"]["expires_at"] = "2020-01-01T00:00:00.000000Z"
    signing = SigningKey(keyid="test", private=key)
    expired = envelope_sign(statement, signing)
    run = run_script(tmp_path, expired, "--key", pem_file(tmp_path, key))
    assert run.returncode == 1
    assert run.stdout.splitlines()[-1] == (
        "FAILED: the approval of payments-api 3.0.0 expired at 2020-01-01T00:00:00.000000Z"
    )
    path = tmp_path / "expired.json"
    path.write_text(json.dumps(expired))
    with pytest.raises(CommandError, match="expired at 2020-01-01"):
        call_command("verify_attestation", str(path), "--key", pem_file(tmp_path, key))


def test_an_unusable_key_never_stops_a_halt_and_the_approval_stops_being_served(
    client, team, settings, caplog
):
    release = release_attested(team, version="3.0.0", key_id="k1")
    assert fetch(client, team).status_code == 200
    # Another key under the same id: the revocation cannot be signed.
    settings.ATTESTATION_SIGNING_KEY = attestation_key_pem()
    settings.ATTESTATION_KEY_ID = "k1"
    services.release_halt(release=release, actor=team["rm"], reason="Fraud spike")
    release.refresh_from_db()
    assert release.status == Status.HALTED
    assert "was not signed" in caplog.text
    response = fetch(client, team)
    assert response.status_code == 410
    assert "could not be signed" in response.json()["detail"]
    assert Attestation.objects.filter(release=release).count() == 1


def test_a_missing_key_file_never_stops_a_halt_but_refuses_an_unsigned_approval(
    client, team, settings
):
    release = release_attested(team, version="3.0.0")
    settings.ATTESTATION_SIGNING_KEY = ""
    settings.ATTESTATION_SIGNING_KEY_FILE = "/nonexistent/attestation-key.pem"
    services.release_halt(release=release, actor=team["rm"], reason="Fraud spike")
    assert fetch(client, team).status_code == 410
    # Resuming needs a signed approval: with the key unreadable, the signature fails
    # and changes nothing.
    with pytest.raises(OSError):
        sign(release, team["rm"], "Go/no-go decision")
    release.refresh_from_db()
    assert release.status == Status.HALTED
    assert not release.signoffs.filter(
        activity__name="Go/no-go decision", voided_at__isnull=True
    ).exists()


def test_the_system_check_names_an_unusable_key(settings, tmp_path):
    settings.ATTESTATION_SIGNING_KEY = ""
    settings.ATTESTATION_SIGNING_KEY_FILE = str(tmp_path / "missing.pem")
    assert [e.id for e in attestation_key_check()] == ["attestations.E001"]
    rsa_like = tmp_path / "not-a-key.pem"
    rsa_like.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    settings.ATTESTATION_SIGNING_KEY_FILE = str(rsa_like)
    assert [e.id for e in attestation_key_check()] == ["attestations.E001"]
    good = tmp_path / "good.pem"
    good.write_text(attestation_key_pem())
    settings.ATTESTATION_SIGNING_KEY_FILE = str(good)
    assert attestation_key_check() == []
    settings.ATTESTATION_SIGNING_KEY_FILE = ""
    assert attestation_key_check() == []


def test_the_public_key_command_prints_the_key_verify_attestation_takes(
    client, team, attesting, key, tmp_path, capsys
):
    approved_release(team)
    call_command("attestation_public_key")
    printed = capsys.readouterr()
    assert printed.out == public_key_pem(key)
    assert printed.err.strip() == f"key id {keyid_for(key.public_key())}"
    (tmp_path / "key.pem").write_text(printed.out)
    (tmp_path / "attestation.json").write_text(json.dumps(fetch(client, team).json()))
    call_command(
        "verify_attestation", str(tmp_path / "attestation.json"), "--key", str(tmp_path / "key.pem")
    )
    assert capsys.readouterr().out.splitlines()[-1] == "OK: payments-api 3.0.0 is approved"


def test_the_public_key_command_says_when_no_key_is_configured(settings):
    settings.ATTESTATION_SIGNING_KEY = ""
    settings.ATTESTATION_SIGNING_KEY_FILE = ""
    with pytest.raises(CommandError, match="No attestation key"):
        call_command("attestation_public_key")


def test_the_release_page_shows_the_panel_only_once_an_attestation_exists(client, team, attesting):
    release = release_open_now(team, version="3.0.0", approve=False)
    client.force_login(team["auditor"])
    assert 'id="attestation"' not in client.get(release.get_absolute_url()).content.decode()
    release = approved_release(team, version="3.1.0")
    page = client.get(release.get_absolute_url()).content.decode()
    assert 'id="attestation"' in page
    assert "/api/v1/releases/payments-api/3.1.0/attestation?format=json" in page
