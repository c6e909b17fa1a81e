from django.urls import path, register_converter

from approvals import (
    drill_views,
    rad_editor_views,
    rhythm_views,
    settings_views,
    team_views,
    template_views,
    views,
    window_views,
)


class VersionConverter:
    regex = r"[0-9A-Za-z.+-]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(VersionConverter, "version")

app_name = "approvals"

release = "releases/<slug:product>/<version:version>/"

urlpatterns = [
    path("products/", views.product_list, name="product_list"),
    path("products/new/", views.product_create, name="product_create"),
    path("releases/", views.release_list, name="release_list"),
    path("releases/new/", views.release_create, name="release_create"),
    path(release, views.release_detail, name="release_detail"),
    path(release + "rad/edit/", views.rad_edit, name="rad_edit"),
    path(release + "rad/diff/", views.rad_diff_view, name="rad_diff"),
    path(release + "submit/", views.release_submit, name="release_submit"),
    path(release + "cancel/", views.release_cancel, name="release_cancel"),
    path(release + "comments/", views.comment_create, name="comment_create"),
    path(release + "signoff/<int:activity_id>/", views.signoff, name="signoff"),
    path(release + "signoff/<int:activity_id>/verbal/", views.verbal_record, name="verbal_record"),
    path(release + "halt/", views.release_halt, name="release_halt"),
    path(release + "revise/", views.release_revise, name="release_revise"),
    path(release + "deployments/", views.deployment_create, name="deployment_create"),
    path(release + "review/", views.review_create, name="review_create"),
    path(release + "artifacts/", views.artifact_add, name="artifact_add"),
    path(release + "artifacts/remove/", views.artifact_remove, name="artifact_remove"),
    path(release + "raci/", views.raci_edit, name="raci_edit"),
    path("signoffs/<int:signoff_id>/verbal/", views.verbal_respond, name="verbal_respond"),
    path("my/signoffs/", views.my_signoffs, name="my_signoffs"),
    path(
        release + "monitoring/<int:position>/tick/",
        rhythm_views.monitoring_tick,
        name="monitoring_tick",
    ),
    path("products/<slug:product>/drills/", drill_views.drill_list, name="drill_list"),
    path("products/<slug:product>/drills/record/", drill_views.drill_record, name="drill_record"),
    path(
        "products/<slug:product>/drills/schedule/",
        drill_views.drill_schedule,
        name="drill_schedule",
    ),
    path("products/<slug:product>/targets/", drill_views.targets_set, name="targets_set"),
    path(
        "products/<slug:product>/settings/policy/",
        settings_views.product_policy,
        name="product_policy",
    ),
    path(
        "products/<slug:product>/settings/raci/",
        settings_views.product_raci_template,
        name="product_raci_template",
    ),
    path("teams/", team_views.teams, name="team_list"),
    path("teams/<int:team_id>/", team_views.team_detail, name="team_detail"),
    path("teams/<int:team_id>/people/", team_views.team_people, name="team_people"),
    path("teams/<int:team_id>/remove/", team_views.team_member_remove, name="team_member_remove"),
    path(release + "raci/team/", team_views.activity_team, name="activity_team"),
    path("delegations/", team_views.delegations, name="delegations"),
    path(
        "delegations/<int:delegation_id>/cancel/",
        team_views.delegation_cancel,
        name="delegation_cancel",
    ),
    path(release + "rad/start-from/", team_views.rad_start_from, name="rad_start_from"),
    path(
        "products/<slug:product>/settings/rad-template/",
        template_views.product_rad_template,
        name="product_rad_template",
    ),
    path(
        release + "review/apply-to-template/",
        template_views.rad_template_from_review,
        name="rad_template_from_review",
    ),
    path(release + "window/", window_views.release_window_move, name="release_window_move"),
    path(release + "rad/preview/", rad_editor_views.rad_preview, name="rad_preview"),
    path(
        release + "comments/<int:comment_id>/resolve/",
        rad_editor_views.comment_resolve,
        name="comment_resolve",
    ),
    path(release + "attachments/", rad_editor_views.attachment_upload, name="attachment_upload"),
    path(
        release + "attachments/<int:attachment_id>/",
        rad_editor_views.attachment_download,
        name="attachment_download",
    ),
    path(
        release + "attachments/<int:attachment_id>/remove/",
        rad_editor_views.attachment_remove,
        name="attachment_remove",
    ),
    path(release + "raci/people/", views.raci_people, name="raci_people"),
    path(
        "products/<slug:product>/settings/raci/people/",
        settings_views.product_raci_people,
        name="product_raci_people",
    ),
]
