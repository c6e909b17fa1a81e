"""One line per refused request in the server log, never a traceback.

Django logs every 403 and 404 through `django.request` at WARNING with the
exception attached; a refusal is not an error, so this filter turns such a
record into one line: status, user, path, reason and request id.
"""

import logging

_REFUSALS = {403, 404, 405}


class RefusalFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "django.request" or getattr(record, "status_code", None) not in _REFUSALS:
            return True
        # Once per record: configuring logging again (django.setup() in a script or
        # benchmark run in the same process) adds a second instance of this filter.
        if getattr(record, "relapp_refusal", False):
            return True
        record.relapp_refusal = True
        request = getattr(record, "request", None)
        reason = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None and str(record.exc_info[1]):
            reason = str(record.exc_info[1])
        user = getattr(request, "user", None)
        username = user.get_username() if user is not None and user.is_authenticated else "-"
        record.msg = "Refused %s: user=%s path=%s reason=%r request_id=%s"
        record.args = (
            record.status_code,
            username,
            getattr(request, "path", "-"),
            reason,
            getattr(request, "request_id", "-"),
        )
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True
