"""Every write to releases and RADs. One transaction, the row locked, one
change-log entry, per function."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from approvals.lifecycle import RAD_EDITABLE, IllegalTransition, Status, Transition, next_status
from approvals.models import (
    ApprovalPolicy,
    CheckStatus,
    Comment,
    Decision,
    Deployment,
    DeploymentStatus,
    GateCheck,
    PostReleaseReview,
    Product,
    RadRevision,
    Release,
    ReleaseType,
    SignOff,
    SignOffMethod,
    VerbalState,
)
from approvals.rad import rad_incomplete_sections, rad_normalise, rad_sha256
from approvals.signoffs import (
    is_required,
    meaning_text,
    policy_for,
    readiness_reasons,
    signable_status,
)
from audit.changelog import changelog_record
from audit.models import Action
from raci import permissions
from raci import services as raci_services
from raci.models import Activity, Letter


class DomainError(Exception):
    """A refused change. Its message is shown to the user; nothing changed."""

    def __init__(self, message: str, *, problems: dict[str, str] | None = None):
        super().__init__(message)
        self.problems = problems or {}


# Re-exported so callers catch one family of errors.
__all__ = ["DomainError", "IllegalTransition"]

_TRANSITION_ACTIONS = {
    Transition.SUBMIT: Action.RELEASE_SUBMITTED,
    Transition.APPROVE: Action.RELEASE_APPROVED,
    Transition.REJECT: Action.RELEASE_REJECTED,
    Transition.HALT: Action.RELEASE_HALTED,
    Transition.RESUME: Action.RELEASE_RESUMED,
    Transition.REVISE: Action.RELEASE_REVISED,
    Transition.DEPLOY: Action.RELEASE_DEPLOYED,
    Transition.ROLL_BACK: Action.RELEASE_ROLLED_BACK,
    Transition.CLOSE: Action.RELEASE_CLOSED,
    Transition.CANCEL: Action.RELEASE_CANCELLED,
}


def release_lock(release: Release) -> Release:
    """Re-read the release with its row locked for the current transaction."""
    return Release.objects.select_for_update().select_related("product").get(pk=release.pk)


def release_transition(
    *,
    release: Release,
    transition: str,
    actor,
    reason: str = "",
    after_extra: dict[str, Any] | None = None,
) -> Release:
    """Move a *locked* release along the lifecycle table and log it.

    Callers hold the transaction; this is the one place a status changes.
    """
    before = release.status
    release.status = next_status(status=before, transition=transition)
    release.status_reason = reason
    release.save(update_fields=["status", "status_reason", "updated_at"])
    changelog_record(
        action=_TRANSITION_ACTIONS[Transition(transition)],
        actor=actor,
        release=release,
        before={"status": before},
        after={"status": release.status, **(after_extra or {})},
        reason=reason,
    )
    return release


def product_create(*, name: str, slug: str, actor) -> Product:
    product = Product(name=name.strip(), slug=slug.strip())
    product.full_clean()
    with transaction.atomic():
        try:
            with transaction.atomic():
                product.save()
        except IntegrityError:
            raise ValidationError({"slug": "A product with this name or slug exists."}) from None
        ApprovalPolicy.objects.create(product=product)
        raci_services.raci_template_ensure(product=product)
        changelog_record(
            action=Action.PRODUCT_CREATED,
            actor=actor,
            product=product,
            obj=product,
            after={"name": product.name, "slug": product.slug},
        )
    return product


def release_create(
    *,
    product: Product,
    version: str,
    title: str,
    release_type: str,
    window_start: datetime,
    window_end: datetime,
    actor,
    fixes: Release | None = None,
) -> Release:
    release = Release(
        product=product,
        version=version.strip(),
        title=title.strip(),
        release_type=release_type,
        fixes=fixes,
        window_start=window_start,
        window_end=window_end,
        created_by=actor,
    )
    errors: dict[str, str] = {}
    if window_end <= window_start:
        errors["window_end"] = "The deployment window must end after it starts."
    if release_type == ReleaseType.HOTFIX:
        if fixes is None:
            errors["fixes"] = "A hotfix must name the release it fixes."
        elif fixes.product_id != product.pk:
            errors["fixes"] = "A hotfix must fix a release of the same product."
    elif fixes is not None:
        errors["fixes"] = "Only a hotfix fixes another release."
    try:
        release.full_clean(exclude=["created_by"], validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, " ".join(messages))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        try:
            with transaction.atomic():
                release.save()
        except IntegrityError:
            raise ValidationError(
                {"version": f"{product.name} already has a release {release.version}."}
            ) from None
        changelog_record(
            action=Action.RELEASE_CREATED,
            actor=actor,
            release=release,
            after=release_snapshot(release),
        )
        raci_services.raci_apply_template(release=release, actor=actor)
    return release


def release_snapshot(release: Release) -> dict[str, Any]:
    return {
        "product": release.product.slug,
        "version": release.version,
        "title": release.title,
        "type": release.release_type,
        "fixes": release.fixes.version if release.fixes_id else None,
        "window_start": release.window_start.isoformat(),
        "window_end": release.window_end.isoformat(),
        "status": release.status,
    }


def rad_current(release: Release) -> RadRevision | None:
    return release.revisions.order_by("-number").first()


def rad_revise(*, release: Release, content: dict[str, Any], actor) -> RadRevision | None:
    """Write a new RAD revision, or return None when nothing really changed."""
    normalised = rad_normalise(content)
    digest = rad_sha256(normalised)
    with transaction.atomic():
        release = release_lock(release)
        if release.status not in RAD_EDITABLE:
            raise DomainError(
                f"The RAD cannot be edited while the release is {release.get_status_display().lower()}."
            )
        current = rad_current(release)
        if current is not None and current.sha256 == digest:
            return None
        revision = RadRevision.objects.create(
            release=release,
            number=(current.number + 1) if current else 1,
            author=actor,
            content=normalised,
            sha256=digest,
        )
        changelog_record(
            action=Action.RAD_REVISED,
            actor=actor,
            release=release,
            obj=revision,
            before={"revision": current.number, "sha256": current.sha256} if current else None,
            after={"revision": revision.number, "sha256": revision.sha256},
        )
        signoffs_void(
            release=release,
            actor=actor,
            reason="RAD changed after signing",
            revision__number__lt=revision.number,
        )
    return revision


def release_submit(*, release: Release, actor) -> Release:
    with transaction.atomic():
        release = release_lock(release)
        next_status(status=release.status, transition=Transition.SUBMIT)
        current = rad_current(release)
        if current is None:
            raise DomainError(
                "Write the RAD before submitting: it has no revision yet.",
                problems={"scope": "The RAD is empty."},
            )
        problems = rad_incomplete_sections(current.content)
        if problems:
            raise DomainError("The RAD is not complete enough for review.", problems=problems)
        release.submitted_by = actor
        release.save(update_fields=["submitted_by", "updated_at"])
        return release_transition(
            release=release,
            transition=Transition.SUBMIT,
            actor=actor,
            after_extra={"revision": current.number, "sha256": current.sha256},
        )


def _reasoned_transition(
    *,
    release: Release,
    actor,
    transition: str,
    reason: str,
    missing: str,
    void_reason: str = "",
    **void_filters,
) -> Release:
    """A transition that needs a reason, optionally voiding live sign-offs with it."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": missing})
    with transaction.atomic():
        release = release_transition(
            release=release_lock(release), transition=transition, actor=actor, reason=reason
        )
        if void_reason:
            signoffs_void(release=release, actor=actor, reason=void_reason, **void_filters)
    return release


