"""Forms for writing advice and for readers' feedback."""

import re

from django import forms

from advice.markdown import bad_links
from advice.models import LIST_TYPES, Article
from waitinglist.treatment_functions import TREATMENT_FUNCTIONS

_PROCEDURE = re.compile(r"[A-Z]([0-9]{1,2}(\.[0-9]{0,2})?)?")


class ArticleForm(forms.ModelForm):
    treatment_function = forms.ChoiceField(
        label="Specialty",
        required=False,
        choices=[("", "All specialties")]
        + [(code, f"{name} ({code})") for code, name in TREATMENT_FUNCTIONS.items()],
    )
    list_type = forms.ChoiceField(label="Waiting list", required=False, choices=LIST_TYPES)
    review_by = forms.DateField(
        label="Review by", help_text="The date a clinician must check it again, as YYYY-MM-DD."
    )

    class Meta:
        model = Article
        fields = [
            "title", "summary", "body", "treatment_function", "procedure_code", "list_type",
            "review_by",
        ]  # fmt: skip
        help_texts = {
            "summary": "One line, shown in lists of advice.",
            "body": "Markdown: a blank line between paragraphs, ## for a heading, - for a list, "
            "[words](https://...) for a link.",
            "procedure_code": "Leave blank unless the advice is for one procedure: a code such "
            "as W37.1, or the start of codes, such as C71.",
        }
        widgets = {"body": forms.Textarea(attrs={"rows": 18})}

    def clean_procedure_code(self) -> str:
        code = self.cleaned_data["procedure_code"].strip().upper()
        if code and not _PROCEDURE.fullmatch(code):
            raise forms.ValidationError("Enter an OPCS-4 code such as W37.1, or its start (W37)")
        return code

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        if wrong := bad_links(body):
            raise forms.ValidationError(
                "Links must be full web addresses starting https:// or http://, or mailto: "
                f"email addresses. Check: {', '.join(wrong)}"
            )
        return body


class FeedbackForm(forms.Form):
    helpful = forms.TypedChoiceField(
        label="Was this helpful?",
        choices=[("yes", "Yes"), ("no", "No")],
        coerce=lambda answer: answer == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": "Select yes or no"},
    )
    comment = forms.CharField(
        label="Tell us more (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Do not include personal or medical details.",
    )
