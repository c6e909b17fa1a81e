from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join

from raci.models import Letter

# Letters only: the page explains them, and the grid stays narrow.
LETTER_CHOICES = [("", "–"), *[(letter, letter) for letter in Letter.values]]


class LetterSelect(forms.Select):
    """The grid's cell: a <select> of the five letter choices, written here directly.

    The RACI editor has a cell per activity and person (hundreds on a large release),
    and Django renders each select through its template engine, one sub-template per
    option: most of the page's time. The markup is the same; the choices are fixed.
    """

    def render(self, name, value, attrs=None, renderer=None):
        chosen = set(self.format_value(value))
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (choice, " selected" if str(choice) in chosen else "", label)
                for choice, label in self.choices
            ),
        )
        final = self.build_attrs(self.attrs, attrs)
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(final), options)


class PersonSearchInput(forms.TextInput):
    """A username field that suggests people as one types (static/js/person_suggest.js).

    Without JavaScript one types the username; nothing lists every user, so the
    page stays the same size however many people exist.
    """

    template_name = "raci/person_search_input.html"

    def __init__(self, *, suggest_url: str = "", **kwargs):
        attrs = {
            "autocomplete": "off",
            "spellcheck": "false",
            "autocapitalize": "none",
            "placeholder": "username",
            "list": "person-options",
            "data-person-suggest-url": suggest_url,
        }
        super().__init__(attrs=attrs, **kwargs)


def person_by_username(candidates, typed: str):
    """The person among `candidates` (active users) whose username was typed, or a field
    error saying none is: the pickers look up only what was typed, never list everyone."""
    username = typed.strip()
    person = candidates.filter(username=username).first()
    if person is None:
        raise forms.ValidationError(f"No active user has the username “{username}”.")
    return person


class RaciGridForm(forms.Form):
    """The whole matrix as one form: a select per cell, one blank column and row to add."""

    new_activity = forms.CharField(
        label="New activity",
        max_length=120,
        required=False,
        help_text="Add a row: name it and set its letters in the bottom row.",
    )
    new_person = forms.CharField(
        label="Add person",
        max_length=150,
        required=False,
        help_text="Add a column: type their username (suggestions appear as you type) "
        "and set their letters.",
    )

    def __init__(self, *args, matrix, candidates, suggest_url="", **kwargs):
        super().__init__(*args, **kwargs)
        self.matrix = matrix
        # Only the typed username is looked up: the page never lists every user.
        self.candidates = candidates
        self.fields["new_person"].widget = PersonSearchInput(suggest_url=suggest_url)
        for activity in matrix.activities:
            for person in matrix.people:
                self.fields[f"cell-{activity.pk}-{person.pk}"] = forms.ChoiceField(
                    choices=LETTER_CHOICES,
                    widget=LetterSelect,
                    required=False,
                    label=f"{activity.name} – {person.get_username()}",
                    initial=matrix.cells.get((activity.pk, person.pk), ""),
                )
            self.fields[f"cell-{activity.pk}-new"] = forms.ChoiceField(
                choices=LETTER_CHOICES,
                widget=LetterSelect,
                required=False,
                label=f"{activity.name} – new person",
            )
        for person in matrix.people:
            self.fields[f"cell-new-{person.pk}"] = forms.ChoiceField(
                choices=LETTER_CHOICES,
                widget=LetterSelect,
                required=False,
                label=f"New activity – {person.get_username()}",
            )
        self.fields["cell-new-new"] = forms.ChoiceField(
            choices=LETTER_CHOICES,
            widget=LetterSelect,
            required=False,
            label="New activity – new person",
        )

    def clean_new_person(self):
        username = self.cleaned_data["new_person"].strip()
        if not username:
            return None
        person = person_by_username(self.candidates, username)
        if person.pk in {p.pk for p in self.matrix.people}:
            raise forms.ValidationError(
                f"{username} is already in the matrix: set their letters in their column."
            )
        return person

    def clean(self):
        data = super().clean()
        new_person = data.get("new_person")
        uses_new_column = any(
            data.get(f"cell-{a.pk}-new") for a in self.matrix.activities
        ) or data.get("cell-new-new")
        if uses_new_column and new_person is None and "new_person" not in self.errors:
            self.add_error("new_person", "Type the username of the person whose letters you set.")
        uses_new_row = any(data.get(f"cell-new-{p.pk}") for p in self.matrix.people) or data.get(
            "cell-new-new"
        )
        if uses_new_row and not data.get("new_activity", "").strip():
            self.add_error("new_activity", "Name the activity whose letters you set.")
        return data

    def cells(self) -> tuple[dict[int, dict[int, str]], dict[int, str]]:
        data = self.cleaned_data
        new_person = data.get("new_person")
        cells: dict[int, dict[int, str]] = {}
        for activity in self.matrix.activities:
            row = {}
            for person in self.matrix.people:
                letter = data.get(f"cell-{activity.pk}-{person.pk}")
                if letter:
                    row[person.pk] = letter
            if new_person and data.get(f"cell-{activity.pk}-new"):
                row[new_person.pk] = data[f"cell-{activity.pk}-new"]
            cells[activity.pk] = row
        new_row = {
            person.pk: data[f"cell-new-{person.pk}"]
            for person in self.matrix.people
            if data.get(f"cell-new-{person.pk}")
        }
        if new_person and data.get("cell-new-new"):
            new_row[new_person.pk] = data["cell-new-new"]
        return cells, new_row

    def grid(self) -> list[tuple[str, object, list]]:
        """Rows for the template: (activity name, name field or None, cell fields)."""
        people = self.matrix.people
        rows = [
            (
                activity.name,
                None,
                [self[f"cell-{activity.pk}-{p.pk}"] for p in people]
                + [self[f"cell-{activity.pk}-new"]],
            )
            for activity in self.matrix.activities
        ]
        rows.append(
            (
                "",
                self["new_activity"],
                [self[f"cell-new-{p.pk}"] for p in people] + [self["cell-new-new"]],
            )
        )
        return rows
