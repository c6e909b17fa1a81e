"""Forms of the approver-team pages. They validate; the services write."""

from django import forms

from approvals.forms import DateTimeLocalInput
from approvals.rad import SECTION_TITLES
from approvals.rad_templates import SECTION_KEYS
from raci.forms import PersonSearchInput, person_by_username
from raci.models import Team


class TeamForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="e.g. Security leads or SRE on-call.")


class TeamMemberAddForm(forms.Form):
    """A typed username (suggested as one types), not a <select> of every active user:
    the page stays the same size however many people exist."""

    user = forms.CharField(
        label="Person",
        max_length=150,
        help_text="Type their username; suggestions appear as you type.",
    )

    def __init__(self, *args, candidates, member_ids, suggest_url, **kwargs):
        super().__init__(*args, **kwargs)
        self.candidates = candidates
        self.member_ids = set(member_ids)
        self.fields["user"].widget = PersonSearchInput(suggest_url=suggest_url)

    def clean_user(self):
        person = person_by_username(self.candidates, self.cleaned_data["user"])
        if person.pk in self.member_ids:
            raise forms.ValidationError(f"{person.get_username()} is already a member.")
        return person


class TeamMemberForm(forms.Form):
    """The member to remove, by id (the page's own list)."""

    user = forms.ModelChoiceField(queryset=None, label="Person")

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = candidates


class ActivityTeamForm(forms.Form):
    activity = forms.TypedChoiceField(coerce=int, choices=())
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        required=False,
        empty_label="— a person (set in the RACI matrix) —",
        label="Accountable team",
    )
    required = forms.IntegerField(
        min_value=1,
        max_value=100,
        initial=1,
        label="Approvals needed",
        help_text="1: any one member; 2 or more: that many different members (M of N).",
    )

    def __init__(self, *args, activities, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["activity"].choices = [(a.pk, a.name) for a in activities]
        self.fields["team"].queryset = teams


class DelegationForm(forms.Form):
    """An out-of-office period. `absent` is offered to release managers only."""

    absent = forms.ModelChoiceField(queryset=None, label="Who is away", required=False)
    delegate = forms.ModelChoiceField(queryset=None, label="Delegate")
    starts_at = forms.DateTimeField(label="Away from", widget=DateTimeLocalInput())
    ends_at = forms.DateTimeField(label="Back on", widget=DateTimeLocalInput())
    reason = forms.CharField(max_length=200, required=False, help_text="e.g. Holiday.")

    def __init__(self, *args, candidates, for_others: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["delegate"].queryset = candidates
        if for_others:
            self.fields["absent"].queryset = candidates
            self.fields["absent"].help_text = "Empty: yourself. Release managers set it for others."
        else:
            del self.fields["absent"]


class StartFromForm(forms.Form):
    """Start a RAD from an earlier release: which release, which sections."""

    source = forms.ModelChoiceField(queryset=None, label="Earlier release", empty_label=None)
    sections = forms.MultipleChoiceField(
        choices=[(key, SECTION_TITLES[key]) for key in SECTION_KEYS],
        widget=forms.CheckboxSelectMultiple,
        initial=["test_results", "rollback", "monitoring"],
        label="Sections to copy",
        help_text="What you do not tick keeps what the RAD has now.",
    )

    def __init__(self, *args, releases, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = releases
