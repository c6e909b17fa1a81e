"""Approver teams and delegation: the team pages for release managers, a team as an
activity's Accountable, and out-of-office periods with a delegate."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from approvals import selectors, services
from approvals.lifecycle import ReleaseAction
from approvals.team_forms import (
    ActivityTeamForm,
    DelegationForm,
    StartFromForm,
    TeamForm,
    TeamMemberAddForm,
    TeamMemberForm,
)
from raci import services as raci_services
from raci.selectors import (
    delegation_get,
    delegations_all,
    delegations_of,
    person_suggestions,
    raci_candidates,
    team_get,
    team_list,
)
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
    form = TeamMemberAddForm(
        request.POST or None,
        candidates=raci_candidates(),
        member_ids=[m.pk for m in members],
        suggest_url=reverse("approvals:team_people", args=[team.pk]),
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
@require_GET
def team_people(request: HttpRequest, team_id: int) -> JsonResponse:
    """Up to 20 people matching what was typed into the team's "Add a member" field
    (JSON, names and usernames only, as the RACI editors' suggestions), for those who
    may manage approver teams; the team's members are left out."""
    require_perm(request, TEAM_PERM, what="manage approver teams")
    team = team_get(team_id=team_id)
    members = team.members.values_list("pk", flat=True)
    return JsonResponse(
        {"people": person_suggestions(text=request.GET.get("q", ""), exclude_ids=members)}
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


DELEGATE_FOR_OTHERS = "raci.add_delegation"


@login_required
@require_http_methods(["GET", "POST"])
def delegations(request: HttpRequest) -> HttpResponse:
    """My out-of-office periods and delegates; release managers set them for others too."""
    for_others = request.user.has_perm(DELEGATE_FOR_OTHERS)
    form = DelegationForm(
        request.POST or None,
        candidates=raci_candidates(),
        for_others=for_others,
        initial={"starts_at": timezone.localtime().replace(second=0, microsecond=0)},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        absent = data.get("absent") or request.user
        try:
            raci_services.delegation_create(
                absent=absent,
                delegate=data["delegate"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                reason=data["reason"],
                actor=request.user,
                now=timezone.now(),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                f"{data['delegate'].get_username()} signs on behalf of "
                f"{absent.get_username()} during the period.",
            )
            return redirect("approvals:delegations")
    rows = delegations_all() if for_others else delegations_of(user=request.user)
    return render(
        request,
        "approvals/delegations.html",
        {"form": form, "rows": rows, "now": timezone.now(), "for_others": for_others},
    )


@login_required
@require_POST
def delegation_cancel(request: HttpRequest, delegation_id: int) -> HttpResponse:
    delegation = delegation_get(delegation_id=delegation_id)
    mine = delegation.absent_id == request.user.pk
    require(
        request,
        mine or request.user.has_perm(DELEGATE_FOR_OTHERS),
        what="cancel someone else's delegation",
    )
    if raci_services.delegation_cancel(
        delegation=delegation, actor=request.user, now=timezone.now()
    ):
        messages.success(request, "Delegation ended.")
    else:
        messages.info(request, "That delegation was already over.")
    return redirect("approvals:delegations")


@login_required
@require_http_methods(["GET", "POST"])
def rad_start_from(request: HttpRequest, product: str, version: str) -> HttpResponse:
    """Start (or refill) a RAD from an earlier release, with the sections the author ticks."""
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    require(request, access.may(ReleaseAction.EDIT_RAD), what="edit this RAD", release=release)
    releases = selectors.earlier_releases_for(user=request.user, release=release)
    form = StartFromForm(request.POST or None, releases=releases)
    if request.method == "POST" and form.is_valid():
        try:
            revision = services.rad_start_from(
                release=release,
                source=form.cleaned_data["source"],
                sections=form.cleaned_data["sections"],
                actor=request.user,
            )
        except ValidationError as error:
            apply_errors(form, error)
        except services.DomainError as error:
            form.add_error(None, str(error))
        else:
            if revision is None:
                messages.info(request, "Those sections are already the same; nothing changed.")
            else:
                messages.success(
                    request,
                    f"RAD revision {revision.number} starts from "
                    f"{form.cleaned_data['source'].version}. Review and edit it.",
                )
            return redirect(release)
    return render(request, "approvals/rad_start_from.html", {"release": release, "form": form})
