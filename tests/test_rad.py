"""The RAD document: hashing, completeness, summary and diff (pure functions)."""

from approvals.rad import (
    rad_diff,
    rad_incomplete_sections,
    rad_normalise,
    rad_sha256,
    rad_summary,
)
from approvals.templatetags.rad import render_markdown
from tests.factories import complete_rad


def test_same_content_gives_the_same_hash_whatever_the_key_order():
    content = rad_normalise(complete_rad())
    reordered = dict(reversed(list(content.items())))
    assert rad_sha256(content) == rad_sha256(reordered)
    assert len(rad_sha256(content)) == 64


def test_any_change_gives_a_new_hash():
    content = rad_normalise(complete_rad())
    changed = rad_normalise(complete_rad())
    changed["risks"][0]["impact"] = 5
    assert rad_sha256(content) != rad_sha256(changed)
    whitespace_only = rad_normalise(complete_rad(scope=COMPLETE_SCOPE + "  \r\n"))
    assert rad_sha256(whitespace_only) == rad_sha256(content)


COMPLETE_SCOPE = complete_rad()["scope"]


def test_a_complete_rad_has_no_missing_sections():
    assert rad_incomplete_sections(rad_normalise(complete_rad())) == {}


def test_each_missing_section_gets_its_own_message():
    empty = rad_normalise({})
    problems = rad_incomplete_sections(empty)
    assert set(problems) == {"scope", "test_results", "risks", "rollback", "monitoring"}
    assert problems["scope"].startswith("Scope:")
    assert problems["rollback"] == "Rollback plan: write the rollback steps."


def test_a_risk_without_mitigation_and_an_unrehearsed_rollback_are_reported():
    content = complete_rad()
    content["risks"][0]["mitigation"] = ""
    content["rollback"]["rehearsed_on"] = None
    problems = rad_incomplete_sections(rad_normalise(content))
    assert problems == {
        "risks": "Risk assessment: every risk needs a mitigation.",
        "rollback": "Rollback plan: give the date the rollback was last rehearsed.",
    }


def test_summary_counts_open_blockers_and_places_risks_on_the_heat_map():
    content = complete_rad(
        defects=[
            {"title": "A", "severity": "blocker", "link": "", "state": "open"},
            {"title": "B", "severity": "blocker", "link": "", "state": "fixed"},
            {"title": "C", "severity": "critical", "link": "", "state": "in_progress"},
        ]
    )
    summary = rad_summary(rad_normalise(content))
    assert summary.open_blockers == 1
    assert summary.open_criticals == 1
    cell = next(
        c for row in summary.heat_map for c in row if c["likelihood"] == 2 and c["impact"] == 4
    )
    assert [r["description"] for r in cell["risks"]] == ["Cache stampede on deploy"]
    assert summary.heat_map[0][0]["impact"] == 5  # top row is the highest impact
    assert summary.pass_rate == 100.0


def test_diff_marks_a_changed_risk_an_added_defect_and_a_removed_suite():
    old = rad_normalise(complete_rad())
    new_content = complete_rad()
    new_content["risks"][0]["likelihood"] = 4
    new_content["defects"].append(
        {"title": "Crash on empty cart", "severity": "critical", "link": "", "state": "open"}
    )
    new_content["test_suites"] = [
        {"name": "E2E", "passed": 10, "failed": 0, "skipped": 0, "link": ""}
    ]
    sections = {s.key: s for s in rad_diff(old, rad_normalise(new_content))}
    risk = sections["risks"].items[0]
    assert (risk.kind, risk.fields) == ("changed", [("likelihood", 2, 4)])
    assert [(i.kind, i.label) for i in sections["defects"].items if i.kind != "unchanged"] == [
        ("added", "Crash on empty cart")
    ]
    kinds = {(i.kind, i.label) for i in sections["test_results"].items}
    assert kinds == {("added", "E2E"), ("removed", "Unit")}
    assert not sections["scope"].changed


def test_hostile_markdown_is_neutralised():
    hostile = (
        "<script>alert('x')</script>\n\n"
        "[click](javascript:alert(1))\n\n"
        '<img src=x onerror="alert(2)">\n\n'
        '<a href="https://ok.example" onclick="steal()">fine</a>\n\n'
        "# Heading"
    )
    html = render_markdown(hostile)
    lowered = html.lower()
    assert "<script" not in lowered
    assert "javascript:" not in lowered
    assert "onerror" not in lowered and "onclick" not in lowered
    assert "<img" not in lowered
    assert '<a href="https://ok.example" rel="noopener noreferrer nofollow">fine</a>' in html
    assert "<h3>Heading</h3>" in html
