"""Sign-offs: e-signatures, verbal approvals and their confirmation (docs/domain.md)."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from approvals import selectors
from approvals.artifacts import artifact_set, artifact_set_sha256
from approvals.lifecycle import SIGNABLE, Status, Transition
from approvals.models import (
    Decision,
    GateCheck,
    Release,
    SignOff,
    SignOffMethod,
    VerbalState,
)
from approvals.rules import (
    counts_toward_approval,
    cutoff_ack_refusal,
    decision_refusal,
    delegation_active,
    is_required,
    judged_risk_categories,
    meaning_text,
    routing_for,
    signoff_verdict,
    team_approval_met,
)
from approvals.selectors import policy_for
from approvals.services.base import (
    DomainError,
    db_now,
    release_lock,
    release_transition,
    signoffs_void,
)
from approvals.services.policies import policy_version_current
from approvals.services.rad import rad_current
from audit.changelog import changelog_record
from audit.models import Action
from raci.models import Activity, Delegation, Letter
from relapp.credentials import (
    SSO_REAUTH,
    CredentialCheck,
    ProviderReauthentication,
    signature_credentials_check,
)


class SignOffRefused(DomainError):
    """A sign-off that may not be given. `forbidden` ones answer 403.

    `wrong_credential` ones (a wrong password or authenticator code) count
    towards the signature lockout (approvals.views).
    """

    def __init__(self, message: str, *, forbidden: bool = False, wrong_credential: bool = False):
        super().__init__(message)
        self.forbidden = forbidden
        self.wrong_credential = wrong_credential


def release_signoff_state(release: Release):
    """(current revision, activities, readiness reasons), read inside the caller's transaction."""
    current = rad_current(release)
    activities = list(
        Activity.objects.filter(release=release)
        .select_related("team")
        .prefetch_related("assignments", "team__members")
    )
    checks = list(GateCheck.objects.filter(release=release))
    policy = policy_for(release.product)
    ready = selectors.readiness_for(release=release, current=current, checks=checks, policy=policy)
    return current, activities, ready


def _activity(activities, activity_id: int):
    activity = next((a for a in activities if a.pk == activity_id), None)
    if activity is None:
        raise DomainError("This release has no such activity.")
    return activity


def _accountable(activity):
    return next(
        (a.user for a in activity.assignments.all() if a.letter == Letter.ACCOUNTABLE), None
    )


def _responsible_ids(activity) -> set[int]:
    return {a.user_id for a in activity.assignments.all() if a.letter == Letter.RESPONSIBLE}


def _member_ids(activity) -> frozenset[int]:
    if activity.team is None:
        return frozenset()
    return frozenset(member.pk for member in activity.team.members.all())


def _live_signoff(activity, current) -> SignOff | None:
    return SignOff.objects.filter(
        activity=activity, revision=current, voided_at__isnull=True
    ).first()


def _refuse(
    *, release, actor, activity, message: str, forbidden: bool, wrong_credential: bool = False
) -> SignOffRefused:
    changelog_record(
        action=Action.SIGNOFF_REFUSED,
        actor=actor,
        release=release,
        obj=activity,
        reason=message,
    )
    return SignOffRefused(message, forbidden=forbidden, wrong_credential=wrong_credential)


def _maybe_approve_release(*, release: Release, activities, current, actor) -> None:
    """The last required approval that counts moves the release on, in the same transaction.

    A pending verbal record does not count (only a hotfix's Go/no-go, within
    the policy's grace hours); see `rules.counts_toward_approval`.
    """
    if current is None or release.status not in SIGNABLE:
        return
    grace = policy_for(release.product).hotfix_verbal_grace_hours
    now = db_now()
    by_activity = {a.pk: a for a in activities}
    seats: dict[int, set[int]] = {}
    for s in SignOff.objects.filter(release=release, revision=current, voided_at__isnull=True):
        if counts_toward_approval(
            signoff=s,
            release=release,
            activity=by_activity[s.activity_id],
            grace_hours=grace,
            now=now,
        ):
            seats.setdefault(s.activity_id, set()).add(s.seat_id)
    routing = routing_for(content=current.content, policy=policy_for(release.product))
    required = [a for a in activities if is_required(release, a, routing)]
    if required and all(_activity_met(a, seats.get(a.pk, set())) for a in required):
        transition = Transition.RESUME if release.status == Status.HALTED else Transition.APPROVE
        release.approved_at = now
        release.policy_version = policy_version_current(product=release.product, actor=actor)
        release.save(update_fields=["approved_at", "policy_version", "updated_at"])
        release_transition(
            release=release,
            transition=transition,
            actor=actor,
            after_extra={
                "revision": current.number,
                "sha256": current.sha256,
                "artifacts_sha256": artifact_set_sha256(release.artifacts.all()),
                "policy_version": release.policy_version.number,
            },
        )


