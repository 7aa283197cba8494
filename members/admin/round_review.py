"""Reviewing a figures round: the answers to review beside last year's, and the round's dashboard.

The review list of a round shows each answer beside the organisation's
previous declaration, the change in every figure and a flag where it is
large (members/rounds/review.py), with buttons to approve it or return it
with a message. The dashboard shows who was invited, answered, is late or
bounced, and the federation's coverage as answers are approved. Both live
on the round answers' admin, whose own list is read-only: answers change
through the member's form and this review only.

Registry administrators review every round, federation editors the rounds of
their federations (members/permissions.py); each view and each POST asks,
so a hand-made request for another federation's round is answered 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from members import permissions
from members.models import FiguresRound, RoundAnswer
from members.rounds import review
from members.rounds.dashboard import LATE_AFTER_DAYS, dashboard

# The answers the review list shows first: those waiting for a decision.
TO_REVIEW = RoundAnswer.Status.ANSWERED
# Then those already decided, for reference.
REVIEWED = (RoundAnswer.Status.APPROVED, RoundAnswer.Status.RETURNED)


def _round_for(request: HttpRequest, round_id: int) -> FiguresRound:
    figures_round = get_object_or_404(FiguresRound.objects.select_related("federation"), pk=round_id)
    if not permissions.can_review_round(request.user, figures_round):
        raise PermissionDenied
    return figures_round


def _answer_for(request: HttpRequest, answer_id: int) -> RoundAnswer:
    answer = get_object_or_404(
        RoundAnswer.objects.select_related("round__federation", "organisation"), pk=answer_id
    )
    if not permissions.can_review_round(request.user, answer.round):
        raise PermissionDenied
    return answer


@admin.register(RoundAnswer)
class RoundAnswerAdmin(admin.ModelAdmin):
    """The answers of every round the user reviews, read-only; each round's review list and dashboard."""

    list_display = ["organisation", "round", "status", "answered_at", "reviewed_by", "review_links"]
    list_filter = ["status", "round"]
    list_select_related = ["organisation", "round__federation", "reviewed_by"]
    search_fields = ["organisation__name", "organisation__acronym"]
    # Contacts are personal data kept to their own admin; the answer names the organisation.
    exclude = ["contact"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RoundAnswer]:
        queryset = super().get_queryset(request)
        federations = permissions.reviewable_round_federation_ids(request.user)
        if federations is None:
            return queryset
        return queryset.filter(round__federation_id__in=federations)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return permissions.can_review_some_rounds(request.user)

    def has_view_permission(self, request: HttpRequest, obj: RoundAnswer | None = None) -> bool:
        if obj is not None:
            return permissions.can_review_round(request.user, obj.round)
        return permissions.can_review_some_rounds(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RoundAnswer | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RoundAnswer | None = None) -> bool:
        return False

    @admin.display(description=_("round"))
    def review_links(self, obj: RoundAnswer) -> SafeString:
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:members_figuresround_review", args=[obj.round_id]),
            _t("Review"),
            reverse("admin:members_figuresround_dashboard", args=[obj.round_id]),
            _t("Dashboard"),
        )

    def get_urls(self) -> list[URLPattern]:
        site = self.admin_site
        return [
            path(
                "round/<int:round_id>/review/",
                site.admin_view(self.review_view),
                name="members_figuresround_review",
            ),
            path(
                "round/<int:round_id>/dashboard/",
                site.admin_view(self.dashboard_view),
                name="members_figuresround_dashboard",
            ),
            path(
                "<int:answer_id>/approve/",
                site.admin_view(require_POST(self.approve_view)),
                name="members_roundanswer_approve",
            ),
            path(
                "<int:answer_id>/return/",
                site.admin_view(require_POST(self.return_view)),
                name="members_roundanswer_return",
            ),
            *super().get_urls(),
        ]

    def _context(self, request: HttpRequest, figures_round: FiguresRound, title: str) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "round": figures_round,
            "title": title,
        }

    def review_view(self, request: HttpRequest, round_id: int) -> TemplateResponse:
        """The round's answers waiting for review, each beside last year's declaration; then the reviewed."""
        figures_round = _round_for(request, round_id)
        # Query 1: the answers given (2 more: the round, and their previous declarations).
        answers = figures_round.answers.filter(status__in=[TO_REVIEW, *REVIEWED]).select_related(
            "organisation", "reviewed_by", "declaration"
        )
        rows = review.review_rows(figures_round, answers.order_by("organisation__name"))
        context = {
            **self._context(request, figures_round, _t("Answers of %(round)s") % {"round": figures_round}),
            "to_review": [
                (row, permissions.can_approve_answer(request.user, row.answer))
                for row in rows
                if row.answer.status == TO_REVIEW
            ],
            "reviewed": [row for row in rows if row.answer.status != TO_REVIEW],
            "large_change": round(review.LARGE_CHANGE * 100),
        }
        return TemplateResponse(request, "admin/members/figuresround/review.html", context)

    def dashboard_view(self, request: HttpRequest, round_id: int) -> TemplateResponse:
        """Who was invited, answered, is late or bounced; the federation's coverage from approved answers."""
        figures_round = _round_for(request, round_id)
        context = {
            **self._context(request, figures_round, _t("Dashboard of %(round)s") % {"round": figures_round}),
            "board": dashboard(figures_round),
            "late_after_days": LATE_AFTER_DAYS,
        }
        return TemplateResponse(request, "admin/members/figuresround/dashboard.html", context)

    def _back_to_review(self, answer: RoundAnswer) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:members_figuresround_review", args=[answer.round_id]))

    def approve_view(self, request: HttpRequest, answer_id: int) -> HttpResponse:
        answer = _answer_for(request, answer_id)
        if not permissions.can_approve_answer(request.user, answer):
            raise PermissionDenied
        try:
            declaration = review.approve(answer, request.user)
        except review.ReviewRefused as refused:
            messages.error(request, refused.message)
        else:
            messages.success(
                request,
                _t("%(organisation)s's answer is approved: its figures for %(year)s are declared.")
                % {"organisation": answer.organisation.short_name, "year": declaration.year},
            )
        return self._back_to_review(answer)

    def return_view(self, request: HttpRequest, answer_id: int) -> HttpResponse:
        answer = _answer_for(request, answer_id)
        try:
            review.return_answer(answer, request.user, request.POST.get("message", ""))
        except review.ReviewRefused as refused:
            messages.error(request, refused.message)
        else:
            messages.success(
                request,
                _t("%(organisation)s's answer is returned; the member is told by e-mail.")
                % {"organisation": answer.organisation.short_name},
            )
        return self._back_to_review(answer)
