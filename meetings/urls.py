from django.urls import path

import approvals.urls  # noqa: F401 - registers the <version:> path converter
from meetings import calendar_views, views

app_name = "meetings"

release = "releases/<slug:product>/<version:version>/"

urlpatterns = [
    path(release + "meetings/new/", views.meeting_create, name="meeting_create"),
    path(release + "freeze-override/", views.freeze_override, name="freeze_override"),
    path("meetings/<int:meeting_id>/", views.meeting_detail, name="meeting_detail"),
    path("meetings/<int:meeting_id>/edit/", views.meeting_edit, name="meeting_edit"),
    path("meetings/<int:meeting_id>/cancel/", views.meeting_cancel, name="meeting_cancel"),
    path("meetings/<int:meeting_id>/outcome/", views.meeting_outcome, name="meeting_outcome"),
    path("meetings/<int:meeting_id>/invite.ics", views.meeting_ics, name="meeting_ics"),
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/read/", views.notification_read, name="notification_read"),
    path("freezes/", views.freeze_list, name="freeze_list"),
    path("freezes/<int:freeze_id>/delete/", views.freeze_delete, name="freeze_delete"),
    path("calendar/", views.calendar_settings, name="calendar_settings"),
    path("calendar/<str:token>.ics", calendar_views.calendar_feed, name="calendar_feed"),
    path("calendar/month/", calendar_views.calendar_page, {"view": "month"}, name="calendar_month"),
    path("calendar/week/", calendar_views.calendar_page, {"view": "week"}, name="calendar_week"),
    path(
        "calendar/agenda/", calendar_views.calendar_page, {"view": "agenda"}, name="calendar_agenda"
    ),
]
