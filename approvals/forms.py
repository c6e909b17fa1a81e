from typing import Any

from django import forms

from approvals.artifacts import artifact_digest_normalise
from approvals.lifecycle import Status
from approvals.models import (
    ArtifactKind,
    Decision,
    DeploymentStatus,
    Product,
    Release,
    ReleaseType,
    validate_semver,
)
from approvals.rad import DEFECT_STATES, RISK_CATEGORIES, SECTION_TITLES, SEVERITIES
from relapp.widgets import DateTimeLocalInput, DayInput

__all__ = ["DateTimeLocalInput", "DayInput"]  # re-exported: other forms import them from here


class ProductForm(forms.Form):
    name = forms.CharField(max_length=120)
    slug = forms.SlugField(max_length=60, help_text="Used in URLs and the API, e.g. payments-api.")


class ReleaseForm(forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.none(), empty_label=None)
    version = forms.CharField(
        max_length=64, validators=[validate_semver], help_text="Semantic version, e.g. 2.4.0."
    )
    title = forms.CharField(max_length=200)
    release_type = forms.ChoiceField(label="Type", choices=ReleaseType.choices)
    fixes = forms.ModelChoiceField(
        queryset=Release.objects.none(),
        required=False,
        label="Fixes release",
        help_text="Hotfixes only: the release this hotfix repairs.",
    )
    window_start = forms.DateTimeField(label="Deployment window start", widget=DateTimeLocalInput())
    window_end = forms.DateTimeField(label="Deployment window end", widget=DateTimeLocalInput())
    cutoff_at = forms.DateTimeField(
        label="Code cut-off",
        required=False,
        widget=DateTimeLocalInput(),
        help_text="After it only fixes go in. Empty: the product policy's days before the window.",
    )
    confirm_window = forms.BooleanField(
        required=False, label="I know; create it with this window anyway"
    )

    def __init__(self, *args, products, releases, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products
        self.fields["fixes"].queryset = releases

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("window_start"), data.get("window_end")
        if start and end and end <= start:
            self.add_error("window_end", "The deployment window must end after it starts.")
        return data


class ReleaseFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    product = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Status.choices])
    release_type = forms.ChoiceField(
        required=False, label="Type", choices=[("", "Any type"), *ReleaseType.choices]
    )
    sort = forms.ChoiceField(
        required=False,
        label="Sort by",
        choices=[
            ("", "Newest first"),
            ("window", "Window, soonest first"),
            ("-window", "Window, latest first"),
            ("release", "Release, A–Z"),
            ("-release", "Release, Z–A"),
            ("status", "Status"),
            ("-status", "Status, reversed"),
        ],
    )
    mine = forms.BooleanField(required=False, label="Waiting for my signature")

    def __init__(self, *args, products, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", "Any product")] + [
            (p.slug, p.name) for p in products
        ]


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment", max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    section = forms.ChoiceField(
        label="About",
        required=False,
        choices=[("", "The release as a whole"), *SECTION_TITLES.items()],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # No maxlength in the page: the browser would cut a pasted text short
        # without a word; the server says how long it is and keeps it.
        self.fields["body"].widget.attrs.pop("maxlength", None)


class DiffForm(forms.Form):
    base = forms.IntegerField(label="From revision", min_value=1)
    compare = forms.IntegerField(label="To revision", min_value=1)


# --- the RAD editor ---------------------------------------------------------


class RadForm(forms.Form):
    scope = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Markdown. What ships, for whom, and what does not.",
    )
    performance_findings = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    performance_blocking = forms.BooleanField(
        label="Performance findings are blocking", required=False
    )
    security_findings = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    security_blocking = forms.BooleanField(label="Security findings are blocking", required=False)
    rollback_steps = forms.CharField(
        label="Rollback steps",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Markdown. Numbered steps someone on call can follow.",
    )
    rehearsed_on = forms.DateField(
        label="Last rehearsed on",
        required=False,
        widget=DayInput(),
    )
    evidence_url = forms.URLField(label="Rehearsal evidence", required=False, assume_scheme="https")


class _RowForm(forms.Form):
    key_field = ""

    def has_changed(self) -> bool:
        # A blank extra row posts its choices' defaults (severity "blocker",
        # state "open", likelihood 1): only typed text makes it a row to check.
        return any(
            not isinstance(self.fields[name], forms.ChoiceField) for name in self.changed_data
        )

    def has_content(self) -> bool:
        return bool(self.cleaned_data.get(self.key_field))