def _activity_met(activity, seats: set[int]) -> bool:
    """A person Accountable approved, or enough different team members did."""
    if activity.team_id:
        return team_approval_met(seats=seats, required=activity.team_required)
    return bool(seats)


def _validate_decision(decision: str, comment: str) -> None:
    if decision not in Decision.values:
        raise ValidationError({"decision": "Choose approve or reject."})
    if decision == Decision.REJECT and not comment:
        raise ValidationError({"comment": "Say why you reject: the reason goes back to the team."})


def _delegation_refusal(*, signer, on_behalf_of) -> str:
    """Why `signer` may not speak for `on_behalf_of` now; "" under a direct delegation in force.

    Only a delegation from the absent person to the signer counts: a delegate's
    own delegate never signs for the first absent person (no re-delegation).
    """
    now = db_now()
    delegations = Delegation.objects.filter(absent=on_behalf_of, delegate=signer)
    if any(delegation_active(delegation=d, now=now) for d in delegations):
        return ""
    absent = on_behalf_of.get_full_name() or on_behalf_of.get_username()
    return f"You have no delegation from {absent} in force now."


def _signoff_refusal(
    *, signer, release, activity, current, ready, decision, revision_number, on_behalf_of=None
) -> tuple[str, bool]:
    """(why the signature is refused, whether that is a 403); ("", False) when it may land.

    The rules decide in order: who may sign (separation of duties) and what the
    release's state allows. Unless the refusal is a 403, `signoff_record` checks
    the credentials (`_credentials_check`) before it and says theirs first.
    """
    if on_behalf_of is not None:
        refusal = _delegation_refusal(signer=signer, on_behalf_of=on_behalf_of)
        if refusal:
            return refusal, True
    verdict = signoff_verdict(
        user=signer,
        release=release,
        activity=activity,
        accountable=_accountable(activity),
        responsible_ids=_responsible_ids(activity),
        current=current,
        ready_reasons=ready,
        team=activity.team,
        member_ids=_member_ids(activity),
        on_behalf_of=on_behalf_of,
        routing=routing_for(
            content=current.content if current else None, policy=policy_for(release.product)
        ),
    )
    if not verdict.allowed:
        return verdict.why, verdict.forbidden
    message = decision_refusal(
        decision=decision,
        status=release.status,
        ready_reasons=ready,
        revision_number=revision_number,
        current_number=current.number,
    )
    return message, False


def _credentials_check(
    *, release, signer, password: str, code: str, reauthenticated=None
) -> CredentialCheck:
    """The password, plus the authenticator code when the signer has one or the policy asks.

    A ProviderReauthentication (built only by relapp.credentials after accounts'
    callback verified the provider's ID token) stands in for both: the signer
    signed in again at the provider after clicking.
    """
    if reauthenticated is not None:
        if isinstance(reauthenticated, ProviderReauthentication) and (
            reauthenticated.user_pk == signer.pk
        ):
            return CredentialCheck(components=SSO_REAUTH)
        return CredentialCheck(refusal="The re-authentication is not this signer's.")
    return signature_credentials_check(
        user=signer,
        password=password,
        code=code,
        require_two=policy_for(release.product).signature_requires_two_components,
    )