def release_cancel(*, release: Release, actor, reason: str) -> Release:
    return _reasoned_transition(
        release=release,
        actor=actor,
        transition=Transition.CANCEL,
        reason=reason,
        missing="Say why the release is cancelled.",
    )


def release_comment(*, release: Release, actor, body: str) -> Comment:
    body = body.strip()
    if not body:
        raise ValidationError({"body": "Write something before posting."})
    if len(body) > 5000:
        raise ValidationError({"body": "Keep comments under 5,000 characters."})
    with transaction.atomic():
        release = release_lock(release)
        if release.status in (Status.CLOSED, Status.CANCELLED):
            raise DomainError("The release is closed for comments.")
        comment = Comment.objects.create(release=release, author=actor, body=body)
        changelog_record(
            action=Action.COMMENT_ADDED,
            actor=actor,
            release=release,
            obj=comment,
            after={"body": body},
        )
    return comment


# --- sign-offs ----------------------------------------------------------------


class SignOffRefused(DomainError):
    """A sign-off that may not be given. `forbidden` ones answer 403."""

    def __init__(self, message: str, *, forbidden: bool = False):
        super().__init__(message)
        self.forbidden = forbidden


def _now() -> datetime:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            return cursor.fetchone()[0]
    return timezone.now()


def signoffs_void(
    *, release: Release, actor, reason: str, now: datetime | None = None, **filters
) -> int:
    """Void live sign-offs of `release` (optionally narrowed by `filters`), one entry each."""
    now = now or _now()
    live = SignOff.objects.filter(
        release=release, voided_at__isnull=True, **filters
    ).select_related("activity")
    count = 0
    for signoff in live:
        signoff.voided_at = now
        signoff.void_reason = reason
        signoff.save(update_fields=["voided_at", "void_reason"])
        changelog_record(
            action=Action.SIGNOFF_VOIDED,
            actor=actor,
            release=release,
            obj=signoff,
            before={
                "activity": signoff.activity.name,
                "decision": signoff.decision,
                "revision": signoff.revision_number,
                "signer": signoff.printed_name,
            },
            reason=reason,
        )
        count += 1
    return count


