from django import forms

from api.models import SUBSCRIBABLE
from api.services import DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS
from approvals.models import Product


class TokenDaysField(forms.IntegerField):
    def __init__(self, **kwargs):
        super().__init__(
            min_value=1,
            max_value=MAX_TOKEN_DAYS,
            initial=DEFAULT_TOKEN_DAYS,
            label="Token valid for (days)",
            help_text=f"Between 1 and {MAX_TOKEN_DAYS} days. Rotate before it runs out.",
            **kwargs,
        )


class ProductsField(forms.ModelMultipleChoiceField):
    def __init__(self, **kwargs):
        super().__init__(
            queryset=Product.objects.order_by("name"),
            widget=forms.CheckboxSelectMultiple,
            label="Products in scope",
            help_text="The token may report checks, ask deploy-check and record deployments "
            "only for releases of these products.",
            **kwargs,
        )


class ServiceAccountForm(forms.Form):
    name = forms.SlugField(
        max_length=60, help_text="Letters, digits, hyphens, underscores, e.g. ci-payments."
    )
    description = forms.CharField(max_length=200, required=False)
    products = ProductsField()
    can_read_changelog = forms.BooleanField(
        required=False,
        label="May read the whole change log",
        help_text="For a SIEM export job; pipelines do not need it.",
    )
    days = TokenDaysField()


class ScopeForm(forms.Form):
    products = ProductsField()
    can_read_changelog = forms.BooleanField(required=False, label="May read the whole change log")


class TokenIssueForm(forms.Form):
    days = TokenDaysField()


class WebhookForm(forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.order_by("name"), empty_label=None)
    url = forms.URLField(
        label="Payload URL",
        max_length=500,
        assume_scheme="https",
        help_text="Relapp POSTs JSON here, signed with the endpoint's secret.",
    )
    events = forms.MultipleChoiceField(
        choices=SUBSCRIBABLE,
        widget=forms.CheckboxSelectMultiple,
        label="Events",
        error_messages={"required": "Choose at least one event."},
    )
    description = forms.CharField(max_length=200, required=False)
    confirm_warnings = forms.BooleanField(required=False, label="I know; save this webhook anyway")


class WebhookUpdateForm(forms.Form):
    url = forms.URLField(label="Payload URL", max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=SUBSCRIBABLE,
        widget=forms.CheckboxSelectMultiple,
        label="Events",
        error_messages={"required": "Choose at least one event."},
    )
    description = forms.CharField(max_length=200, required=False)
    is_active = forms.BooleanField(
        required=False, label="Active", help_text="Inactive endpoints keep their queued events."
    )
    confirm_warnings = forms.BooleanField(required=False, label="I know; save this webhook anyway")
