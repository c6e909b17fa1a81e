from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from approvals.models import Product, Release
from audit.models import Action
from audit.selectors import ChangelogFilters


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class ChangelogFilterForm(forms.Form):
    release = forms.ModelChoiceField(
        queryset=Release.objects.select_related("product").order_by("product__name", "-id"),
        required=False,
        empty_label="Any release",
    )
    product = forms.ModelChoiceField(
        queryset=Product.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="Any product",
    )
    actor = forms.CharField(
        required=False, max_length=150, label="Actor", help_text="A username, e.g. rm."
    )
    action = forms.ChoiceField(required=False, choices=[("", "Any action"), *Action.choices])
    date_from = forms.DateField(required=False, label="From date", widget=DateInput())
    date_to = forms.DateField(required=False, label="To date", widget=DateInput())

    def clean_actor(self):
        username = self.cleaned_data["actor"].strip()
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError("No user has this username.")
        return user

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filters(self) -> ChangelogFilters:
        """The validated filters; call after is_valid()."""
        data = self.cleaned_data
        return ChangelogFilters(
            release=data.get("release"),
            product=data.get("product"),
            actor=data.get("actor"),
            action=data.get("action") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


class UnauthorizedFilterForm(forms.Form):
    product = forms.ModelChoiceField(
        queryset=Product.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="Any product",
    )
    date_from = forms.DateField(required=False, label="From date", widget=DateInput())
    date_to = forms.DateField(required=False, label="To date", widget=DateInput())

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return data
