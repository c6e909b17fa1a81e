"""The structured content of a Release Acceptance Document.

A RAD revision stores a plain JSON document with the shape of `EMPTY_RAD`.
Its SHA-256 is computed over a canonical serialisation (sorted keys, no
whitespace, UTF-8), so the same content always gives the same hash.
"""

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

SEVERITIES = ("blocker", "critical", "major", "minor")
DEFECT_STATES = ("open", "in_progress", "fixed", "deferred")
OPEN_DEFECT_STATES = ("open", "in_progress")
# Each risk's category; technical unless the author says otherwise.
RISK_CATEGORIES = {
    "technical": "Technical",
    "security": "Security",
    "legal": "Legal / compliance",
    "brand": "Brand / communication",
    "support": "Support readiness",
    "other": "Other",
}

EMPTY_RAD: dict[str, Any] = {
    "scope": "",
    "test_suites": [],
    "performance_findings": "",
    "security_findings": "",
    "performance_blocking": False,
    "security_blocking": False,
    "defects": [],
    "risks": [],
    "rollback": {"steps": "", "rehearsed_on": None, "evidence_url": ""},
    "monitoring": [],
}

SECTION_TITLES = {
    "scope": "Scope",
    "test_results": "Test results",
    "defects": "Open defects",
    "risks": "Risk assessment",
    "rollback": "Rollback plan",
    "monitoring": "Post-deployment monitoring",
}


def _text(value: Any) -> str:
    return str(value or "").replace("\r\n", "\n").strip()


def _count(value: Any) -> int:
    return max(int(value or 0), 0)


def rad_normalise(content: dict[str, Any]) -> dict[str, Any]:
    """Return content in its canonical shape: known keys only, stripped text."""
    rollback = content.get("rollback") or {}
    rehearsed = rollback.get("rehearsed_on")
    if isinstance(rehearsed, date):
        rehearsed = rehearsed.isoformat()
    return {
        "scope": _text(content.get("scope")),
        "test_suites": [
            {
                "name": _text(s.get("name")),
                "passed": _count(s.get("passed")),
                "failed": _count(s.get("failed")),
                "skipped": _count(s.get("skipped")),
                "link": _text(s.get("link")),
            }
            for s in content.get("test_suites") or []
        ],
        "performance_findings": _text(content.get("performance_findings")),
        "security_findings": _text(content.get("security_findings")),
        "performance_blocking": bool(content.get("performance_blocking")),
        "security_blocking": bool(content.get("security_blocking")),
        "defects": [
            {
                "title": _text(d.get("title")),
                "severity": d.get("severity") if d.get("severity") in SEVERITIES else "minor",
                "link": _text(d.get("link")),
                "state": d.get("state") if d.get("state") in DEFECT_STATES else "open",
            }
            for d in content.get("defects") or []
        ],
        "risks": [
            {
                "description": _text(r.get("description")),
                "likelihood": min(max(int(r.get("likelihood") or 1), 1), 5),
                "impact": min(max(int(r.get("impact") or 1), 1), 5),
                "mitigation": _text(r.get("mitigation")),
                "owner": _text(r.get("owner")),
                "category": r.get("category")
                if r.get("category") in RISK_CATEGORIES
                else "technical",
            }
            for r in content.get("risks") or []
        ],
        "rollback": {
            "steps": _text(rollback.get("steps")),
            "rehearsed_on": rehearsed or None,
            "evidence_url": _text(rollback.get("evidence_url")),
        },
        "monitoring": [_text(item) for item in content.get("monitoring") or [] if _text(item)],
    }


