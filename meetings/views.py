from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from approvals import selectors as release_selectors
from approvals import services as release_services
from approvals.lifecycle import IllegalTransition, ReleaseAction
from approvals.models import FreezeWindow
from meetings import selectors, services
from meetings.agenda import meeting_agenda
from meetings.calendar import meeting_invite
from meetings.forms import CancelMeetingForm, FreezeForm, MeetingForm, OutcomeForm, OverrideForm
from meetings.models import MeetingStatus
from relapp.http import apply_errors, refuse, require, require_perm


@login_required
@require_http_methods(["GET", "POST"])
def meeting_create(request: HttpRequest, product: str, version: str) -> HttpResponse:
    access = release_selectors.release_access_for_user(
        user=request.user, product=product, version=version
    )
    release = access.release
    require(
        request,
        access.may(ReleaseAction.SCHEDULE_MEETING),
        what="schedule the gate meeting",
        release=release,
    )
    form = MeetingForm(request.POST or None)
    held_now = "start_now" in request.POST
    if held_now:
        form.fields["start"].required = False
    warnings: list[str] = []
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        confirmed = data.pop("confirm_warnings")
        warnings = _slot_warnings(release, data, held_now=held_now)
        if warnings and not confirmed:
            return _meeting_form(request, release=release, form=form, warnings=warnings)
        try:
            meeting = services.meeting_schedule(
                release=release,
                actor=request.user,
                held_now=held_now,
                warnings_acknowledged=warnings,
                **data,
            )
        except ValidationError as error:
            apply_errors(form, error)
            warnings = []
        except services.SlotWarningsChanged as error:
            form.add_error(None, str(error))
            return _meeting_form(
                request, release=release, form=form, warnings=error.warnings, status=409
            )
        except release_services.DomainError as error:
            form.add_error(None, str(error))
            warnings, status = [], 409
        else:
            messages.success(
                request,
                "Gate meeting started: record the minutes and decision below."
                if held_now
                else "Gate meeting scheduled; attendees are notified.",
            )
            return redirect(meeting)
    return _meeting_form(request, release=release, form=form, status=status)


def _slot_warnings(release, data: dict, *, held_now: bool = False, meeting=None) -> list[str]:
    """The slot's warnings; none for a start in the past, which the service refuses."""
    start = timezone.now() if held_now else data.get("start")
    if start is None or (start <= timezone.now() and not held_now):
        return []
    return selectors.meeting_slot_warnings(
        release=release,
        start=start,
        duration_minutes=data["duration_minutes"],
        exclude_pk=meeting.pk if meeting else None,
    )


def _meeting_form(request, *, release, form, warnings=(), meeting=None, status=200):
    return render(
        request,
        "meetings/meeting_form.html",
        {"release": release, "form": form, "meeting": meeting, "warnings": warnings},
        status=status,
    )


def _meeting_for(request, meeting_id: int, *, act: bool = False):
    """The meeting (404 unless its release is visible); `act`: 403 unless the user runs it."""
    meeting, access = selectors.meeting_access_for_user(user=request.user, meeting_id=meeting_id)
    if act:
        require(
            request,
            access.may(ReleaseAction.SCHEDULE_MEETING),
            what="change this meeting",
            release=meeting.release,
        )
    return meeting, access


