"""The product settings form: every field of the approval policy, validated.

A ModelForm over every field of ApprovalPolicy but the product, so a field added
to the model appears on the settings page (and in each policy version)
without a change here. Fields whose JSON is awkward to type get a friendlier
text form below; everything else is the model's own form field.
"""

from decimal import Decimal
from typing import Any

from django import forms

from approvals.models import ApprovalPolicy
from approvals.rad import RISK_CATEGORIES

MAX_REMINDER_HOURS = 24 * 30
POLICY_FIELDS = [
    f.name for f in ApprovalPolicy._meta.concrete_fields if f.name not in ("id", "product")
]


class LinesField(forms.CharField):
    """A list of names, one per line; blank lines and repeats dropped."""

    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, *, item_max_length: int = 100, **kwargs):
        self.item_max_length = item_max_length
        super().__init__(required=False, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(value)
        return value

    def to_python(self, value) -> list[str]:
        text = super().to_python(value) or ""
        names: list[str] = []
        for line in text.splitlines():
            name = line.strip()
            if not name or name in names:
                continue
            if len(name) > self.item_max_length:
                raise forms.ValidationError(
                    f"“{name[:40]}…” is longer than {self.item_max_length} characters."
                )
            names.append(name)
        return names


class SuiteRatesField(forms.CharField):
    """Suite name → minimum pass rate (%), one “Suite name: 95” per line."""

    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, dict):
            return "\n".join(f"{name}: {rate}" for name, rate in value.items())
        return value

    def to_python(self, value) -> dict[str, float]:
        text = super().to_python(value) or ""
        rates: dict[str, float] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, rate = line.rpartition(":")
            name = name.strip()
            if not sep or not name:
                raise forms.ValidationError(
                    f"Line {number}: write “Suite name: minimum %”, e.g. “End-to-end: 100”."
                )
            try:
                minimum = float(rate.strip().rstrip("%"))
            except ValueError:
                raise forms.ValidationError(
                    f"Line {number}: “{rate.strip()}” is not a number."
                ) from None
            if not 0 <= minimum <= 100:
                raise forms.ValidationError(f"Line {number}: a pass rate is between 0 and 100.")
            rates[name] = minimum
        return rates


class HoursListField(forms.CharField):
    """Reminder offsets typed as hours ("24, 1"), stored as seconds."""

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(f"{seconds / 3600:g}" for seconds in value)
        return value

    def to_python(self, value) -> list[int]:
        text = super().to_python(value) or ""
        seconds: list[int] = []
        for part in text.replace(";", ",").split(","):
            if not part.strip():
                continue
            try:
                hours = float(part.strip())
            except ValueError:
                raise forms.ValidationError(f"“{part.strip()}” is not a number of hours.") from None
            if not 0 < hours <= MAX_REMINDER_HOURS:
                raise forms.ValidationError(
                    f"A reminder is between a minute and {MAX_REMINDER_HOURS} hours before."
                )
            offset = round(hours * 3600)
            if offset not in seconds:
                seconds.append(offset)
        return sorted(seconds, reverse=True)


class PolicyForm(forms.ModelForm):
    """The approval policy's settings page. Validates only; `services.policy_update` saves."""

    required_checks = LinesField(
        label="Required gate checks",
        help_text="One check name per line, exactly as the pipeline reports it.",
    )
    zero_failure_suites = LinesField(
        label="Suites with no failures allowed",
        help_text="One suite name per line; each must be in the RAD and report no failures.",
    )
    suite_min_pass_rates = SuiteRatesField(
        label="Minimum pass rate per suite",
        help_text="One “Suite name: minimum %” per line.",
    )
    fast_path_activities = LinesField(
        label="Fast-path activities",
        help_text="One activity name per line, e.g. Test thresholds and Go/no-go decision.",
        item_max_length=120,
    )
    required_risk_categories = LinesField(
        label="Risk categories the RAD must assess",
        help_text="One per line: " + ", ".join(RISK_CATEGORIES) + ".",
    )
    reminder_offsets_seconds = HoursListField(
        label="Gate-meeting reminders (hours before)",
        help_text="Comma separated, e.g. “24, 1”.",
    )

    class Meta:
        model = ApprovalPolicy
        # Every setting of the model, so a new policy field shows up here by itself.
        fields = POLICY_FIELDS

    def clean_required_risk_categories(self) -> list[str]:
        categories = self.cleaned_data["required_risk_categories"]
        unknown = [c for c in categories if c not in RISK_CATEGORIES]
        if unknown:
            raise forms.ValidationError(
                f"Unknown risk categor{'y' if len(unknown) == 1 else 'ies'}: {', '.join(unknown)}. "
                f"Use {', '.join(RISK_CATEGORIES)}."
            )
        return categories

    def clean_min_pass_rate(self) -> Decimal | None:
        rate = self.cleaned_data.get("min_pass_rate")
        if rate is not None and not 0 <= rate <= 100:
            raise forms.ValidationError("A pass rate is between 0 and 100.")
        return rate

    def clean_approval_validity_days(self) -> int:
        days = self.cleaned_data.get("approval_validity_days")
        if days is not None and days < 1:
            raise forms.ValidationError("An approval must stay valid for at least one day.")
        return days

    def clean_max_rehearsal_age_days(self) -> int:
        days = self.cleaned_data.get("max_rehearsal_age_days")
        if days is not None and days < 1:
            raise forms.ValidationError("Allow at least one day since the last rehearsal.")
        return days

    def values(self) -> dict[str, Any]:
        """The cleaned settings, keyed by the model's field names."""
        return {name: self.cleaned_data[name] for name in self.fields}
