"""The gate meeting's agenda, built from the RAD and the sign-off state."""

from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

from approvals.rad import OPEN_DEFECT_STATES
from approvals.selectors import release_progress
from approvals.services import rad_current


@dataclass
class Agenda:
    open_defects: list = field(default_factory=list)
    top_risks: list = field(default_factory=list)
    rollback: str = ""
    failing_checks: list = field(default_factory=list)
    pending_signoffs: list = field(default_factory=list)  # (activity, accountable)
    ready_reasons: list = field(default_factory=list)
    # Revision numbers that changed the Scope after the code cut-off.
    scope_changed_after_cutoff: list = field(default_factory=list)

    def as_text(self) -> str:
        lines = []
        if self.scope_changed_after_cutoff:
            numbers = ", ".join(str(n) for n in self.scope_changed_after_cutoff)
            lines.append(f"Scope changed after the code cut-off: revision {numbers}")
        lines.append("Open blocker/critical defects:")
        lines += [f"  - [{d['severity']}] {d['title']}" for d in self.open_defects] or ["  none"]
        lines.append("Top risks (likelihood x impact):")
        lines += [
            f"  - {r['score']:>2}  {r['description']} (mitigation: {r['mitigation'] or 'none'})"
            for r in self.top_risks
        ] or ["  none"]
        lines.append(f"Rollback: {self.rollback}")
        lines.append("Gate checks not passing:")
        lines += [f"  - {c.name}: {c.status}" for c in self.failing_checks] or ["  none"]
        lines.append("Sign-offs still pending:")
        lines += [
            f"  - {activity.name}: {person.get_full_name() or person.get_username() if person else 'no Accountable'}"
            for activity, person in self.pending_signoffs
        ] or ["  none"]
        return "\n".join(lines)


def meeting_agenda(*, release, user) -> Agenda:
    current = rad_current(release)
    progress = release_progress(release=release, user=user, current=current)
    agenda = Agenda(
        ready_reasons=progress.ready_reasons,
        scope_changed_after_cutoff=list(
            release.revisions.filter(scope_changed_after_cutoff=True).values_list(
                "number", flat=True
            )
        ),
    )
    if current is not None:
        content = current.content
        agenda.open_defects = [
            d
            for d in content["defects"]
            if d["state"] in OPEN_DEFECT_STATES and d["severity"] in ("blocker", "critical")
        ]
        risks = [{**r, "score": r["likelihood"] * r["impact"]} for r in content["risks"]]
        agenda.top_risks = sorted(risks, key=lambda r: -r["score"])[:3]
        rehearsed = content["rollback"]["rehearsed_on"]
        if rehearsed:
            age = (timezone.localdate() - date.fromisoformat(rehearsed)).days
            agenda.rollback = f"rehearsed {age} days ago ({rehearsed})"
        else:
            agenda.rollback = "never rehearsed"
    else:
        agenda.rollback = "no RAD yet"
    agenda.failing_checks = [c for c in progress.checks if c.status != "pass"]
    agenda.pending_signoffs = [
        (row.activity, row.accountable)
        for row in progress.rows
        if row.required and (row.live is None or row.live.decision != "approve")
    ]
    return agenda
