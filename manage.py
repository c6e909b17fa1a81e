#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relapp.settings")
    # A bare checkout (no SECRET_KEY, no DEBUG) runs management commands in
    # development mode, so `python manage.py makemigrations --check` just works.
    # Production always sets SECRET_KEY; the web process (wsgi.py) never takes
    # this default and still refuses to start without one.
    if "SECRET_KEY" not in os.environ and "DEBUG" not in os.environ:
        os.environ["DEBUG"] = "true"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
