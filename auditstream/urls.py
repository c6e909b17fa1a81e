from django.urls import path

from auditstream import views

app_name = "auditstream"

urlpatterns = [
    path("", views.destination_list, name="destination_list"),
]
