from django.urls import path

from accounts import authenticator_views, reauth_views, views

app_name = "accounts"

urlpatterns = [
    path("", views.account, name="account"),
    path("sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
    path("lockouts/", views.lockout_list, name="lockout_list"),
    path("lockouts/unlock/", views.lockout_lift, name="lockout_lift"),
    path("authenticator/", authenticator_views.authenticator, name="authenticator"),
    path(
        "authenticator/start/",
        authenticator_views.authenticator_start,
        name="authenticator_start",
    ),
    path(
        "authenticator/confirm/",
        authenticator_views.authenticator_confirm_view,
        name="authenticator_confirm",
    ),
    path(
        "authenticator/disable/",
        authenticator_views.authenticator_disable_view,
        name="authenticator_disable",
    ),
    path("oidc/start/", views.oidc_start, name="oidc_start"),
    path("oidc/callback/", views.oidc_callback, name="oidc_callback"),
    path(
        "oidc/signoff-callback/",
        reauth_views.oidc_signoff_callback,
        name="oidc_signoff_callback",
    ),
    path("time-zone/", views.time_zone_set, name="time_zone"),
]
