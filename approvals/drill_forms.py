from django import forms

from approvals.models import DrillOutcome
from relapp.widgets import DayInput


class TargetsForm(forms.Form):
    targets = forms.CharField(
        required=False,
        label="Components and environments",
        help_text="Comma-separated, e.g. payments-db, prod-eu. Overlapping deployment windows "
        "on a shared one are conflicts.",
        max_length=2000,
    )

    def targets_list(self) -> list[str]:
        return [t for t in self.cleaned_data["targets"].replace("\n", ",").split(",") if t.strip()]


class DrillScheduleForm(forms.Form):
    rrule = forms.CharField(
        label="Repeats (iCalendar RRULE)",
        max_length=300,
        help_text="FREQ=MONTHLY;INTERVAL=3 is quarterly; FREQ=MONTHLY;BYDAY=1TU the first "
        "Tuesday of each month.",
    )
    first_on = forms.DateField(label="First drill", widget=DayInput())
    grace_days = forms.IntegerField(
        label="Overdue after (days)", min_value=0, max_value=90, initial=7
    )


class DrillRecordForm(forms.Form):
    held_on = forms.DateField(label="Held on", widget=DayInput())
    scenario = forms.CharField(label="Scenario", max_length=300)
    participants = forms.CharField(label="Participants", widget=forms.Textarea({"rows": 2}))
    outcome = forms.ChoiceField(label="Outcome", choices=DrillOutcome.choices)
    rollback_minutes = forms.IntegerField(
        label="Time to roll back (minutes)", min_value=0, max_value=100000
    )
    evidence_url = forms.URLField(
        label="Evidence link", required=False, max_length=500, assume_scheme="https"
    )
