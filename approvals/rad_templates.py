"""Starting a RAD from an earlier release: which content keys make each section."""

import copy
from collections.abc import Iterable
from typing import Any

from approvals.rad import EMPTY_RAD, rad_normalise

# RAD section (approvals.rad.SECTION_TITLES) -> the content keys it is made of.
SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "scope": ("scope",),
    "test_results": (
        "test_suites",
        "performance_findings",
        "security_findings",
        "performance_blocking",
        "security_blocking",
    ),
    "defects": ("defects",),
    "risks": ("risks",),
    "rollback": ("rollback",),
    "monitoring": ("monitoring",),
}


def rad_copy_sections(
    *, base: dict[str, Any] | None, source: dict[str, Any], sections: Iterable[str]
) -> dict[str, Any]:
    """`base` (or an empty RAD) with the ticked `sections` taken from `source`."""
    content = copy.deepcopy(base if base is not None else EMPTY_RAD)
    for section in sections:
        for key in SECTION_KEYS[section]:
            if key in source:
                content[key] = copy.deepcopy(source[key])
    return content


# --- the product's RAD template ---------------------------------------------------

# What a template may not hold: only a release knows its defects, counts and rehearsal.
TEMPLATE_NOTES = (
    "Defects, suite counts, blocking marks and the rehearsal date belong to each release, "
    "so a template leaves them empty."
)

# Sections a post-release review's suggestion can be applied to, and how (see below).
APPLY_SECTIONS: dict[str, str] = {
    "monitoring": "Post-deployment monitoring: each line becomes a checklist item",
    "rollback": "Rollback plan: the text is added to the rollback steps",
    "test_suites": "Test results: each line becomes a required suite",
    "risks": "Risk assessment: each line becomes a risk to assess",
    "scope": "Scope: the text is added to the scope",
}


def rad_template_normalise(content: dict[str, Any]) -> dict[str, Any]:
    """`content` in the RAD's canonical shape, minus what only a release can know."""
    template = rad_normalise(content)
    template["defects"] = []
    template["performance_blocking"] = False
    template["security_blocking"] = False
    template["test_suites"] = [
        {**suite, "passed": 0, "failed": 0, "skipped": 0} for suite in template["test_suites"]
    ]
    template["rollback"] = {**template["rollback"], "rehearsed_on": None, "evidence_url": ""}
    return template


def _new_lines(text: str, known: Iterable[str], limit: int) -> list[str]:
    """Each non-empty line of `text` (list marks dropped, cut to `limit`) not yet in `known`."""
    seen = {item.lower() for item in known}
    lines = []
    for raw in text.splitlines():
        line = raw.strip(" -*\t")[:limit].strip()
        if line and line.lower() not in seen:
            seen.add(line.lower())
            lines.append(line)
    return lines


def _append_text(existing: str, text: str) -> str:
    if text in existing:
        return existing
    return f"{existing}\n\n{text}" if existing else text


def rad_template_with_suggestion(
    content: dict[str, Any], *, section: str, text: str
) -> dict[str, Any]:
    """The template `content` with a review's suggested `text` added to `section`.

    Lines already there are not added twice, so applying a suggestion again
    changes nothing.
    """
    template = rad_template_normalise(content)
    text = text.replace("\r\n", "\n").strip()
    if section == "scope":
        template["scope"] = _append_text(template["scope"], text)
    elif section == "rollback":
        template["rollback"]["steps"] = _append_text(template["rollback"]["steps"], text)
    elif section == "monitoring":
        template["monitoring"] += _new_lines(text, template["monitoring"], 300)
    elif section == "test_suites":
        names = [suite["name"] for suite in template["test_suites"]]
        template["test_suites"] += [{"name": line} for line in _new_lines(text, names, 200)]
    elif section == "risks":
        descriptions = [risk["description"] for risk in template["risks"]]
        template["risks"] += [{"description": line} for line in _new_lines(text, descriptions, 500)]
    else:
        raise KeyError(section)
    return rad_template_normalise(template)
