"""Account lockouts and sessions: every lock and unlock in the change log."""

from datetime import timedelta

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils import timezone

from accounts.models import UserTimeZone
from accounts.timezones import DEFAULT, is_zone
from audit.changelog import changelog_record
from audit.models import Action
from meetings.models import Notification
from raci.permissions import RELEASE_MANAGERS


def sessions_end(*, user, keep_session_key: str | None = None) -> int:
    """Delete every live session of `user` except `keep_session_key`; how many ended."""
    user_id = str(user.pk)
    ended = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get("_auth_user_id") == user_id
        and session.session_key != keep_session_key
    ]
    Session.objects.filter(session_key__in=ended).delete()
    return len(ended)


def sessions_end_everywhere(*, user, keep_session_key: str | None = None) -> int:
    """The user's "Sign out everywhere": all their other sessions end, logged."""
    with transaction.atomic():
        count = sessions_end(user=user, keep_session_key=keep_session_key)
        changelog_record(
            action=Action.LOGOUT,
            actor=user,
            obj=user,
            after={"sessions_ended": count},
            reason="Signed out everywhere",
        )
    return count


def _notify_release_managers(*, title: str, body: str) -> None:
    managers = get_user_model().objects.filter(groups__name=RELEASE_MANAGERS, is_active=True)
    url = reverse("accounts:lockout_list")
    Notification.objects.bulk_create(
        Notification(user=manager, title=title, body=body, url=url) for manager in managers
    )


def account_lock_record(*, username: str, ip_address: str, signature: bool) -> None:
    """axes just locked `username` (and/or `ip_address`): log it and tell release managers.

    A signature lockout also ends every session of the account and locks its
    sign-in until the cool-down passes or a release manager unlocks it.
    """
    user = get_user_model().objects.filter(username=username).first() if username else None
    until = timezone.now() + timedelta(minutes=settings.LOCKOUT_COOLOFF_MINUTES)
    via = "signature" if signature else "sign-in"
    with transaction.atomic():
        if signature and user is not None:
            AccessAttempt.objects.filter(username=username).update(
                failures_since_start=Greatest(
                    F("failures_since_start"), settings.LOGIN_FAILURE_LIMIT
                )
            )
            sessions_end(user=user)
        limit = settings.SIGNATURE_FAILURE_LIMIT if signature else settings.LOGIN_FAILURE_LIMIT
        reason = (
            f"{limit} wrong {'signature passwords' if signature else 'sign-in attempts'}: "
            f"locked until {until:%Y-%m-%d %H:%M} UTC"
        )
        changelog_record(
            action=Action.AUTH_LOCKED,
            actor=None,
            actor_name=username or ip_address or "(unknown)",
            obj=user,
            after={
                "username": username,
                "ip_address": ip_address,
                "via": via,
                "until": until.isoformat(),
            },
            reason=reason,
        )
        _notify_release_managers(
            title=f"Account locked: {username or ip_address}",
            body=f"{reason}. Address {ip_address or 'unknown'}.",
        )


def account_unlock(*, actor, username: str = "", ip_address: str = "") -> int:
    """Lift the lockout of an account or an address before its cool-down; logged."""
    if not username and not ip_address:
        raise ValueError("Name an account or an address to unlock.")
    user = get_user_model().objects.filter(username=username).first() if username else None
    with transaction.atomic():
        count = axes_reset(username=username or None, ip=ip_address or None)
        changelog_record(
            action=Action.AUTH_UNLOCKED,
            actor=actor,
            obj=user,
            after={"username": username, "ip_address": ip_address, "records": count},
            reason=f"Unlocked by {actor.get_username()}",
        )
    return count


def user_roles_sync(*, user, idp_groups: set[str], source: str) -> None:
    """Make `user`'s role groups follow the identity provider's groups at sign-in.

    SSO_ROLE_GROUPS maps each role (Release managers, Auditors) to the
    provider's group names (OIDC claim values or LDAP group DNs, compared
    case-insensitively). A role the provider no longer gives is removed; the
    other groups of the user are left alone. Each grant and revoke is logged.
    """
    wanted = {name.lower() for name in idp_groups}
    with transaction.atomic():
        for role, provider_groups in settings.SSO_ROLE_GROUPS.items():
            group, _ = Group.objects.get_or_create(name=role)
            should_have = any(name.lower() in wanted for name in provider_groups)
            has = user.groups.filter(pk=group.pk).exists()
            if should_have == has:
                continue
            if should_have:
                user.groups.add(group)
            else:
                user.groups.remove(group)
            changelog_record(
                action=Action.PERMISSION_GRANTED if should_have else Action.PERMISSION_REVOKED,
                actor=None,
                actor_name=source,
                obj=user,
                before=None if should_have else {"user": user.get_username(), "role": role},
                after={"user": user.get_username(), "role": role} if should_have else None,
                reason=f"Role {'given' if should_have else 'removed'} by {source} group membership",
            )


def user_timezone_set(*, user, name: str, actor, reason: str) -> bool:
    """Set the zone `user` reads and enters times in; logged with before and after.

    Refuses a name that is not an IANA zone (ValueError). Returns whether
    anything changed; setting the zone already stored writes nothing.
    """
    if not is_zone(name):
        raise ValueError(f"{name!r} is not a known time zone.")
    with transaction.atomic():
        # The user row is the lock: two first settings at once cannot both insert.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        row = UserTimeZone.objects.filter(user=user).first()
        before = row.name if row is not None else DEFAULT
        if row is not None and row.name == name:
            return False
        if row is None:
            row = UserTimeZone(user=user)
        row.name = name
        row.save()
        user.time_zone = row
        changelog_record(
            action=Action.TIMEZONE_CHANGED,
            actor=actor,
            obj=user,
            before={"time_zone": before},
            after={"time_zone": name},
            reason=reason,
        )
    return True