def _signoff_create(
    *, release, activity, current, signer, decision, comment, on_behalf_of=None, **method
) -> SignOff:
    """Write the signature with its manifestation (printed name, time, meaning, hashes).

    It covers the RAD revision and the artifact set as they are now.
    """
    artifacts = artifact_set(release.artifacts.all())
    artifacts_sha256 = artifact_set_sha256(artifacts) if artifacts else ""
    meaning = meaning_text(
        decision=decision,
        activity=activity,
        release=release,
        revision_number=current.number,
        artifacts_sha256=artifacts_sha256,
        judged_risks=_judged_risks(release, activity),
    )
    if on_behalf_of is not None:
        meaning += f", on behalf of {on_behalf_of.get_full_name() or on_behalf_of.get_username()}"
    return SignOff.objects.create(
        release=release,
        activity=activity,
        revision=current,
        signer=signer,
        decision=decision,
        comment=comment,
        printed_name=signer.get_full_name() or signer.get_username(),
        signed_at=db_now(),
        meaning=meaning,
        revision_number=current.number,
        revision_sha256=current.sha256,
        artifacts=artifacts,
        artifacts_sha256=artifacts_sha256,
        seat=on_behalf_of or signer,
        on_behalf_of=on_behalf_of,
        **method,
    )


def _signoff_apply(*, release, activities, signoff, signer) -> None:
    """A rejection sends the release back to draft; an approval may complete it."""
    activity, current = signoff.activity, signoff.revision
    if signoff.decision == Decision.REJECT:
        release_transition(
            release=release,
            transition=Transition.REJECT,
            actor=signer,
            reason=f"{activity.name} rejected by {signoff.printed_name}: {signoff.comment}",
        )
        signoffs_void(
            release=release,
            actor=signer,
            reason="The release went back to draft after a rejection",
        )
    else:
        _maybe_approve_release(
            release=release, activities=activities, current=current, actor=signer
        )


def signoff_record(
    *,
    release: Release,
    activity_id: int,
    signer,
    decision: str,
    comment: str,
    password: str,
    revision_number: int,
    code: str = "",
    reauthenticated: ProviderReauthentication | None = None,
    cutoff_acknowledged: bool = False,
    on_behalf_of=None,
) -> tuple[SignOff, bool]:
    """Record an e-signature. Returns (sign-off, created); a replay returns the first one.

    `code` is the authenticator code (relapp.credentials): required when the
    signer has an authenticator; the record names the components given.
    `reauthenticated` replaces password and code for a signer who signed in
    again at the OIDC provider (components "sso-reauth").
    Refusals (not the Accountable, separation of duties, stale revision, not
    ready, wrong password or code, two components required) are logged and
    raise SignOffRefused; nothing else is written. One refusal at a time: a
    403 first, then the credentials, then the release's state.
    """
    comment = comment.strip()
    _validate_decision(decision, comment)
    with transaction.atomic():
        release = release_lock(release)
        current, activities, ready = release_signoff_state(release)
        activity = _activity(activities, activity_id)
        replay = _replayed(
            activity=activity,
            current=current,
            signer=signer,
            decision=decision,
            principal=on_behalf_of or signer,
        )
        if replay is not None:
            return replay, False  # a double click or a replayed POST
        message, forbidden = _signoff_refusal(
            signer=signer,
            release=release,
            activity=activity,
            current=current,
            ready=ready,
            decision=decision,
            revision_number=revision_number,
            on_behalf_of=on_behalf_of,
        )
        late_scope = _scope_changed_after_cutoff(release, current)
        if not message:
            message = cutoff_ack_refusal(
                required=policy_for(release.product).cutoff_ack_required,
                is_go_no_go=activity.is_go_no_go,
                decision=decision,
                scope_changed=late_scope,
                acknowledged=cutoff_acknowledged,
            )
        # One message at a time, in the order a signer fixes them: who may sign
        # (403, the credentials are not looked at), then the credentials they just
        # typed, then the release's state (separation of duties, readiness and
        # freezes, a stale revision, the cut-off acknowledgement).
        check = CredentialCheck()
        if not forbidden:
            check = _credentials_check(
                release=release,
                signer=signer,
                password=password,
                code=code,
                reauthenticated=reauthenticated,
            )
            message = check.refusal or message
        if not message:
            signoff = _signoff_create(
                release=release,
                activity=activity,
                current=current,
                signer=signer,
                decision=decision,
                comment=comment,
                method=SignOffMethod.E_SIGNATURE,
                components=check.components,
                cutoff_acknowledged=late_scope and cutoff_acknowledged,
                on_behalf_of=on_behalf_of,
            )
            changelog_record(
                action=Action.SIGNOFF_RECORDED,
                actor=signer,
                release=release,
                obj=signoff,
                after=signoff_manifest(signoff),
                reason=comment,
            )
            _signoff_apply(release=release, activities=activities, signoff=signoff, signer=signer)
            return signoff, True
        # Logged in this transaction, which commits; the refusal is raised after it.
        refusal = _refuse(
            release=release,
            actor=signer,
            activity=activity,
            message=message,
            forbidden=forbidden,
            wrong_credential=check.wrong_credential,
        )
    raise refusal