def release_signoff_state(release: Release):
    """Everything the sign-off rules need, read inside the caller's transaction."""
    current = rad_current(release)
    activities = list(Activity.objects.filter(release=release).prefetch_related("assignments"))
    checks = list(GateCheck.objects.filter(release=release))
    policy = policy_for(release.product)
    ready = readiness_reasons(release=release, current=current, checks=checks, policy=policy)
    return current, activities, ready


def _accountable(activity):
    return next(
        (a.user for a in activity.assignments.all() if a.letter == Letter.ACCOUNTABLE), None
    )


def _responsible_ids(activity) -> set[int]:
    return {a.user_id for a in activity.assignments.all() if a.letter == Letter.RESPONSIBLE}


def _refuse(*, release, actor, activity, message: str, forbidden: bool) -> SignOffRefused:
    changelog_record(
        action=Action.SIGNOFF_REFUSED,
        actor=actor,
        release=release,
        obj=activity,
        reason=message,
    )
    return SignOffRefused(message, forbidden=forbidden)


def _maybe_approve_release(*, release: Release, activities, current, actor) -> None:
    """The last required approval moves the release on, in the same transaction."""
    required = [a for a in activities if is_required(release, a)]
    approved = set(
        SignOff.objects.filter(
            release=release, revision=current, voided_at__isnull=True, decision=Decision.APPROVE
        ).values_list("activity_id", flat=True)
    )
    if required and all(a.pk in approved for a in required):
        transition = Transition.RESUME if release.status == Status.HALTED else Transition.APPROVE
        release_transition(
            release=release,
            transition=transition,
            actor=actor,
            after_extra={"revision": current.number, "sha256": current.sha256},
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
) -> tuple[SignOff, bool]:
    """Record an e-signature. Returns (sign-off, created); a replay returns the first one.

    Refusals (not the Accountable, separation of duties, wrong password, stale
    revision, not ready) are logged and raise SignOffRefused; nothing else is
    written.
    """
    comment = comment.strip()
    if decision not in Decision.values:
        raise ValidationError({"decision": "Choose approve or reject."})
    if decision == Decision.REJECT and not comment:
        raise ValidationError({"comment": "Say why you reject: the reason goes back to the team."})
    refusal: SignOffRefused | None = None
    with transaction.atomic():
        release = release_lock(release)
        current, activities, ready = release_signoff_state(release)
        activity = next((a for a in activities if a.pk == activity_id), None)
        if activity is None:
            raise DomainError("This release has no such activity.")
        accountable = _accountable(activity)
        is_accountable = accountable is not None and accountable.pk == signer.pk
        live = (
            SignOff.objects.filter(
                activity=activity, revision=current, voided_at__isnull=True
            ).first()
            if current is not None and is_accountable
            else None
        )
        if live is not None:
            if live.signer_id == signer.pk and live.decision == decision:
                return live, False  # a double click or a replayed POST
            raise DomainError(
                f"{activity.name} already has a decision on revision {current.number} "
                f"by {live.printed_name}."
            )
        allowed, why = permissions.signoff_explanation(
            user=signer,
            release=release,
            activity=activity,
            accountable=accountable,
            responsible_ids=_responsible_ids(activity),
            current=current,
            ready_reasons=ready,
            required=is_required(release, activity),
            signable=signable_status(release, activity),
        )
        if not allowed:
            refusal = _refuse(
                release=release,
                actor=signer,
                activity=activity,
                message=why,
                forbidden=not is_accountable,
            )
        elif decision == Decision.APPROVE and release.status == Status.HALTED and ready:
            refusal = _refuse(
                release=release,
                actor=signer,
                activity=activity,
                message="Not ready for sign-off: " + " ".join(ready),
                forbidden=False,
            )
        elif decision == Decision.REJECT and release.status == Status.HALTED:
            refusal = _refuse(
                release=release,
                actor=signer,
                activity=activity,
                message="A halted release is revised, not rejected.",
                forbidden=False,
            )
        elif revision_number != current.number:
            refusal = _refuse(
                release=release,
                actor=signer,
                activity=activity,
                forbidden=False,
                message=(
                    f"The RAD changed to revision {current.number} after you opened "
                    f"revision {revision_number}. Read what changed, then sign again."
                ),
            )
        elif decision == Decision.APPROVE and ready:
            refusal = _refuse(
                release=release,
                actor=signer,
                activity=activity,
                forbidden=False,
                message="Not ready for sign-off: " + " ".join(ready),
            )
        elif not signer.check_password(password):
            refusal = _refuse(
                release=release,
                actor=signer,
                activity=activity,
                forbidden=False,
                message="Wrong password: the sign-off was not recorded.",
            )
        else:
            signoff = SignOff.objects.create(
                release=release,
                activity=activity,
                revision=current,
                signer=signer,
                decision=decision,
                comment=comment,
                printed_name=signer.get_full_name() or signer.get_username(),
                signed_at=_now(),
                meaning=meaning_text(
                    decision=decision,
                    activity=activity,
                    release=release,
                    revision_number=current.number,
                ),
                revision_number=current.number,
                revision_sha256=current.sha256,
                method=SignOffMethod.E_SIGNATURE,
            )
            changelog_record(
                action=Action.SIGNOFF_RECORDED,
                actor=signer,
                release=release,
                obj=signoff,
                after=signoff_manifest(signoff),
                reason=comment,
            )
            if decision == Decision.REJECT:
                release_transition(
                    release=release,
                    transition=Transition.REJECT,
                    actor=signer,
                    reason=f"{activity.name} rejected by {signoff.printed_name}: {comment}",
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
            return signoff, True
    raise refusal


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
        "method": signoff.method,
        "recorded_by": signoff.recorded_by.get_username() if signoff.recorded_by_id else None,
    }


