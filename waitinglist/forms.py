from datetime import date

from django import forms
from django.conf import settings

from waitinglist.models import PatientResponse


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


class ActivationForm(forms.Form):
    """The code from the trust's letter and the patient's date of birth."""

    code = forms.CharField(
        label="Activation code",
        help_text="It is in the letter, text or email from the hospital, like ABCD-EFGH-JKMN.",
        max_length=40,
        error_messages={"required": "Enter the activation code from your letter"},
    )
    day = forms.IntegerField(
        label="Day", min_value=1, max_value=31, error_messages={"required": "Enter the day"}
    )
    month = forms.IntegerField(
        label="Month", min_value=1, max_value=12, error_messages={"required": "Enter the month"}
    )
    year = forms.IntegerField(
        label="Year",
        min_value=1900,
        max_value=2100,
        error_messages={"required": "Enter the year, for example 1956"},
    )

    def clean(self):
        data = super().clean()
        if all(data.get(part) for part in ("day", "month", "year")):
            try:
                data["birth_date"] = date(data["year"], data["month"], data["day"])
            except ValueError:
                raise forms.ValidationError("Enter a real date of birth") from None
        return data


class ResponseForm(forms.Form):
    """NHS England's validation question, and a way to say the condition got worse."""

    answer = forms.ChoiceField(
        label="Do you still need this treatment?",
        choices=PatientResponse.Answer.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose an answer"},
    )
    details = forms.CharField(
        label="Tell us more (optional)",
        help_text="For example, what has changed. If you need help now, call 111 or your GP.",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def clean(self):
        data = super().clean()
        if data.get("answer") == PatientResponse.Answer.WORSE and not data.get("details"):
            self.add_error("details", "Tell us how your condition has got worse")
        return data