def _judged_risks(release: Release, activity) -> list[str]:
    policy = policy_for(release.product)
    return judged_risk_categories(
        activity_name=activity.name,
        judge_activity=policy.risk_judge_activity,
        required=policy.required_risk_categories,
    )


def _scope_changed_after_cutoff(release: Release, current) -> bool:
    """Whether any revision up to the current one changed the scope after the cut-off."""
    if current is None:
        return False
    return release.revisions.filter(
        number__lte=current.number, scope_changed_after_cutoff=True
    ).exists()


def signoff_refusal_record(*, release: Release, activity_id: int, signer, message: str) -> None:
    """Log a signature refused before it reached signoff_record (a failed re-authentication)."""
    activity = Activity.objects.filter(release=release, pk=activity_id).first()
    changelog_record(
        action=Action.SIGNOFF_REFUSED,
        actor=signer,
        release=release,
        obj=activity,
        reason=message,
    )


def _replayed(*, activity, current, signer, decision, principal) -> SignOff | None:
    """The signer's own identical live decision (a replay), or DomainError if another stands.

    `principal` is whose seat is signed: the signer's, or the absent person's
    a delegate signs for.
    """
    if activity.team_id:
        return _team_replayed(
            activity=activity, current=current, signer=signer, decision=decision, seat=principal
        )
    accountable = _accountable(activity)
    if current is None or accountable is None or accountable.pk != principal.pk:
        return None
    live = _live_signoff(activity, current)
    if live is None:
        return None
    if live.signer_id == signer.pk and live.decision == decision:
        return live
    raise DomainError(
        f"{activity.name} already has a decision on revision {current.number} "
        f"by {live.printed_name}."
    )


def _team_replayed(*, activity, current, signer, decision, seat) -> SignOff | None:
    """A team member's own live decision: the same one is a replay, another is refused.

    The same member signing twice never counts twice (one live sign-off per seat).
    """
    if current is None or seat.pk not in _member_ids(activity):
        return None
    live = SignOff.objects.filter(
        activity=activity, revision=current, seat=seat, voided_at__isnull=True
    ).first()
    if live is None:
        return None
    if live.decision == decision and live.signer_id == signer.pk:
        return live
    raise DomainError(
        f"You already gave a decision on {activity.name} for revision {current.number}."
    )


def signoff_manifest(signoff: SignOff) -> dict[str, Any]:
    """The manifestation of a signature, as shown on screen and in every export."""
    return {
        "activity": signoff.activity.name,
        "decision": signoff.decision,
        "printed_name": signoff.printed_name,
        "signed_at": signoff.signed_at.isoformat(),
        "meaning": signoff.meaning,
        "revision": signoff.revision_number,
        "sha256": signoff.revision_sha256,
        "artifacts_sha256": signoff.artifacts_sha256,
        "artifacts": signoff.artifacts,
        "method": signoff.method,
        "components": signoff.components,
        "recorded_by": signoff.recorded_by.get_username() if signoff.recorded_by_id else None,
        **({"cutoff_acknowledged": True} if signoff.cutoff_acknowledged else {}),
        "team": signoff.activity.team.name if signoff.activity.team_id else None,
        "on_behalf_of": (
            signoff.on_behalf_of.get_full_name() or signoff.on_behalf_of.get_username()
            if signoff.on_behalf_of_id
            else None
        ),
    }


def _verbal_refusal(*, release, activity, accountable, recorded_by, current, ready) -> str:
    """Why a verbal approval may not be recorded for `accountable`; "" when it may."""
    if recorded_by.pk == accountable.pk:
        return (
            f"You are the Accountable for {activity.name}: sign it yourself. A verbal approval "
            "is a witness's record of someone else's decision."
        )
    if current and _live_signoff(activity, current) is not None:
        raise DomainError(f"{activity.name} already has a decision on this revision.")
    verdict = signoff_verdict(
        user=accountable,
        release=release,
        activity=activity,
        accountable=accountable,
        responsible_ids=_responsible_ids(activity),
        current=current,
        ready_reasons=ready,
    )
    if not verdict.allowed:
        return verdict.why.replace("You cannot", f"{accountable.get_username()} cannot")
    if ready:
        return "Not ready for sign-off: " + " ".join(ready)
    return ""


