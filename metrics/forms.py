from datetime import date, timedelta

from django import forms
from django.utils import timezone

from relapp.widgets import DayInput

MAX_DAYS = 3 * 366


class MetricsFilterForm(forms.Form):
    """What the figures cover: a product (or all the user may see), a period, a range."""

    product = forms.ChoiceField(required=False, label="Product")
    period = forms.ChoiceField(
        choices=[("month", "Month"), ("week", "Week")], required=False, label="By"
    )
    start = forms.DateField(required=False, label="From", widget=DayInput())
    end = forms.DateField(required=False, label="To", widget=DayInput())
    hotfix_days = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=90,
        label="Hotfix counts as a failure within (days)",
    )

    def __init__(self, data, *, products):
        # The defaults are shown in the fields, so the page says what it covers.
        data = data.copy()
        end = timezone.localdate()
        data.setdefault("period", "month")
        data.setdefault("end", end.isoformat())
        data.setdefault("start", (end - timedelta(days=364)).replace(day=1).isoformat())
        data.setdefault("hotfix_days", "7")
        super().__init__(data)
        self.products = {p.slug: p for p in products}
        self.fields["product"].choices = [("", "All products")] + [
            (p.slug, p.name) for p in products
        ]

    def clean(self):
        cleaned = super().clean()
        today = timezone.localdate()
        end: date = cleaned.get("end") or today
        start: date = cleaned.get("start") or (end - timedelta(days=364)).replace(day=1)
        if start > end:
            self.add_error("start", "Start on or before the end date.")
        elif (end - start).days > MAX_DAYS:
            self.add_error("start", "Ask for at most three years at once.")
        cleaned["start"], cleaned["end"] = start, end
        cleaned["period"] = cleaned.get("period") or "month"
        if cleaned.get("hotfix_days") is None:
            cleaned["hotfix_days"] = 7
        cleaned["product"] = self.products.get(cleaned.get("product") or "")
        return cleaned
