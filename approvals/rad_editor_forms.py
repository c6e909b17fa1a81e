"""Forms of the RAD editor's companions: the Markdown preview, resolving a
section comment, and attaching an evidence file."""

from django import forms
from django.conf import settings

from approvals.evidence_files import CONTENT_TYPES, attachment_refusal

PREVIEW_MAX_CHARS = 50_000


class PreviewForm(forms.Form):
    text = forms.CharField(required=False, strip=False, max_length=PREVIEW_MAX_CHARS)


class ResolveForm(forms.Form):
    resolved = forms.TypedChoiceField(
        choices=[("1", "Resolve"), ("0", "Reopen")], coerce=lambda value: value == "1"
    )


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label="Evidence file",
        help_text="PDF, PNG, JPEG, text, CSV, JSON or log file.",
        widget=forms.ClearableFileInput(
            attrs={"accept": ",".join(f".{ext}" for ext in CONTENT_TYPES)}
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        upload.seek(0)
        head = upload.read(65_536)
        upload.seek(0)
        refusal = attachment_refusal(
            name=upload.name, head=head, size=upload.size, max_bytes=settings.ATTACHMENT_MAX_BYTES
        )
        if refusal:
            raise forms.ValidationError(refusal)
        return upload
