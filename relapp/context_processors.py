from django.http import HttpRequest

from relapp import __version__


def version(request: HttpRequest) -> dict:
    return {"relapp_version": __version__}
