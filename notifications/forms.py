from django import forms

from approvals.models import Product
from notifications.events import AUDIENCE, CHANNEL_EVENTS
from notifications.models import Channel, ChatKind, Event


class PreferencesForm(forms.Form):
    """One choice of channel per event of the catalogue."""

    def __init__(self, *args, initial_channels: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        for event in Event:
            self.fields[event.value] = forms.ChoiceField(
                label=event.label,
                choices=Channel.choices,
                initial=initial_channels[event.value],
                help_text=f"Goes to {AUDIENCE[event]}.",
            )


class ChatDestinationForm(forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.none())
    kind = forms.ChoiceField(label="Chat", choices=ChatKind.choices)
    name = forms.CharField(label="Channel name", max_length=80)
    url = forms.URLField(
        label="Incoming webhook URL",
        max_length=500,
        assume_scheme="https",
        help_text="Slack: Apps → Incoming Webhooks. Teams: the channel's Workflows "
        "“post to a channel when a webhook request is received” URL.",
    )
    events = forms.MultipleChoiceField(
        choices=CHANNEL_EVENTS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event. Personal events (a voided signature, a verbal "
        "approval to confirm, a mention) go only to the person.",
    )

    def __init__(self, *args, products, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products