def rad_canonical(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def rad_sha256(content: dict[str, Any]) -> str:
    return hashlib.sha256(rad_canonical(content)).hexdigest()


def rad_incomplete_sections(content: dict[str, Any]) -> dict[str, str]:
    """Section key -> what is missing. Empty when the RAD may go to review."""
    problems: dict[str, str] = {}
    if not content["scope"]:
        problems["scope"] = "Scope: describe what ships in this release."
    if not content["test_suites"]:
        problems["test_results"] = "Test results: add at least one test suite with its counts."
    elif any(s["passed"] + s["failed"] + s["skipped"] == 0 for s in content["test_suites"]):
        problems["test_results"] = "Test results: every suite needs passed/failed/skipped counts."
    if not content["risks"]:
        problems["risks"] = "Risk assessment: list at least one risk with its mitigation."
    elif any(not r["mitigation"] for r in content["risks"]):
        problems["risks"] = "Risk assessment: every risk needs a mitigation."
    if not content["rollback"]["steps"]:
        problems["rollback"] = "Rollback plan: write the rollback steps."
    elif not content["rollback"]["rehearsed_on"]:
        problems["rollback"] = "Rollback plan: give the date the rollback was last rehearsed."
    if not content["monitoring"]:
        problems["monitoring"] = "Post-deployment monitoring: add at least one checklist item."
    return problems


# --- reading view ---------------------------------------------------------


@dataclass
class RadSummary:
    content: dict[str, Any]
    defects_by_severity: list[tuple[str, list[dict]]] = field(default_factory=list)
    open_blockers: int = 0
    open_criticals: int = 0
    total_passed: int = 0
    total_failed: int = 0
    total_skipped: int = 0
    heat_map: list[list[dict]] = field(default_factory=list)
    risks_ranked: list[dict] = field(default_factory=list)

    @property
    def pass_rate(self) -> float | None:
        executed = self.total_passed + self.total_failed
        return round(100 * self.total_passed / executed, 1) if executed else None


def _pass_rate(suite: dict) -> float | None:
    executed = suite["passed"] + suite["failed"]
    return round(100 * suite["passed"] / executed, 1) if executed else None


def rad_summary(content: dict[str, Any]) -> RadSummary:
    summary = RadSummary(content=content)
    for severity in SEVERITIES:
        rows = [d for d in content["defects"] if d["severity"] == severity]
        summary.defects_by_severity.append((severity, rows))
    open_defects = [d for d in content["defects"] if d["state"] in OPEN_DEFECT_STATES]
    summary.open_blockers = sum(1 for d in open_defects if d["severity"] == "blocker")
    summary.open_criticals = sum(1 for d in open_defects if d["severity"] == "critical")
    suites = []
    for suite in content["test_suites"]:
        summary.total_passed += suite["passed"]
        summary.total_failed += suite["failed"]
        summary.total_skipped += suite["skipped"]
        suites.append({**suite, "pass_rate": _pass_rate(suite)})
    summary.content = {**content, "test_suites": suites}
    numbered = [
        {**risk, "number": index, "score": risk["likelihood"] * risk["impact"]}
        for index, risk in enumerate(content["risks"], start=1)
    ]
    summary.risks_ranked = sorted(numbered, key=lambda r: -r["score"])
    # Rows from impact 5 (top) to 1, columns likelihood 1..5.
    summary.heat_map = [
        [
            {
                "likelihood": likelihood,
                "impact": impact,
                "score": likelihood * impact,
                "risks": [
                    r for r in numbered if r["likelihood"] == likelihood and r["impact"] == impact
                ],
            }
            for likelihood in range(1, 6)
        ]
        for impact in range(5, 0, -1)
    ]
    return summary


# --- diff between two revisions -------------------------------------------


@dataclass
class ItemChange:
    kind: str  # "added" | "removed" | "changed" | "unchanged"
    label: str
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)  # (name, old, new)


@dataclass
class SectionDiff:
    key: str
    title: str
    text_lines: list[tuple[str, str]] = field(default_factory=list)  # (" "|"+"|"-", line)
    items: list[ItemChange] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(op != " " for op, _ in self.text_lines) or any(
            i.kind != "unchanged" for i in self.items
        )


def _text_diff(old: str, new: str) -> list[tuple[str, str]]:
    lines = []
    for line in difflib.ndiff(old.splitlines(), new.splitlines()):
        op, text = line[:1], line[2:]
        if op in {" ", "+", "-"}:
            lines.append((op, text))
    return lines


def _item_diff(old: list[dict], new: list[dict], key: str, label_key: str) -> list[ItemChange]:
    old_by_key = {item[key]: item for item in old}
    new_by_key = {item[key]: item for item in new}
    changes: list[ItemChange] = []
    for item in new:
        previous = old_by_key.get(item[key])
        if previous is None:
            changes.append(
                ItemChange("added", item[label_key], [(k, None, v) for k, v in item.items()])
            )
            continue
        fields = [(k, previous.get(k), v) for k, v in item.items() if previous.get(k) != v]
        changes.append(ItemChange("changed" if fields else "unchanged", item[label_key], fields))
    for item in old:
        if item[key] not in new_by_key:
            changes.append(
                ItemChange("removed", item[label_key], [(k, v, None) for k, v in item.items()])
            )
    return changes


def rad_diff(old: dict[str, Any], new: dict[str, Any]) -> list[SectionDiff]:
    """Section-by-section differences from `old` to `new`."""
    scope = SectionDiff("scope", SECTION_TITLES["scope"], _text_diff(old["scope"], new["scope"]))
    tests = SectionDiff(
        "test_results",
        SECTION_TITLES["test_results"],
        items=_item_diff(old["test_suites"], new["test_suites"], "name", "name"),
    )
    for name, label in (
        ("performance_findings", "Performance findings"),
        ("security_findings", "Security findings"),
    ):
        if old[name] != new[name]:
            tests.items.append(ItemChange("changed", label, [(label, old[name], new[name])]))
    for name, label in (
        ("performance_blocking", "Performance findings blocking"),
        ("security_blocking", "Security findings blocking"),
    ):
        if old.get(name, False) != new.get(name, False):
            before, after = ("yes" if old.get(name) else "no"), ("yes" if new.get(name) else "no")
            tests.items.append(ItemChange("changed", label, [(label, before, after)]))
    defects = SectionDiff(
        "defects",
        SECTION_TITLES["defects"],
        items=_item_diff(old["defects"], new["defects"], "title", "title"),
    )
    risks = SectionDiff(
        "risks",
        SECTION_TITLES["risks"],
        items=_item_diff(old["risks"], new["risks"], "description", "description"),
    )
    rollback = SectionDiff(
        "rollback",
        SECTION_TITLES["rollback"],
        _text_diff(old["rollback"]["steps"], new["rollback"]["steps"]),
    )
    for name, label in (("rehearsed_on", "Last rehearsed"), ("evidence_url", "Evidence")):
        if old["rollback"][name] != new["rollback"][name]:
            rollback.items.append(
                ItemChange(
                    "changed", label, [(label, old["rollback"][name], new["rollback"][name])]
                )
            )
    monitoring = SectionDiff(
        "monitoring",
        SECTION_TITLES["monitoring"],
        _text_diff("\n".join(old["monitoring"]), "\n".join(new["monitoring"])),
    )
    return [scope, tests, defects, risks, rollback, monitoring]
