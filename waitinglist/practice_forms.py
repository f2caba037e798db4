"""The GP practice list's search by NHS number and its filters."""

from django import forms

from waitinglist.practices import Filters, clean_nhs_number

WAITED_CHOICES = [
    ("", "Any time"),
    ("18", "More than 18 weeks"),
    ("52", "More than 52 weeks"),
]


class SearchForm(forms.Form):
    """Sent by POST, so that no NHS number is ever in an address (or a server's access log)."""

    nhs_number = forms.CharField(
        label="NHS number",
        help_text="10 digits, with or without spaces, like 943 476 5919.",
        max_length=20,
        error_messages={"required": "Enter the patient's NHS number"},
    )

    def clean_nhs_number(self) -> str:
        number = clean_nhs_number(self.cleaned_data["nhs_number"])
        if number is None:
            raise forms.ValidationError(
                "This is not a valid NHS number. Check it has 10 digits, like 943 476 5919."
            )
        return number


class FilterForm(forms.Form):
    specialty = forms.ChoiceField(label="Specialty", required=False)
    waited = forms.ChoiceField(
        label="Time waited",
        choices=WAITED_CHOICES,
        initial="",
        required=False,
        widget=forms.RadioSelect,
    )
    worse = forms.BooleanField(
        label="Only patients who told the hospital their condition got worse", required=False
    )

    def __init__(self, *args, specialties: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["specialty"].choices = [("", "All specialties"), *specialties]

    def filters(self) -> Filters | None:
        """What to show, or None when the form is not valid (its errors are shown instead)."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        return Filters(
            specialty=data["specialty"],
            waited_over_weeks=int(data["waited"]) if data["waited"] else None,
            worse=data["worse"],
        )