@login_required
@require_GET
def meeting_detail(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting, access = _meeting_for(request, meeting_id)
    return _meeting_page(request, meeting=meeting, access=access, outcome_form=OutcomeForm())


def _meeting_page(request, *, meeting, access, outcome_form) -> HttpResponse:
    can_manage = (
        access.may(ReleaseAction.SCHEDULE_MEETING) and meeting.status == MeetingStatus.SCHEDULED
    )
    return render(
        request,
        "meetings/meeting_detail.html",
        {
            "meeting": meeting,
            "release": meeting.release,
            "agenda": meeting_agenda(release=meeting.release, user=request.user),
            "attendees": services.meeting_attendees(meeting),
            "can_manage": can_manage,
            "started": meeting.start <= timezone.now(),
            "cancel_form": CancelMeetingForm(),
            "outcome_form": outcome_form,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def meeting_edit(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting, _ = _meeting_for(request, meeting_id, act=True)
    initial = {
        "start": timezone.localtime(meeting.start),
        "duration_minutes": meeting.duration_minutes,
        "location": meeting.location,
        "extra_attendees": list(meeting.extra_attendees.all()),
    }
    form = MeetingForm(request.POST or None, initial=initial)
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        confirmed = data.pop("confirm_warnings")
        warnings = _slot_warnings(meeting.release, data, meeting=meeting)
        if warnings and not confirmed:
            return _meeting_form(
                request, release=meeting.release, form=form, warnings=warnings, meeting=meeting
            )
        try:
            services.meeting_reschedule(
                meeting=meeting, actor=request.user, warnings_acknowledged=warnings, **data
            )
        except ValidationError as error:
            apply_errors(form, error)
        except services.SlotWarningsChanged as error:
            form.add_error(None, str(error))
            return _meeting_form(
                request,
                release=meeting.release,
                form=form,
                warnings=error.warnings,
                meeting=meeting,
                status=409,
            )
        except release_services.DomainError as error:
            form.add_error(None, str(error))
            status = 409
        else:
            messages.success(request, "Meeting moved; reminders re-planned.")
            return redirect(meeting)
    return _meeting_form(
        request, release=meeting.release, form=form, meeting=meeting, status=status
    )


@login_required
@require_POST
def meeting_cancel(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting, _ = _meeting_for(request, meeting_id, act=True)
    form = CancelMeetingForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the meeting is cancelled; nothing was changed.")
        return redirect(meeting)
    try:
        services.meeting_cancel(meeting=meeting, actor=request.user, **form.cleaned_data)
    except release_services.DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Meeting cancelled; unsent reminders dropped.")
    return redirect(meeting)


@login_required
@require_POST
def meeting_outcome(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting, access = _meeting_for(request, meeting_id, act=True)
    form = OutcomeForm(request.POST)
    if form.is_valid():
        try:
            services.meeting_record_outcome(
                meeting=meeting, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            apply_errors(form, error)
        except release_services.DomainError as error:
            messages.error(request, str(error))
            return redirect(meeting)
        else:
            messages.success(request, "Minutes and decision recorded.")
            return redirect(meeting)
    # The minutes typed so far stay in the form, with the reason beside the field.
    return _meeting_page(request, meeting=meeting, access=access, outcome_form=form)


@login_required
@require_GET
def meeting_ics(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting, _ = _meeting_for(request, meeting_id)
    agenda = meeting_agenda(release=meeting.release, user=request.user)
    body = meeting_invite(
        meeting,
        attendees=services.meeting_attendees(meeting),
        description=agenda.as_text(),
        cancelled=meeting.status == MeetingStatus.CANCELLED,
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="gate-meeting-{meeting.pk}.ics"'
    return response


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.notifications_for_user(user=request.user), 25).get_page(
        request.GET.get("page")
    )
    return render(request, "meetings/notification_list.html", {"page": page})


@login_required
@require_POST
def notification_read(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("notification")
    notification_id = int(raw) if raw and raw.isdigit() else None
    services.notifications_mark_read(user=request.user, notification_id=notification_id)
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect("meetings:notification_list")


@login_required
@require_http_methods(["GET", "POST"])
def freeze_list(request: HttpRequest) -> HttpResponse:
    can_manage = request.user.has_perm("approvals.add_freezewindow")
    form = FreezeForm(request.POST or None)
    if request.method == "POST":
        if not can_manage:
            raise refuse(request, what="manage freeze windows")
        if form.is_valid():
            try:
                services.freeze_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, "Freeze window added.")
                return redirect("meetings:freeze_list")
    return render(
        request,
        "meetings/freeze_list.html",
        {
            "freezes": selectors.freezes_upcoming(user=request.user),
            "form": form,
            "can_manage": can_manage,
        },
    )


@login_required
@require_POST
def freeze_delete(request: HttpRequest, freeze_id: int) -> HttpResponse:
    require_perm(request, "approvals.delete_freezewindow", what="manage freeze windows")
    freeze = get_object_or_404(FreezeWindow, pk=freeze_id)
    services.freeze_delete(actor=request.user, freeze=freeze)
    messages.success(request, "Freeze window removed.")
    return redirect("meetings:freeze_list")


@login_required
@require_POST
def freeze_override(request: HttpRequest, product: str, version: str) -> HttpResponse:
    access = release_selectors.release_access_for_user(
        user=request.user, product=product, version=version
    )
    release = access.release
    require(
        request,
        access.may(ReleaseAction.OVERRIDE_FREEZE),
        what="override a freeze",
        release=release,
    )
    form = OverrideForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Describe the emergency; nothing was recorded.")
        return redirect(release)
    try:
        release_services.release_freeze_override(
            release=release, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except (release_services.DomainError, IllegalTransition) as error:
        messages.error(request, str(error))
    else:
        messages.warning(
            request, "Emergency reason recorded: this hotfix may deploy in the freeze."
        )
    return redirect(release)


@login_required
@require_http_methods(["GET", "POST"])
def calendar_settings(request: HttpRequest) -> HttpResponse:
    feed_url = None
    if request.method == "POST":
        token = services.calendar_feed_regenerate(user=request.user)
        feed_url = request.build_absolute_uri(f"/calendar/{token}.ics")
        messages.success(request, "New calendar link created; the old one no longer works.")
    has_feed = hasattr(request.user, "calendar_feed")
    return render(
        request, "meetings/calendar_settings.html", {"feed_url": feed_url, "has_feed": has_feed}
    )
