"""Template helpers that turn Django form fields into NHS.UK frontend components."""

import copy

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

register = template.Library()

# The NHS.UK class for each kind of widget, and the class it adds when the field has an error.
_WIDGET_CLASSES = {
    "textarea": ("nhsuk-textarea", "nhsuk-textarea--error"),
    "select": ("nhsuk-select", "nhsuk-select--error"),
    "checkbox": ("nhsuk-checkboxes__input", ""),
    "file": ("", ""),
    "clearablefile": ("", ""),
}
_INPUT_CLASSES = ("nhsuk-input", "nhsuk-input--error")


@register.filter
def describedby(field: BoundField) -> str:
    """The ids of the field's hint and error message, for aria-describedby."""
    ids = []
    if field.help_text:
        ids.append(f"{field.auto_id}-hint")
    if field.errors:
        ids.append(f"{field.auto_id}-error")
    return " ".join(ids)


@register.filter
def nhsuk_widget(field: BoundField) -> SafeString:
    """The field's widget with the NHS.UK classes and accessible descriptions."""
    css, error_css = _WIDGET_CLASSES.get(field.widget_type, _INPUT_CLASSES)
    existing = field.field.widget.attrs.get("class", "")
    attrs = {"class": " ".join(c for c in (css, existing, error_css if field.errors else "") if c)}
    if ids := describedby(field):
        attrs["aria-describedby"] = ids
    if field.errors:
        attrs["aria-invalid"] = "true"
    # NHS.UK: never use placeholder text, which vanishes as people type; the label says it all.
    widget = copy.copy(field.field.widget)
    widget.attrs = {k: v for k, v in widget.attrs.items() if k != "placeholder"}
    return field.as_widget(widget=widget, attrs=attrs)


@register.filter
def error_anchor(field: BoundField) -> str:
    """Where the error summary's link for this field should take the user."""
    if field.widget_type in ("radioselect", "checkboxselectmultiple"):
        return f"{field.auto_id}_0"
    return field.id_for_label or field.auto_id
