"""Email from the portal's own template triplets: subject, text body and HTML body."""

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def send_templated_email(templates: str, context: dict, to: str) -> None:
    """Sends `{templates}_subject.txt`, `_body.txt` and `_body.html`, rendered with `context`."""
    subject = render_to_string(f"{templates}_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject, render_to_string(f"{templates}_body.txt", context), to=[to]
    )
    message.attach_alternative(render_to_string(f"{templates}_body.html", context), "text/html")
    message.send()
