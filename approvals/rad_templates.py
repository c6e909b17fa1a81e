"""Starting a RAD from an earlier release: which content keys make each section."""

import copy
from collections.abc import Iterable
from typing import Any

from approvals.rad import EMPTY_RAD

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
