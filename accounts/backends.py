"""Authentication backends: local passwords (optional), OpenID Connect and LDAP.

Each single sign-on backend makes the user's role groups follow the
provider's groups on every sign-in (accounts.services.user_roles_sync).
Failed and successful sign-ins reach the change log through Django's
`user_login_failed` / `user_logged_in` signals like local ones.
"""

import logging

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django_python3_ldap.auth import LDAPBackend as DirectoryBackend
from ldap3 import Connection
from ldap3.utils.conv import escape_filter_chars
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts.models import ExternalIdentity
from accounts.services import user_roles_sync

OIDC = "oidc"

logger = logging.getLogger(__name__)


class LocalPasswordBackend(ModelBackend):
    """Django's own backend, refusing every password when LOCAL_LOGIN_ENABLED is off.

    It stays in AUTHENTICATION_BACKENDS for the global permissions it answers.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.LOCAL_LOGIN_ENABLED:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class OIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc, matching users by the OIDC_USERNAME_CLAIM claim."""

    def authenticate(self, request, **kwargs):
        # Only the callback view (which checked the state) passes a nonce: a
        # password form posted to a URL carrying ?code=&state= is not an OIDC sign-in.
        if "nonce" not in kwargs:
            return None
        # A refused or forged code makes the token endpoint answer 4xx: a failed
        # sign-in (user_login_failed, in the change log), not a server error.
        try:
            return super().authenticate(request, **kwargs)
        except requests.RequestException as exc:
            logger.warning("OIDC sign-in failed: %s", exc)
            return None

    def _username(self, claims: dict) -> str:
        return str(claims.get(settings.OIDC_USERNAME_CLAIM) or "")[:150]

    def verify_claims(self, claims: dict) -> bool:
        return bool(self._username(claims))

    def filter_users_by_claims(self, claims: dict):
        users = self.UserModel.objects.filter(username=self._username(claims))
        # A local account (one with a password) is never taken over by a
        # provider account that happens to have the same name.
        if any(user.has_usable_password() for user in users):
            raise SuspiciousOperation("A local account already has this username.")
        # Nor is an SSO account taken over by another provider account that
        # now carries its username: the subject must be the one recorded.
        subject = str(claims.get("sub") or "")
        known = ExternalIdentity.objects.filter(provider=OIDC, user__in=users)
        if not subject or any(identity.subject != subject for identity in known):
            raise SuspiciousOperation("Another provider account had this username.")
        if ExternalIdentity.objects.filter(provider=OIDC, subject=subject).exclude(user__in=users):
            raise SuspiciousOperation("This provider account belongs to another username.")
        return users

    def create_user(self, claims: dict):
        with transaction.atomic():
            user = self.UserModel.objects.create_user(
                self._username(claims), email=claims.get("email") or ""
            )
            ExternalIdentity.objects.create(user=user, provider=OIDC, subject=claims["sub"])
        return self.update_user(user, claims)

    def update_user(self, user, claims: dict):
        # Accounts created before subjects were recorded are bound at their next sign-in.
        ExternalIdentity.objects.get_or_create(
            user=user, provider=OIDC, defaults={"subject": str(claims["sub"])}
        )
        user.email = claims.get("email") or user.email
        user.first_name = str(claims.get("given_name") or user.first_name)[:150]
        user.last_name = str(claims.get("family_name") or user.last_name)[:150]
        user.save(update_fields=["email", "first_name", "last_name"])
        groups = claims.get(settings.OIDC_GROUPS_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        user_roles_sync(user=user, idp_groups={str(g) for g in groups}, source="OIDC")
        return user


class LDAPBackend(DirectoryBackend):
    """django-python3-ldap, never signing in to a local account (one with a password).

    The directory's "alice" is not necessarily Relapp's local "alice": the
    local account keeps its own password, and the directory is not even
    asked (so its sign-in cannot rewrite the local account's name and e-mail).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        users = get_user_model().objects
        local = users.filter(username=username).first() if username else None
        if local is not None and local.has_usable_password():
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def ldap_sync_user_relations(user, ldap_attributes, *, connection: Connection, dn: str) -> None:
    """django-python3-ldap hook: map the groups that list `dn` as a member to roles.

    The groups are found with LDAP_GROUP_SEARCH_BASE and LDAP_GROUP_FILTER
    (default: groupOfNames and groupOfUniqueNames listing the user), so it
    works without the memberOf overlay; Active Directory's groups match too.
    """
    search_filter = settings.LDAP_GROUP_FILTER.format(dn=escape_filter_chars(dn))
    connection.search(
        search_base=settings.LDAP_GROUP_SEARCH_BASE,
        search_filter=search_filter,
        attributes=["cn"],
    )
    group_dns = {entry["dn"] for entry in connection.response if entry.get("dn")}
    user_roles_sync(user=user, idp_groups=group_dns, source="LDAP")
