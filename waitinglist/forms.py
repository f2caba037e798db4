from datetime import date

from django import forms
from django.conf import settings

from waitinglist.models import PatientResponse
from waitinglist.treatment_functions import TREATMENT_FUNCTIONS


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


class PercentField(forms.IntegerField):
    """A whole number of percent: "+30%" and "-20 %" are read as 30 and -20."""

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip().removesuffix("%")
        return super().to_python(value)


class CapacityChangeForm(forms.Form):
    """A trust admin's planned lasting change in how many patients a week the lists treat."""

    treatment_function = forms.ChoiceField(
        label="Specialty",
        required=False,
        choices=[("", "All specialties")]
        + [(code, f"{name} ({code})") for code, name in TREATMENT_FUNCTIONS.items()],
        error_messages={"invalid_choice": "Choose a specialty from the list"},
    )
    starts = forms.DateField(
        label="Starts",
        help_text="The first day of the change, as DD/MM/YYYY, for example 06/04/2027.",
        widget=forms.TextInput(attrs={"class": "nhsuk-input--width-10"}),
        error_messages={
            "required": "Enter the date the change starts",
            "invalid": "Enter a real date as DD/MM/YYYY, for example 06/04/2027",
        },
    )
    percent = PercentField(
        label="Change in patients treated a week (%)",
        help_text="A whole number from -90 to 300: 30 for 30% more a week, -20 for 20% fewer.",
        min_value=-90,
        max_value=300,
        # A text box, not type="number": browsers refuse "+30%" there, and phones' number
        # pads often have no minus sign.
        widget=forms.TextInput(attrs={"class": "nhsuk-input--width-4"}),
        error_messages={
            "required": "Enter the change as a percentage, for example 30 or -20",
            "invalid": "Enter the change as a whole number, for example 30 or -20",
            # The limits' messages are %-formatted with the limit, so % is written %%.
            "min_value": "Enter a change from -90%% to 300%%",
            "max_value": "Enter a change from -90%% to 300%%",
        },
    )
    note = forms.CharField(
        label="Note (optional)",
        help_text="What the change is, for your colleagues: for example, new surgical hub opens.",
        required=False,
        max_length=200,
        error_messages={"max_length": "The note must be 200 characters or fewer"},
    )

    def clean_percent(self) -> int:
        percent = self.cleaned_data["percent"]
        if percent == 0:
            raise forms.ValidationError("Enter a change other than 0%: 0% changes nothing")
        return percent
