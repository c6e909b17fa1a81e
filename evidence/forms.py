from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db import models
from django.urls import reverse_lazy

from approvals.models import Product, Release
from audit.models import Action
from audit.selectors import ChangelogFilters
from relapp.widgets import DayInput


class DateInput(DayInput):
    """The change log's day filters: one format (YYYY-MM-DD), whatever the browser."""


def release_label(release: Release) -> str:
    """How a release is typed into a release field: "<product slug> <version>"."""
    return f"{release.product.slug} {release.version}"


def release_lookup(text: str) -> Release | None:
    """The release named by `text`: its number (as in ?release=12) or "<product> <version>".

    The product may be given by slug or by name, in any case.
    """
    text = " ".join(text.split())
    releases = Release.objects.select_related("product")
    if text.isdigit():
        return releases.filter(pk=int(text)).first()
    product, _, version = text.rpartition(" ")
    if not product:
        return None
    return (
        releases.filter(version=version)
        .filter(models.Q(product__slug__iexact=product) | models.Q(product__name__iexact=product))
        .first()
    )


class ReleaseSearchInput(forms.TextInput):
    """A text field that suggests releases as one types (static/js/release_suggest.js).

    Without JavaScript one types "<product> <version>"; nothing lists every
    release, so the page stays the same size however many releases exist.
    """

    template_name = "evidence/release_search_input.html"

    def __init__(self, **kwargs):
        attrs = {
            "autocomplete": "off",
            "placeholder": "e.g. payments-api 2.4.0",
            "spellcheck": "false",
            "list": "release-options",
            "data-suggest-url": reverse_lazy("evidence:release_suggestions"),
        }
        super().__init__(attrs=attrs, **kwargs)


class ChangelogFilterForm(forms.Form):
    release = forms.CharField(
        required=False,
        max_length=200,
        widget=ReleaseSearchInput(),
        help_text="Product and version; suggestions appear as you type.",
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

    def __init__(self, data=None, **kwargs):
        # ?release=<number> (links from release pages) shows as "<product> <version>".
        if data is not None and str(data.get("release", "")).strip().isdigit():
            found = release_lookup(data["release"])
            if found is not None:
                data = data.copy()
                data["release"] = release_label(found)
        super().__init__(data, **kwargs)

    def clean_release(self) -> Release | None:
        text = self.cleaned_data["release"].strip()
        if not text:
            return None
        release = release_lookup(text)
        if release is None:
            raise forms.ValidationError(
                "No release matches. Type the product and version, e.g. payments-api 2.4.0."
            )
        return release

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
