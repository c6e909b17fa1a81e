"""window_warnings: what the release form warns about, branch by branch."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from approvals.rules import window_warnings

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
FREEZE = SimpleNamespace(
    start=NOW + timedelta(days=10), end=NOW + timedelta(days=20), reason="Year-end", product_id=None
)


@pytest.mark.parametrize(
    ("start_days", "freezes", "is_hotfix", "expected"),
    [
        (1, [], False, []),
        (-1, [], False, ["starts in the past"]),
        (0, [], False, []),  # now exactly is not the past
        (12, [FREEZE], False, ["Year-end", "deploy check will refuse it"]),
        (12, [FREEZE], True, ["Year-end", "emergency reason"]),
        (20, [FREEZE], False, []),  # starts when the freeze ends
        (-1, [FREEZE], False, ["starts in the past"]),
    ],
)
def test_window_warnings(start_days, freezes, is_hotfix, expected):
    start = NOW + timedelta(days=start_days)
    found = window_warnings(
        start=start, end=start + timedelta(hours=2), now=NOW, freezes=freezes, is_hotfix=is_hotfix
    )
    text = " ".join(found)
    for part in expected:
        assert part in text
    assert bool(found) == bool(expected)
