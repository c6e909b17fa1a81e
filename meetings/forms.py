from django import forms
from django.contrib.auth import get_user_model

from approvals.forms import DateTimeLocalInput
from approvals.models import Product
from meetings.models import MeetingDecision


class MeetingForm(forms.Form):
    start = forms.DateTimeField(widget=DateTimeLocalInput())
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)", initial=15, min_value=5, max_value=480
    )
    location = forms.CharField(label="Location or link", max_length=300, required=False)
    extra_attendees = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        help_text="The release's R, A and C are invited anyway.",
        widget=forms.SelectMultiple(attrs={"size": 5}),
    )
    confirm_warnings = forms.BooleanField(
        required=False, label="I know; schedule the meeting at this time anyway"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["extra_attendees"].queryset = (
            get_user_model().objects.filter(is_active=True).order_by("username")
        )


class CancelMeetingForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class OutcomeForm(forms.Form):
    decision = forms.ChoiceField(choices=MeetingDecision.choices)
    minutes = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))


class FreezeForm(forms.Form):
    product = forms.ModelChoiceField(
        queryset=Product.objects.order_by("name"),
        required=False,
        empty_label="All products",
    )
    start = forms.DateTimeField(widget=DateTimeLocalInput())
    end = forms.DateTimeField(widget=DateTimeLocalInput())
    reason = forms.CharField(max_length=300)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", "The freeze must end after it starts.")
        return data


class OverrideForm(forms.Form):
    reason = forms.CharField(
        label="Emergency reason", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