def signoff_record_verbal(
    *,
    release: Release,
    activity_id: int,
    recorded_by,
    channel: str,
    given_at: datetime,
    note: str,
) -> SignOff:
    """A release manager records an A's spoken approval; the A confirms or disputes it.

    The record does not count toward approval until its Accountable confirms
    it with their own credentials (`rules.counts_toward_approval`).
    """
    channel, note = channel.strip(), note.strip()
    if not channel:
        raise ValidationError({"channel": "Say how the approval was given (call, meeting…)."})
    if given_at > timezone.now():
        raise ValidationError({"given_at": "A verbal approval cannot come from the future."})
    with transaction.atomic():
        release = release_lock(release)
        current, activities, ready = release_signoff_state(release)
        activity = _activity(activities, activity_id)
        accountable = _accountable(activity)
        if activity.team_id:
            message = (
                f"{activity.name} is signed by the members of {activity.team.name}, each for "
                "themselves: a verbal record cannot stand in for one."
            )
        elif accountable is None:
            raise DomainError(f"{activity.name} has no Accountable.")
        else:
            message = _verbal_refusal(
                release=release,
                activity=activity,
                accountable=accountable,
                recorded_by=recorded_by,
                current=current,
                ready=ready,
            )
        if message:
            # Logged in this transaction, which commits; the refusal is raised after it.
            refusal = _refuse(
                release=release,
                actor=recorded_by,
                activity=activity,
                message=message,
                forbidden=False,
            )
        else:
            signoff = _verbal_create(
                release=release,
                activity=activity,
                current=current,
                accountable=accountable,
                recorded_by=recorded_by,
                channel=channel,
                given_at=given_at,
                note=note,
            )
            _maybe_approve_release(
                release=release, activities=activities, current=current, actor=recorded_by
            )
            transaction.on_commit(lambda: _ask_to_confirm(signoff.pk))
            return signoff
    raise refusal


def _verbal_create(
    *, release, activity, current, accountable, recorded_by, channel, given_at, note
) -> SignOff:
    signoff = _signoff_create(
        release=release,
        activity=activity,
        current=current,
        signer=accountable,
        decision=Decision.APPROVE,
        comment=note,
        method=SignOffMethod.VERBAL,
        recorded_by=recorded_by,
        verbal_channel=channel,
        verbal_given_at=given_at,
        verbal_note=note,
        verbal_state=VerbalState.PENDING,
    )
    changelog_record(
        action=Action.VERBAL_RECORDED,
        actor=recorded_by,
        release=release,
        obj=signoff,
        after={**signoff_manifest(signoff), "channel": channel, "given_at": given_at.isoformat()},
        reason=note,
    )
    return signoff


def _ask_to_confirm(signoff_id: int) -> None:
    signoff = SignOff.objects.select_related("release__product", "signer", "recorded_by").get(
        pk=signoff_id
    )
    path = reverse("approvals:verbal_respond", kwargs={"signoff_id": signoff.pk})
    if not signoff.signer.email:
        return
    send_mail(
        subject=f"Confirm your verbal approval of {signoff.release}",
        message=(
            f"{signoff.recorded_by.get_full_name() or signoff.recorded_by.get_username()} "
            f"recorded that you approved “{signoff.activity.name}” for {signoff.release} "
            f"({signoff.verbal_channel}).\n\n{signoff.meaning}.\n\n"
            f"Confirm or dispute it here: {settings.SITE_URL}{path}\n"
        ),
        from_email=None,
        recipient_list=[signoff.signer.email],
        # The approval is already committed; a mail outage must not turn into an error page.
        fail_silently=True,
    )


