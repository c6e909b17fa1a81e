"""Writes to a product's approval policy from its settings page, and policy versions.

Every change makes a new PolicyVersion holding a JSON snapshot of all the
policy's fields (so a field added to ApprovalPolicy is versioned without a
change here); a release records the version it was approved under.
"""

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from approvals.models import ApprovalPolicy, PolicyVersion, Product
from audit.changelog import changelog_record
from audit.models import Action

# Fields of ApprovalPolicy that are not settings.
_NOT_SETTINGS = frozenset({"id", "product"})


def policy_setting_names() -> list[str]:
    """Every setting of the approval policy, in the model's order."""
    return [f.name for f in ApprovalPolicy._meta.concrete_fields if f.name not in _NOT_SETTINGS]


def policy_snapshot(policy: ApprovalPolicy) -> dict[str, Any]:
    """Every setting as JSON values (decimals become strings), for versions and the log."""
    raw = {name: getattr(policy, name) for name in policy_setting_names()}
    return json.loads(json.dumps(raw, cls=DjangoJSONEncoder))


def _policy_locked(product: Product) -> ApprovalPolicy:
    """The product's policy row, locked; an unsaved default policy when it has none yet."""
    policy = ApprovalPolicy.objects.select_for_update().filter(product=product).first()
    return policy or ApprovalPolicy(product=product)


def _version_latest(product: Product) -> PolicyVersion | None:
    return PolicyVersion.objects.filter(product=product).order_by("-number").first()


def _version_write(*, product: Product, actor, snapshot: dict, changed: list[str]) -> PolicyVersion:
    latest = _version_latest(product)
    return PolicyVersion.objects.create(
        product=product,
        number=(latest.number + 1) if latest else 1,
        snapshot=snapshot,
        changed_fields=changed,
        created_by=actor,
    )


def policy_version_current(*, product: Product, actor) -> PolicyVersion:
    """The version in force now, written as version 1 if the product has none yet.

    Runs in the caller's transaction; the product row is locked so two
    approvals of the same product cannot both write version 1.
    """
    Product.objects.select_for_update().filter(pk=product.pk).first()
    latest = _version_latest(product)
    if latest is not None:
        return latest
    policy = ApprovalPolicy.objects.filter(product=product).first() or ApprovalPolicy(
        product=product
    )
    return _version_write(
        product=product, actor=actor, snapshot=policy_snapshot(policy), changed=[]
    )


def policy_version_after_change(
    *, product: Product, actor, before: dict, after: dict
) -> PolicyVersion:
    """Record `after` as a new version (the admin's policy_save calls this too).

    When the product had no version yet, `before` becomes version 1 first, so
    releases approved under the old settings can still be told apart.
    """
    if _version_latest(product) is None:
        _version_write(product=product, actor=actor, snapshot=before, changed=[])
    changed = sorted(name for name in after if before.get(name) != after.get(name))
    return _version_write(product=product, actor=actor, snapshot=after, changed=changed)


def policy_update(*, product: Product, actor, values: dict[str, Any]) -> PolicyVersion | None:
    """Set the policy's settings to `values` (validated by the settings form), log and version it.

    Returns the new version, or None when nothing changed. Unknown setting
    names are refused, so a form cannot write the product or the id.
    """
    unknown = set(values) - set(policy_setting_names())
    if unknown:
        raise ValidationError(f"Unknown policy settings: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        Product.objects.select_for_update().filter(pk=product.pk).first()
        policy = _policy_locked(product)
        before = policy_snapshot(policy)
        for name, value in values.items():
            setattr(policy, name, value)
        policy.full_clean(exclude=["product"])
        policy.save()
        # Read back what the database stored (decimal places), so equal settings compare equal.
        policy.refresh_from_db()
        after = policy_snapshot(policy)
        if after == before:
            return None
        version = policy_version_after_change(
            product=product, actor=actor, before=before, after=after
        )
        changelog_record(
            action=Action.POLICY_CHANGED,
            actor=actor,
            product=product,
            obj=policy,
            before=before,
            after={**after, "policy_version": version.number},
            reason=f"Policy version {version.number}: changed {', '.join(version.changed_fields)}",
        )
        return version
