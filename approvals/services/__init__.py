"""Every write to products, releases, RADs, sign-offs and deployments.

One module per aggregate; each function is one transaction with the release
row locked, checked against the lifecycle table, writing its change-log
entries. Callers import from here.
"""

from approvals.services.artifacts import artifact_remove, artifacts_report
from approvals.services.base import (
    DomainError,
    db_now,
    release_lock,
    release_transition,
    signoffs_void,
)
from approvals.services.deployments import deployment_record, gate_check_report, review_record
from approvals.services.drills import drill_record, drill_schedule_set, product_targets_set
from approvals.services.evidence import attachment_add, attachment_remove, comment_resolve
from approvals.services.expiry import approvals_expire
from approvals.services.monitoring import MonitoringRefused, monitoring_tick, verification_record
from approvals.services.policies import policy_update, policy_version_current
from approvals.services.rad import rad_current, rad_revise, rad_start_from
from approvals.services.releases import (
    policy_save,
    product_create,
    release_cancel,
    release_comment,
    release_create,
    release_freeze_override,
    release_halt,
    release_raci_update,
    release_revise,
    release_snapshot,
    release_submit,
)
from approvals.services.signoffs import (
    SignOffRefused,
    release_signoff_state,
    signoff_manifest,
    signoff_record,
    signoff_record_verbal,
    signoff_refusal_record,
    signoff_verbal_respond,
)
from approvals.services.teams import activity_team_set, team_member_remove
from approvals.services.templates import (
    rad_template_apply_review,
    rad_template_content,
    rad_template_update,
)
from approvals.services.windows import release_window_move

__all__ = [
    "rad_template_apply_review",
    "rad_template_content",
    "rad_template_update",
    "release_window_move",
    "DomainError",
    "artifact_remove",
    "approvals_expire",
    "artifacts_report",
    "SignOffRefused",
    "db_now",
    "deployment_record",
    "gate_check_report",
    "policy_save",
    "product_create",
    "rad_current",
    "rad_revise",
    "release_cancel",
    "release_comment",
    "release_create",
    "release_freeze_override",
    "release_halt",
    "release_lock",
    "release_raci_update",
    "release_revise",
    "release_signoff_state",
    "release_snapshot",
    "release_submit",
    "release_transition",
    "review_record",
    "signoff_manifest",
    "signoff_record",
    "signoff_record_verbal",
    "signoff_refusal_record",
    "signoff_verbal_respond",
    "signoffs_void",
    "MonitoringRefused",
    "monitoring_tick",
    "verification_record",
    "drill_record",
    "drill_schedule_set",
    "product_targets_set",
    "policy_update",
    "policy_version_current",
    "activity_team_set",
    "team_member_remove",
    "rad_start_from",
    "attachment_add",
    "attachment_remove",
    "comment_resolve",
]
