"""Plain-text emails, subjects and texts are not HTML: a trust's name reads as written."""

from pathlib import Path

import pytest
from django.template.loader import render_to_string

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TEXT_TEMPLATES = sorted(
    str(path.relative_to(TEMPLATES))
    for path in TEMPLATES.rglob("*.txt")
    if "{{" in path.read_text()
)
NAME = "St Mary's & St Anne's Hospitals"


@pytest.mark.parametrize("template", TEXT_TEMPLATES)
def test_text_templates_do_not_escape_html(template):
    # Every name a text template might print, set to one with an apostrophe and an ampersand.
    context = {
        key: NAME
        for key in ["hospital", "trust", "trust_name", "provider", "site_name", "title", "name"]
    }
    text = render_to_string(template, context)
    assert "&#x27;" not in text
    assert "&amp;" not in text


def test_the_check_sees_the_trusts_name_in_update_texts():
    # So the test above cannot pass by rendering nothing.
    assert NAME in render_to_string("updates/booked/sms.txt", {"hospital": NAME})
