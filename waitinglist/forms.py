from django import forms
from django.conf import settings


class UploadForm(forms.Form):
    extract = forms.FileField(
        label="Open-pathways extract",
        help_text="The weekly WLMDS open-pathways file as CSV (UTF-8), for your trust only.",
    )

    def clean_extract(self):
        upload = self.cleaned_data["extract"]
        if not upload.name.lower().endswith((".csv", ".txt")):
            raise forms.ValidationError("The file must be a CSV file, ending .csv")
        if upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
            limit = settings.IMPORT_MAX_UPLOAD_BYTES // 1_000_000
            raise forms.ValidationError(f"The file must be smaller than {limit} MB")
        return upload
