from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/preferences/", views.preferences, name="preferences"),
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path(
        "notifications/unsubscribe/<str:token>/one-click/",
        views.unsubscribe_one_click,
        name="unsubscribe_one_click",
    ),
    path("notifications/chat/", views.chat_destination_list, name="chat_destination_list"),
    path(
        "notifications/chat/<int:pk>/delete/",
        views.chat_destination_delete,
        name="chat_destination_delete",
    ),
    path("notifications/slack/command/", views.slack_command, name="slack_command"),
]