def signoff_record_verbal(
    *,
    release: Release,
    activity_id: int,
    recorded_by,
    channel: str,
    given_at: datetime,
    note: str,
) -> SignOff:
    """A release manager records an A's spoken approval; the A confirms or disputes it."""
    channel, note = channel.strip(), note.strip()
    if not channel:
        raise ValidationError({"channel": "Say how the approval was given (call, meeting…)."})
    if given_at > timezone.now():
        raise ValidationError({"given_at": "A verbal approval cannot come from the future."})
    with transaction.atomic():
        release = release_lock(release)
        current, activities, ready = release_signoff_state(release)
        activity = next((a for a in activities if a.pk == activity_id), None)
        if activity is None:
            raise DomainError("This release has no such activity.")
        accountable = _accountable(activity)
        if accountable is None:
            raise DomainError(f"{activity.name} has no Accountable.")
        if (
            current
            and SignOff.objects.filter(
                activity=activity, revision=current, voided_at__isnull=True
            ).exists()
        ):
            raise DomainError(f"{activity.name} already has a decision on this revision.")
        allowed, why = permissions.signoff_explanation(
            user=accountable,
            release=release,
            activity=activity,
            accountable=accountable,
            responsible_ids=_responsible_ids(activity),
            current=current,
            ready_reasons=ready,
            required=is_required(release, activity),
            signable=signable_status(release, activity),
        )
        if not allowed or ready:
            message = (
                why.replace("You cannot", f"{accountable.get_username()} cannot")
                if not allowed
                else "Not ready for sign-off: " + " ".join(ready)
            )
            raise _refuse(
                release=release,
                actor=recorded_by,
                activity=activity,
                message=message,
                forbidden=False,
            )
        signoff = SignOff.objects.create(
            release=release,
            activity=activity,
            revision=current,
            signer=accountable,
            decision=Decision.APPROVE,
            comment=note,
            printed_name=accountable.get_full_name() or accountable.get_username(),
            signed_at=_now(),
            meaning=meaning_text(
                decision=Decision.APPROVE,
                activity=activity,
                release=release,
                revision_number=current.number,
            ),
            revision_number=current.number,
            revision_sha256=current.sha256,
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
            after={
                **signoff_manifest(signoff),
                "channel": channel,
                "given_at": given_at.isoformat(),
            },
            reason=note,
        )
        _maybe_approve_release(
            release=release, activities=activities, current=current, actor=recorded_by
        )
        transaction.on_commit(lambda: _ask_to_confirm(signoff.pk))
    return signoff


