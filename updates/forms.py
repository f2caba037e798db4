"""Choosing how to hear about a wait, and proving a mobile number is yours."""

from django import forms

from updates.models import Subscription
from waitinglist.extract_checks import uk_mobile


class SubscriptionForm(forms.ModelForm):
    frequency = forms.ChoiceField(
        label="How often do you want an update?",
        choices=Subscription.Frequency.choices,
        widget=forms.RadioSelect,
    )
    mobile_number = forms.CharField(
        label="UK mobile number",
        required=False,
        help_text="For text messages. For example, 07700 900 123.",
    )

    class Meta:
        model = Subscription
        fields = [
            "by_email", "by_sms", "frequency", "alert_booked", "alert_position",
            "alert_estimate", "alert_advice", "paused",
        ]  # fmt: skip
        labels = {
            "by_email": "Send me emails",
            "by_sms": "Send me text messages",
            "alert_booked": "Tell me straight away when a date is booked",
            "alert_position": "Tell me when my place in the queue changes a lot",
            "alert_estimate": "Tell me when my likely treatment date moves by 2 weeks or more",
            "alert_advice": "Tell me about new advice for my condition",
            "paused": "Pause my updates for now",
        }

    def clean(self):
        data = super().clean()
        number = data.get("mobile_number", "").strip()
        if number:
            data["mobile_e164"] = uk_mobile(number)
            if not data["mobile_e164"]:
                self.add_error("mobile_number", "Enter a UK mobile number, like 07700 900 123")
        if data.get("by_sms") and not number and not self.instance.mobile_verified_at:
            self.add_error("mobile_number", "Enter your mobile number to get text messages")
        return data


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code", max_length=6, help_text="The 6 numbers in the text message we sent you."
    )