class SuiteForm(_RowForm):
    key_field = "name"
    name = forms.CharField(max_length=200)
    passed = forms.IntegerField(min_value=0, initial=0)
    failed = forms.IntegerField(min_value=0, initial=0)
    skipped = forms.IntegerField(min_value=0, initial=0)
    link = forms.URLField(required=False, assume_scheme="https")


class DefectForm(_RowForm):
    key_field = "title"
    title = forms.CharField(max_length=300)
    # Initials match what an untouched blank row posts, so it counts as unchanged.
    severity = forms.ChoiceField(
        choices=[(s, s.capitalize()) for s in SEVERITIES], initial=SEVERITIES[0]
    )
    state = forms.ChoiceField(
        choices=[(s, s.replace("_", " ").capitalize()) for s in DEFECT_STATES]
    )
    link = forms.URLField(required=False, assume_scheme="https")


class RiskCategoryField(forms.ChoiceField):
    """Empty means technical: a blank row posted without a category is still unchanged."""

    def has_changed(self, initial, data) -> bool:
        return (data or "technical") != (initial or "technical")


class RiskForm(_RowForm):
    key_field = "description"
    description = forms.CharField(max_length=500)
    likelihood = forms.TypedChoiceField(
        coerce=int,
        choices=[(n, str(n)) for n in range(1, 6)],
        initial=1,
        help_text="1 rare – 5 almost certain",
    )
    impact = forms.TypedChoiceField(
        coerce=int,
        choices=[(n, str(n)) for n in range(1, 6)],
        initial=1,
        help_text="1 minor – 5 severe",
    )
    mitigation = forms.CharField(max_length=1000, required=False)
    owner = forms.CharField(max_length=120, required=False)
    category = RiskCategoryField(
        choices=list(RISK_CATEGORIES.items()), required=False, initial="technical"
    )


class MonitoringForm(_RowForm):
    key_field = "item"
    item = forms.CharField(label="Checklist item", max_length=300)


class _RowFormSet(forms.BaseFormSet):
    def rows(self) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in form.cleaned_data.items() if k != "DELETE"}
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.has_content()
        ]

    def clean(self) -> None:
        if any(self.errors):
            return
        seen = set()
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            key = (form.cleaned_data.get(form.key_field) or "").strip().lower()
            if key in seen:
                raise forms.ValidationError(
                    f"Two rows share the {form.key_field} “{form.cleaned_data[form.key_field]}”."
                )
            seen.add(key)


def _formset(form):
    return forms.formset_factory(form, formset=_RowFormSet, extra=1, can_delete=True, max_num=200)


SuiteFormSet = _formset(SuiteForm)
DefectFormSet = _formset(DefectForm)
RiskFormSet = _formset(RiskForm)
MonitoringFormSet = _formset(MonitoringForm)

FORMSETS = (
    ("suites", SuiteFormSet),
    ("defects", DefectFormSet),
    ("risks", RiskFormSet),
    ("monitoring", MonitoringFormSet),
)


class RadEditor:
    """The RAD form plus one formset per table, bound and validated together."""

    def __init__(self, data=None, *, content: dict[str, Any] | None = None):
        content = content or {}
        rollback = content.get("rollback") or {}
        initial = {
            "scope": content.get("scope", ""),
            "performance_findings": content.get("performance_findings", ""),
            "security_findings": content.get("security_findings", ""),
            "performance_blocking": content.get("performance_blocking", False),
            "security_blocking": content.get("security_blocking", False),
            "rollback_steps": rollback.get("steps", ""),
            "rehearsed_on": rollback.get("rehearsed_on"),
            "evidence_url": rollback.get("evidence_url", ""),
        }
        rows = {
            "suites": content.get("test_suites", []),
            "defects": content.get("defects", []),
            "risks": content.get("risks", []),
            "monitoring": [{"item": item} for item in content.get("monitoring", [])],
        }
        self.form = RadForm(data, initial=None if data is not None else initial)
        self.formsets = {
            prefix: formset_class(
                data, prefix=prefix, initial=None if data is not None else rows[prefix]
            )
            for prefix, formset_class in FORMSETS
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
            "performance_blocking": data["performance_blocking"],
            "security_blocking": data["security_blocking"],
            "test_suites": self.formsets["suites"].rows(),
            "defects": self.formsets["defects"].rows(),
            "risks": self.formsets["risks"].rows(),
            "rollback": {
                "steps": data["rollback_steps"],
                "rehearsed_on": data["rehearsed_on"],
                "evidence_url": data["evidence_url"],
            },
            "monitoring": [row["item"] for row in self.formsets["monitoring"].rows()],
        }