def _ask_to_confirm(signoff_id: int) -> None:
    from django.core.mail import send_mail
    from django.urls import reverse

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
    *, signoff: SignOff, actor, confirm: bool, password: str, note: str = ""
) -> SignOff:
    with transaction.atomic():
        release = release_lock(signoff.release)
        signoff = SignOff.objects.select_for_update().get(pk=signoff.pk)
        if signoff.signer_id != actor.pk:
            raise SignOffRefused("Only the Accountable it names may answer.", forbidden=True)
        if signoff.method != SignOffMethod.VERBAL or signoff.verbal_state != VerbalState.PENDING:
            raise DomainError("This verbal approval has already been answered.")
        if signoff.is_void:
            raise DomainError("This verbal approval was voided and needs no answer.")
        if not actor.check_password(password):
            raise _refuse(
                release=release,
                actor=actor,
                activity=signoff.activity,
                message="Wrong password: nothing was recorded.",
                forbidden=False,
            )
        if confirm:
            signoff.verbal_state = VerbalState.CONFIRMED
            signoff.save(update_fields=["verbal_state"])
            changelog_record(
                action=Action.VERBAL_CONFIRMED,
                actor=actor,
                release=release,
                obj=signoff,
                after={"verbal_state": "confirmed"},
                reason=note,
            )
            return signoff
        signoff.verbal_state = VerbalState.DISPUTED
        signoff.voided_at = _now()
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
                reason=f"Verbal approval of {signoff.activity.name} disputed by "
                f"{signoff.printed_name}",
            )
            signoffs_void(
                release=release, actor=actor, reason="Release halted", activity__is_go_no_go=True
            )
        return signoff


# --- the rest of the lifecycle --------------------------------------------------


def release_halt(*, release: Release, actor, reason: str) -> Release:
    # Resuming needs the Go/no-go Accountable to sign again: void that signature.
    return _reasoned_transition(
        release=release,
        actor=actor,
        transition=Transition.HALT,
        reason=reason,
        missing="Say why the release is halted.",
        void_reason=f"Release halted: {reason.strip()}",
        activity__is_go_no_go=True,
    )


def release_revise(*, release: Release, actor, reason: str) -> Release:
    return _reasoned_transition(
        release=release,
        actor=actor,
        transition=Transition.REVISE,
        reason=reason,
        missing="Say what needs revising.",
        void_reason="The release went back to draft",
    )


def gate_check_report(
    *, release: Release, actor, name: str, status: str, details: str = "", url: str = ""
) -> GateCheck:
    name = name.strip()
    errors = {}
    if not name:
        errors["name"] = "Name the check."
    if status not in CheckStatus.values:
        errors["status"] = "Status must be pass, fail or pending."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        release = release_lock(release)
        previous = GateCheck.objects.filter(release=release, name=name).first()
        before = {"status": previous.status} if previous else None
        check, _ = GateCheck.objects.update_or_create(
            release=release,
            name=name,
            defaults={
                "status": status,
                "details": details,
                "url": url,
                "reported_by": actor,
                "reported_at": _now(),
            },
        )
        changelog_record(
            action=Action.GATE_CHECK_REPORTED,
            actor=actor,
            release=release,
            obj=check,
            before=before,
            after={"name": name, "status": status, "details": details, "url": url},
        )
    return check


