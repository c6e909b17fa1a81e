from django import forms

from approvals.forms import DateTimeLocalInput


class WindowMoveForm(forms.Form):
    window_start = forms.DateTimeField(label="New window start", widget=DateTimeLocalInput())
    window_end = forms.DateTimeField(label="New window end", widget=DateTimeLocalInput())
    reason = forms.CharField(
        label="Why it moves",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in the change log with the old and the new window.",
    )
    confirm_window = forms.BooleanField(
        required=False, label="I know; move it to this window anyway"
    )