def signoff_verbal_respond(
    *,
    signoff: SignOff,
    actor,
    confirm: bool,
    password: str,
    note: str = "",
    code: str = "",
    reauthenticated: ProviderReauthentication | None = None,
    cutoff_acknowledged: bool = False,
) -> SignOff:
    """The named Accountable confirms (it then counts) or disputes (it is voided) a verbal record.

    The answer is signed like an e-signature: the password, plus the
    authenticator code when the Accountable has one or the policy asks; an
    Accountable who signed in through the provider signs in again there
    instead (`reauthenticated`, as for signoff_record).
    """
    with transaction.atomic():
        release = release_lock(signoff.release)
        signoff = SignOff.objects.select_for_update().get(pk=signoff.pk)
        if signoff.signer_id != actor.pk:
            raise SignOffRefused("Only the Accountable it names may answer.", forbidden=True)
        if signoff.method != SignOffMethod.VERBAL or signoff.verbal_state != VerbalState.PENDING:
            raise DomainError("This verbal approval has already been answered.")
        if signoff.is_void:
            raise DomainError("This verbal approval was voided and needs no answer.")
        check = _credentials_check(
            release=release,
            signer=actor,
            password=password,
            code=code,
            reauthenticated=reauthenticated,
        )
        late_scope = _scope_changed_after_cutoff(release, signoff.revision)
        unacknowledged = confirm and cutoff_ack_refusal(
            required=policy_for(release.product).cutoff_ack_required,
            is_go_no_go=signoff.activity.is_go_no_go,
            decision=signoff.decision,
            scope_changed=late_scope,
            acknowledged=cutoff_acknowledged,
        )
        if check.ok and unacknowledged:
            refusal = _refuse(
                release=release,
                actor=actor,
                activity=signoff.activity,
                message=unacknowledged,
                forbidden=False,
            )
        elif not check.ok:
            # Logged in this transaction, which commits; the refusal is raised after it.
            refusal = _refuse(
                release=release,
                actor=actor,
                activity=signoff.activity,
                message=check.refusal.replace(
                    "the sign-off was not recorded", "nothing was recorded"
                ),
                forbidden=False,
                wrong_credential=check.wrong_credential,
            )
        elif confirm:
            return _verbal_confirm(
                release=release,
                signoff=signoff,
                actor=actor,
                note=note,
                components=check.components,
                cutoff_acknowledged=late_scope and cutoff_acknowledged,
            )
        else:
            return _verbal_dispute(release=release, signoff=signoff, actor=actor, note=note)
    raise refusal


def _verbal_confirm(
    *, release, signoff, actor, note: str, components: str, cutoff_acknowledged: bool = False
) -> SignOff:
    signoff.verbal_state = VerbalState.CONFIRMED
    signoff.verbal_confirmed_at = db_now()
    signoff.components = components
    signoff.cutoff_acknowledged = cutoff_acknowledged
    signoff.save(
        update_fields=["verbal_state", "verbal_confirmed_at", "components", "cutoff_acknowledged"]
    )
    changelog_record(
        action=Action.VERBAL_CONFIRMED,
        actor=actor,
        release=release,
        obj=signoff,
        after={
            "verbal_state": "confirmed",
            "confirmed_at": signoff.verbal_confirmed_at.isoformat(),
            "components": components,
            **({"cutoff_acknowledged": True} if cutoff_acknowledged else {}),
        },
        reason=note,
    )
    current, activities, _ = release_signoff_state(release)
    if current is not None and signoff.revision_id == current.pk:
        _maybe_approve_release(release=release, activities=activities, current=current, actor=actor)
    return signoff


def _verbal_dispute(*, release, signoff, actor, note: str) -> SignOff:
    signoff.verbal_state = VerbalState.DISPUTED
    signoff.voided_at = db_now()
    signoff.void_reason = f"Disputed by {signoff.printed_name}: {note or 'no reason given'}"
    signoff.save(update_fields=["verbal_state", "voided_at", "void_reason"])
    changelog_record(
        action=Action.VERBAL_DISPUTED,
        actor=actor,
        release=release,
        obj=signoff,
        after={"verbal_state": "disputed"},
        reason=note,
    )
    if release.status == Status.APPROVED:
        release_transition(
            release=release,
            transition=Transition.HALT,
            actor=actor,
            reason=f"Verbal approval of {signoff.activity.name} disputed by {signoff.printed_name}",
        )
        signoffs_void(
            release=release, actor=actor, reason="Release halted", activity__is_go_no_go=True
        )
    return signoff
