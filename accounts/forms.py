from django import forms

from accounts.timezones import zone_names


def _code_field() -> forms.CharField:
    return forms.CharField(
        label="Authenticator code",
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 8}
        ),
        help_text="The 6-digit code your authenticator app shows now.",
    )


def _clean_code(value: str) -> str:
    code = "".join(value.split())
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        raise forms.ValidationError("Enter the 6 digits your authenticator app shows.")
    return code


class AuthenticatorConfirmForm(forms.Form):
    code = _code_field()

    def clean_code(self) -> str:
        return _clean_code(self.cleaned_data["code"])


class AuthenticatorDisableForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = _code_field()

    def clean_code(self) -> str:
        return _clean_code(self.cleaned_data["code"])


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=(),
        help_text="Relapp shows every time in this zone and reads the times you enter in it.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(name, name) for name in zone_names()]
