from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.views import SignInView
from relapp import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "account/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "account/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("account/", include("accounts.urls")),
    path("", include("approvals.urls")),
    path("", include("meetings.urls")),
    path("changelog/streams/", include("auditstream.urls")),
    path("changelog/", include("evidence.urls")),
    path("", include("metrics.urls")),  # before api.urls: it answers the rest of /api/
    path("", include("api.urls")),
    path("", include("notifications.urls")),
    path("admin/", admin.site.urls),
    path("search/", views.search, name="search"),
]
