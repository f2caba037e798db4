"""Small helpers that read configuration from the environment and refuse bad values."""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "on"}
_FALSE = {"0", "false", "off"}


def env(name: str, default: str = "") -> str:
    """The variable's value with surrounding spaces removed, or the default."""
    return os.environ.get(name, default).strip()


def envbool(name: str, default: str) -> bool:
    """A yes/no setting: accepts 1/0, true/false, on/off, nothing else."""
    value = env(name, default).lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of on/off, true/false, 1/0, not {value!r}")


def envint(name: str, default: str, minimum: int | None = None) -> int:
    """A whole-number setting, optionally with a lower bound."""
    value = env(name, default)
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    return number


def envlist(name: str, default: str) -> list[str]:
    """A comma-separated list setting, with empty items dropped."""
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def envurl(name: str, default: str, schemes: tuple[str, ...]) -> str:
    """A URL setting whose scheme must be one of those given."""
    value = env(name, default)
    if value and value.split("://", 1)[0] not in schemes:
        allowed = ", ".join(f"{s}://" for s in schemes)
        raise ImproperlyConfigured(f"{name} must start with one of {allowed}")
    return value
