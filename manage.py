#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

A setting refused at start-up, or a database that cannot be reached, ends the command with a
one-line reason on stderr (shared/spec/command-line.md), not a traceback; `--traceback` shows
the traceback as well.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db import OperationalError

    try:
        execute_from_command_line(sys.argv)
    except (ImproperlyConfigured, OperationalError) as error:
        if "--traceback" in sys.argv:
            raise
        kind = "configuration" if isinstance(error, ImproperlyConfigured) else "database"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        sys.exit(f"{kind} error: {reason}")


if __name__ == "__main__":
    main()
