#!/usr/bin/env python
import os
import sys


def main() -> None:
    # Configuration comes only from the environment: without SECRET_KEY the
    # settings refuse to load unless DEBUG=true is set explicitly.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relapp.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
