"""Approver teams: the team pages for release managers, and a team as an activity's Accountable."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from approvals import selectors, services
from approvals.lifecycle import ReleaseAction
from approvals.team_forms import ActivityTeamForm, TeamForm, TeamMemberForm
from raci import services as raci_services
from raci.selectors import raci_candidates, team_get, team_list
from relapp.http import apply_errors, require, require_perm

TEAM_PERM = "raci.change_team"


@login_required
@require_http_methods(["GET", "POST"])
def teams(request: HttpRequest) -> HttpResponse:
    require_perm(request, TEAM_PERM, what="manage approver teams")
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = raci_services.team_create(name=form.cleaned_data["name"], actor=request.user)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Team {team.name} created. Add its members next.")
            return redirect("approvals:team_detail", team_id=team.pk)
    return render(request, "approvals/team_list.html", {"teams": team_list(), "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def team_detail(request: HttpRequest, team_id: int) -> HttpResponse:
    require_perm(request, TEAM_PERM, what="manage approver teams")
    team = team_get(team_id=team_id)
    members = list(team.members.order_by("username"))
    form = TeamMemberForm(
        request.POST or None,
        candidates=raci_candidates().exclude(pk__in=[m.pk for m in members]),
    )
    if request.method == "POST" and form.is_valid():
        user = form.cleaned_data["user"]
        raci_services.team_member_add(team=team, user=user, actor=request.user)
        messages.success(
            request, f"{user.get_username()} added; they can sign for {team.name} now."
        )
        return redirect("approvals:team_detail", team_id=team.pk)
    return render(
        request,
        "approvals/team_detail.html",
        {"team": team, "members": members, "form": form},
    )


@login_required
@require_POST
def team_member_remove(request: HttpRequest, team_id: int) -> HttpResponse:
    require_perm(request, TEAM_PERM, what="manage approver teams")
    team = team_get(team_id=team_id)
    form = TeamMemberForm(request.POST, candidates=team.members.all())
    if form.is_valid():
        user = form.cleaned_data["user"]
        services.team_member_remove(team=team, user=user, actor=request.user)
        messages.success(
            request,
            f"{user.get_username()} removed from {team.name}; their permissions went with it.",
        )
    else:
        messages.error(request, "Choose a member of this team to remove.")
    return redirect("approvals:team_detail", team_id=team.pk)


@login_required
@require_http_methods(["GET", "POST"])
def activity_team(request: HttpRequest, product: str, version: str) -> HttpResponse:
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    require(
        request, access.may(ReleaseAction.EDIT_RACI), what="edit the RACI matrix", release=release
    )
    activities = selectors.activities_with_teams(release=release)
    form = ActivityTeamForm(request.POST or None, activities=activities, teams=team_list())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            changed = services.activity_team_set(
                release=release,
                actor=request.user,
                activity_id=data["activity"],
                team=data["team"],
                required=data["required"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                "Accountable team saved; its members can sign." if changed else "Nothing changed.",
            )
            return redirect(release.get_absolute_url() + "#approvals")
    return render(
        request,
        "approvals/activity_team.html",
        {"release": release, "activities": activities, "form": form},
    )
