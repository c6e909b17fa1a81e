from django.http import HttpRequest

from meetings.models import Notification


def notifications(request: HttpRequest) -> dict:
    """The bell's unread count: one indexed COUNT per page, only when signed in."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "unread_count": lambda: Notification.objects.filter(user=user, read_at__isnull=True).count()
    }