class AuthenticatorCodeField(forms.CharField):
    """The 6-digit code of the signer's authenticator app (relapp.credentials)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Authenticator code")
        kwargs.setdefault("help_text", "The 6-digit code your authenticator app shows now.")
        super().__init__(
            required=False,
            max_length=12,
            widget=forms.TextInput(
                attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 8}
            ),
            **kwargs,
        )

    def clean(self, value):
        code = "".join(super().clean(value).split())
        if code and not (code.isascii() and code.isdigit() and len(code) == 6):
            raise forms.ValidationError("Enter the 6 digits your authenticator app shows.")
        return code


class _CodeForm(forms.Form):
    """A signing form that asks for the authenticator code when the signer has one."""

    def __init__(self, *args, code_required: bool = False, show_code: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.show_code = show_code or code_required
        field = self.fields["code"]
        field.required = code_required
        field.error_messages["required"] = "Enter the code from your authenticator app."


class SignOffForm(_CodeForm):
    decision = forms.ChoiceField(choices=Decision.choices, widget=forms.HiddenInput)
    revision = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    comment = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when you reject: the reason goes back to the team.",
    )
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
        help_text="Signing asks for your password again, like a signature.",
    )
    code = AuthenticatorCodeField()
    cutoff_acknowledged = forms.BooleanField(
        required=False,
        label="I acknowledge that the scope changed after the code cut-off.",
    )

    def __init__(self, *args, at_provider: bool = False, **kwargs):
        """`at_provider`: the signer signs by signing in again at the OIDC provider (no password)."""
        super().__init__(*args, **kwargs)
        self.at_provider = at_provider
        if at_provider:
            self.show_code = False
            del self.fields["password"]
            del self.fields["code"]

    def clean(self):
        data = super().clean()
        if data.get("decision") == Decision.REJECT and not (data.get("comment") or "").strip():
            self.add_error("comment", "Say why you reject: the reason goes back to the team.")
        return data


class VerbalForm(forms.Form):
    channel = forms.CharField(
        max_length=100, help_text="How it was given: phone call, gate meeting, chat…"
    )
    given_at = forms.DateTimeField(label="Given at", widget=DateTimeLocalInput())
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class VerbalResponseForm(_CodeForm):
    response = forms.ChoiceField(
        choices=[("confirm", "Confirm: I gave this approval"), ("dispute", "Dispute: I did not")],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    password = forms.CharField(label="Your password", strip=False, widget=forms.PasswordInput)
    code = AuthenticatorCodeField()
    cutoff_acknowledged = forms.BooleanField(
        required=False,
        label="I acknowledge that the scope changed after the code cut-off.",
    )

    def __init__(self, *args, at_provider: bool = False, **kwargs):
        """`at_provider`: the Accountable answers by signing in again at the OIDC provider."""
        super().__init__(*args, **kwargs)
        self.at_provider = at_provider
        if at_provider:
            self.show_code = False
            del self.fields["password"]
            del self.fields["code"]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class DeploymentForm(forms.Form):
    status = forms.ChoiceField(choices=DeploymentStatus.choices)
    environment = forms.CharField(max_length=60, initial="production")
    details = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class DeploymentPageForm(DeploymentForm):
    """The deployment page: also the digest deployed, and the tick that confirms its warnings."""

    artifact = forms.CharField(
        label="Artifact digest deployed",
        required=False,
        max_length=80,
        help_text="Optional: sha256:<64 hex> or a 40-hex commit. One the approval does not "
        "cover is flagged.",
    )
    confirm_warnings = forms.BooleanField(
        required=False, label="I know; record it, flagged unauthorized"
    )

    def clean_artifact(self) -> str:
        digest = self.cleaned_data["artifact"].strip()
        if not digest:
            return ""
        kind = ArtifactKind.COMMIT if len(digest) == 40 else ArtifactKind.IMAGE
        try:
            return artifact_digest_normalise(kind=kind, digest=digest)
        except ValueError:
            raise forms.ValidationError(
                "Give sha256: followed by 64 hex characters, or a 40-hex commit."
            ) from None


class ReviewForm(forms.Form):
    went_well = forms.CharField(label="What went well", widget=forms.Textarea(attrs={"rows": 3}))
    slipped = forms.CharField(label="What slipped", widget=forms.Textarea(attrs={"rows": 3}))
    template_changes = forms.CharField(
        label="RAD template adjustments",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ArtifactForm(forms.Form):
    name = forms.CharField(
        max_length=300, help_text="e.g. registry.example.com/payments-api or the repository."
    )
    kind = forms.ChoiceField(choices=ArtifactKind.choices)
    digest = forms.CharField(
        max_length=80, help_text="sha256:<64 hex> for images and packages; 40 hex for a commit."
    )


class ArtifactRemoveForm(forms.Form):
    name = forms.CharField(max_length=300)