def deployment_record(
    *, release: Release, actor, status: str, environment: str = "production", details: str = ""
) -> Deployment:
    if status not in DeploymentStatus.values:
        raise ValidationError(
            {"status": "Status must be started, succeeded, failed or rolled_back."}
        )
    environment = (environment or "production").strip()
    with transaction.atomic():
        release = release_lock(release)
        deployment = Deployment(
            release=release,
            status=status,
            environment=environment,
            details=details,
            recorded_by=actor,
        )
        info = {"deployment": status, "environment": environment, "details": details}
        if status == DeploymentStatus.SUCCEEDED:
            next_status(status=release.status, transition=Transition.DEPLOY)
            deployment.save()
            release.deployed_at = _now()
            if release.release_type == ReleaseType.HOTFIX:
                days = policy_for(release.product).hotfix_review_days
                release.review_due_at = release.deployed_at + timedelta(days=days)
            release.save(update_fields=["deployed_at", "review_due_at", "updated_at"])
            if release.review_due_at:
                from meetings.services import reminder_plan_review

                reminder_plan_review(release=release)
            release_transition(
                release=release, transition=Transition.DEPLOY, actor=actor, after_extra=info
            )
        elif status == DeploymentStatus.ROLLED_BACK:
            next_status(status=release.status, transition=Transition.ROLL_BACK)
            deployment.save()
            release_transition(
                release=release,
                transition=Transition.ROLL_BACK,
                actor=actor,
                reason=details,
                after_extra=info,
            )
        else:
            if release.status != Status.APPROVED:
                raise IllegalTransition(Transition.DEPLOY, release.status)
            deployment.save()
            changelog_record(
                action=Action.DEPLOYMENT_RECORDED,
                actor=actor,
                release=release,
                obj=deployment,
                after=info,
                reason=details,
            )
    return deployment


def review_record(
    *, release: Release, actor, went_well: str, slipped: str, template_changes: str = ""
) -> PostReleaseReview:
    went_well, slipped = went_well.strip(), slipped.strip()
    errors = {}
    if not went_well:
        errors["went_well"] = "Say what went well."
    if not slipped:
        errors["slipped"] = "Say what slipped (or write “nothing”)."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        release = release_lock(release)
        next_status(status=release.status, transition=Transition.CLOSE)
        review = PostReleaseReview.objects.create(
            release=release,
            went_well=went_well,
            slipped=slipped,
            template_changes=template_changes.strip(),
            author=actor,
        )
        release_transition(
            release=release,
            transition=Transition.CLOSE,
            actor=actor,
            after_extra={
                "went_well": went_well,
                "slipped": slipped,
                "template_changes": review.template_changes,
            },
        )
    return review


def release_freeze_override(*, release: Release, actor, reason: str) -> Release:
    """Record the emergency that lets a hotfix deploy inside a freeze window."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Describe the emergency."})
    with transaction.atomic():
        release = release_lock(release)
        if release.release_type != ReleaseType.HOTFIX:
            raise DomainError("Only a hotfix may deploy inside a freeze window.")
        if release.status not in (Status.DRAFT, Status.IN_REVIEW, Status.APPROVED, Status.HALTED):
            raise DomainError("The release is past deployment.")
        before = release.freeze_override_reason
        release.freeze_override_reason = reason
        release.save(update_fields=["freeze_override_reason", "updated_at"])
        changelog_record(
            action=Action.FREEZE_CHANGED,
            actor=actor,
            release=release,
            before={"freeze_override_reason": before} if before else None,
            after={"freeze_override_reason": reason},
            reason=reason,
        )
    return release


def policy_save(*, policy: ApprovalPolicy, actor, changed: list[str]) -> ApprovalPolicy:
    """Save a product's approval policy (admin form) and log what changed."""
    fields = [
        "required_checks",
        "max_rehearsal_age_days",
        "block_open_critical_defects",
        "hotfix_review_days",
        "reminder_offsets_seconds",
        "signoff_reminder_seconds",
    ]
    with transaction.atomic():
        previous = ApprovalPolicy.objects.select_for_update().filter(pk=policy.pk).first()
        policy.save()
        before = {f: getattr(previous, f) for f in fields} if previous else None
        after = {f: getattr(policy, f) for f in fields}
        if before != after:
            changelog_record(
                action=Action.POLICY_CHANGED,
                actor=actor,
                product=policy.product,
                obj=policy,
                before=before,
                after=after,
                reason=", ".join(changed),
            )
    return policy
