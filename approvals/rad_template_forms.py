"""Forms of the RAD template page: the RAD editor's fields and rows, minus what only a release knows."""

from typing import Any

from django import forms

from approvals.forms import MonitoringFormSet, RiskFormSet, _formset, _RowForm
from approvals.rad_templates import APPLY_SECTIONS


class TemplateRadForm(forms.Form):
    scope = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Markdown. A skeleton every release fills in: headings, what to describe.",
    )
    performance_findings = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Default text, e.g. where the load-test report lives.",
    )
    security_findings = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    rollback_steps = forms.CharField(
        label="Rollback steps",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Markdown. The rollback plan skeleton; each release adds its rehearsal date.",
    )


class TemplateSuiteForm(_RowForm):
    key_field = "name"
    name = forms.CharField(label="Required suite", max_length=200)
    link = forms.URLField(required=False, assume_scheme="https")


TemplateSuiteFormSet = _formset(TemplateSuiteForm)

TEMPLATE_FORMSETS = (
    ("suites", TemplateSuiteFormSet),
    ("risks", RiskFormSet),
    ("monitoring", MonitoringFormSet),
)


class RadTemplateEditor:
    """The template form plus one formset per table, bound and validated together."""

    def __init__(self, data=None, *, content: dict[str, Any] | None = None):
        content = content or {}
        initial = {
            "scope": content.get("scope", ""),
            "performance_findings": content.get("performance_findings", ""),
            "security_findings": content.get("security_findings", ""),
            "rollback_steps": (content.get("rollback") or {}).get("steps", ""),
        }
        rows = {
            "suites": [
                {"name": s["name"], "link": s.get("link", "")}
                for s in content.get("test_suites", [])
            ],
            "risks": content.get("risks", []),
            "monitoring": [{"item": item} for item in content.get("monitoring", [])],
        }
        self.form = TemplateRadForm(data, initial=None if data is not None else initial)
        self.formsets = {
            prefix: formset_class(
                data, prefix=prefix, initial=None if data is not None else rows[prefix]
            )
            for prefix, formset_class in TEMPLATE_FORMSETS
        }

    def is_valid(self) -> bool:
        valid = self.form.is_valid()
        for formset in self.formsets.values():
            valid = formset.is_valid() and valid
        return valid

    def content(self) -> dict[str, Any]:
        data = self.form.cleaned_data
        return {
            "scope": data["scope"],
            "performance_findings": data["performance_findings"],
            "security_findings": data["security_findings"],
            "test_suites": self.formsets["suites"].rows(),
            "risks": self.formsets["risks"].rows(),
            "rollback": {"steps": data["rollback_steps"]},
            "monitoring": [row["item"] for row in self.formsets["monitoring"].rows()],
        }


class ApplyReviewForm(forms.Form):
    section = forms.ChoiceField(
        label="Apply to section",
        choices=list(APPLY_SECTIONS.items()),
        widget=forms.RadioSelect,
    )
    text = forms.CharField(
        label="The change",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="The review's suggestion; trim it to what the template should say.",
    )
