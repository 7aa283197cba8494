"""Reviewing a figures round: the answers to review beside last year's, and the round's dashboard.

The review list of a round shows each answer beside the organisation's
previous declaration, the change in every figure and a flag where it is
large (members/rounds/review.py), with buttons to approve it or return it
with a message. The dashboard shows who was invited, answered, is late or
bounced, and the federation's coverage as answers are approved. Both are
pages of the admin site (its sign-in, its look), at addresses of their own
below the admin's (`urlpatterns`, included by registry/urls.py), beside the
rounds' and answers' own admin pages (members/admin/rounds.py), which link
to them.

Registry administrators review every round, federation editors the rounds of
their federations, and read-only staff see them (members/permissions.py);
each view and each POST asks, so a hand-made request for another
federation's round is answered 403.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from members import permissions
from members.models import FiguresRound, RoundAnswer
from members.rounds import review
from members.rounds.dashboard import LATE_AFTER_DAYS, dashboard
from members.rounds.opening import send_reminders_now

# The answers the review list shows first: those waiting for a decision.
TO_REVIEW = RoundAnswer.Status.ANSWERED
# Then those already decided, for reference.
REVIEWED = (RoundAnswer.Status.APPROVED, RoundAnswer.Status.RETURNED)


def _round_for(request: HttpRequest, round_id: int) -> FiguresRound:
    figures_round = get_object_or_404(FiguresRound.objects.select_related("federation"), pk=round_id)
    if not permissions.can_see_round(request.user, figures_round):
        raise PermissionDenied
    return figures_round


def _answer_for(request: HttpRequest, answer_id: int) -> RoundAnswer:
    answer = get_object_or_404(
        RoundAnswer.objects.select_related("round__federation", "organisation"), pk=answer_id
    )
    if not permissions.can_review_round(request.user, answer.round):
        raise PermissionDenied
    return answer


def _context(request: HttpRequest, figures_round: FiguresRound, title: str) -> dict[str, Any]:
    try:
        round_url = reverse("admin:members_figuresround_change", args=[figures_round.pk])
    except NoReverseMatch:  # the rounds' own admin is not installed
        round_url = ""
    return {
        **admin.site.each_context(request),
        "opts": FiguresRound._meta,
        "round": figures_round,
        "round_url": round_url,
        "title": title,
    }


def review_list(request: HttpRequest, round_id: int) -> TemplateResponse:
    """The round's answers waiting for review, each beside last year's declaration; then the reviewed."""
    # Queries: the round, the answers given, and their organisations' previous declarations.
    figures_round = _round_for(request, round_id)
    answers = figures_round.answers.filter(status__in=[TO_REVIEW, *REVIEWED]).select_related(
        "organisation", "reviewed_by", "declaration"
    )
    rows = review.review_rows(figures_round, answers.order_by("organisation__name"))
    context = {
        **_context(request, figures_round, _("Answers of %(round)s") % {"round": figures_round}),
        "may_review": permissions.can_review_round(request.user, figures_round),
        "to_review": [
            (row, permissions.can_approve_answer(request.user, row.answer))
            for row in rows
            if row.answer.status == TO_REVIEW
        ],
        "reviewed": [row for row in rows if row.answer.status != TO_REVIEW],
        "large_change": round(review.LARGE_CHANGE * 100),
    }
    return TemplateResponse(request, "admin/members/figuresround/review.html", context)


def round_dashboard(request: HttpRequest, round_id: int) -> TemplateResponse:
    """Who was invited, answered, is late or bounced; the federation's coverage from approved answers."""
    figures_round = _round_for(request, round_id)
    context = {
        **_context(request, figures_round, _("Dashboard of %(round)s") % {"round": figures_round}),
        "board": dashboard(figures_round),
        "late_after_days": LATE_AFTER_DAYS,
        "may_remind": permissions.can_run_round(request.user, figures_round) and figures_round.is_open(),
    }
    return TemplateResponse(request, "admin/members/figuresround/dashboard.html", context)


def _back_to_review(answer: RoundAnswer) -> HttpResponse:
    return HttpResponseRedirect(reverse("round-review:review", args=[answer.round_id]))


def _seen(request: HttpRequest) -> datetime.datetime | None:
    """When the answer the reviewer saw was sent (the form's `answered_at`); None if the form did not say."""
    try:
        return datetime.datetime.fromisoformat(request.POST.get("answered_at", ""))
    except ValueError:
        return None


@require_POST
def approve_answer(request: HttpRequest, answer_id: int) -> HttpResponse:
    """Approve the answer (POST): it becomes the organisation's declared figures."""
    answer = _answer_for(request, answer_id)
    if not permissions.can_approve_answer(request.user, answer):
        raise PermissionDenied
    try:
        declaration = review.approve(answer, request.user, _seen(request))
    except review.ReviewRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request,
            _("%(organisation)s's answer is approved: its figures for %(year)s are declared.")
            % {"organisation": answer.organisation.short_name, "year": declaration.year},
        )
    return _back_to_review(answer)


@require_POST
def return_answer(request: HttpRequest, answer_id: int) -> HttpResponse:
    """Return the answer to the member (POST) with the reviewer's message."""
    answer = _answer_for(request, answer_id)
    try:
        review.return_answer(answer, request.user, request.POST.get("message", ""))
    except review.ReviewRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request,
            _("%(organisation)s's answer is returned; the member is told by e-mail.")
            % {"organisation": answer.organisation.short_name},
        )
    return _back_to_review(answer)


@require_POST
def send_reminders(request: HttpRequest, round_id: int) -> HttpResponse:
    """Remind now (POST) every contact of the round who has not answered, and go back to the dashboard."""
    figures_round = get_object_or_404(FiguresRound.objects.select_related("federation"), pk=round_id)
    if not permissions.can_run_round(request.user, figures_round):
        raise PermissionDenied
    if not figures_round.is_open():
        messages.error(
            request, _("The round has closed: its members can no longer answer, so none is reminded.")
        )
    else:
        count = send_reminders_now(figures_round)
        messages.success(
            request,
            ngettext("%(count)d reminder queued.", "%(count)d reminders queued.", count) % {"count": count},
        )
    return HttpResponseRedirect(reverse("round-review:dashboard", args=[figures_round.pk]))


app_name = "round-review"

# Below the admin's address (registry/urls.py), each behind the admin's sign-in.
urlpatterns = [
    path("<int:round_id>/review/", admin.site.admin_view(review_list), name="review"),
    path("<int:round_id>/dashboard/", admin.site.admin_view(round_dashboard), name="dashboard"),
    path("<int:round_id>/remind/", admin.site.admin_view(send_reminders), name="remind"),
    path("answers/<int:answer_id>/approve/", admin.site.admin_view(approve_answer), name="approve"),
    path("answers/<int:answer_id>/return/", admin.site.admin_view(return_answer), name="return"),
]
