"""Figures rounds in the admin: opening one, and the mail that follows (reminders, new links, bounces).

Opening a round is its add form: the federation, the year, the closing day,
the federation's message and how often to remind. Saving it invites the
federation's counted members of that day (members/rounds/opening.py) and
queues the invitations. Registry administrators open rounds for any
federation, federation editors for theirs only, and see only their
federations' rounds: a round lists its members' contacts.

The list of answers here is kept plain; reviewing them is the review list's
work (members/admin/round_review.py).
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from members import permissions
from members.admin.history import ScopedHistoryAdmin
from members.models import Contact, FiguresRound, Organisation, RoundAnswer
from members.rounds.mail import mail_problem
from members.rounds.opening import open_round, send_new_link, send_reminders_now
from members.rounds.tasks import mark_bounced

Status = RoundAnswer.Status


def _scoped(request: HttpRequest, queryset: QuerySet[Any], federation_field: str) -> QuerySet[Any]:
    federations = permissions.round_federation_ids(request.user)
    if federations is None:
        return queryset
    return queryset.filter(**{f"{federation_field}__in": federations})


class OpenRoundForm(forms.ModelForm):
    class Meta:
        model = FiguresRound
        fields = ["federation", "year", "closes_on", "message", "reminder_days"]

    def clean_closes_on(self) -> datetime.date:
        closes_on: datetime.date = self.cleaned_data["closes_on"]
        if self.instance.pk is None and closes_on < timezone.localdate():
            raise forms.ValidationError(_("A round cannot close before the day it opens."))
        return closes_on

    def clean_reminder_days(self) -> int | None:
        days: int | None = self.cleaned_data.get("reminder_days")
        if days is not None and days < 1:
            raise forms.ValidationError(_("Remind every day at most: enter 1 or more, or leave it empty."))
        return days


class RoundAnswerInline(admin.TabularInline):
    model = RoundAnswer
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["organisation", "contact_shown", "status", "invited_at", "reminders", "bounced_at"]
    readonly_fields = ["organisation", "contact_shown", "status", "invited_at", "reminders", "bounced_at"]
    verbose_name_plural = _("invited organisations")

    def get_queryset(self, request: HttpRequest) -> QuerySet[RoundAnswer]:
        return super().get_queryset(request).select_related("organisation", "contact")

    def has_add_permission(self, request: HttpRequest, obj: FiguresRound | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: FiguresRound | None = None) -> bool:
        return False

    @admin.display(description=_("contact"))
    def contact_shown(self, obj: RoundAnswer) -> str:
        return contact_shown(obj)


def contact_shown(answer: RoundAnswer) -> str:
    """The answer's contact as staff see it: the name, and why they are not written to, if they are not."""
    problem = mail_problem(answer.contact)
    if answer.contact is None:
        return problem
    return f"{answer.contact.name} ({problem})" if problem else answer.contact.name


@admin.register(FiguresRound)
class FiguresRoundAdmin(admin.ModelAdmin):
    form = OpenRoundForm
    list_display = ["__str__", "closes_on", "open_now", "invited", "answered"]
    list_select_related = ["federation"]
    list_filter = ["year"]
    actions = ["send_reminders"]
    inlines = [RoundAnswerInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[FiguresRound]:
        queryset = (
            super()
            .get_queryset(request)
            .annotate(
                invited_count=Count("answers"),
                answered_count=Count(
                    "answers", filter=Q(answers__status__in=[Status.ANSWERED, Status.APPROVED])
                ),
            )
        )
        return _scoped(request, queryset, "federation")

    def get_inlines(self, request: HttpRequest, obj: FiguresRound | None) -> Any:
        # The answers exist once the round is opened.
        return self.inlines if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: FiguresRound | None = None) -> Any:
        if obj is None:
            return ["federation", "year", "closes_on", "message", "reminder_days"]
        return ["federation", "year", "closes_on", "message", "reminder_days", "opened_by", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: FiguresRound | None = None) -> Any:
        # The answers were made for this federation and year: a round never moves to another.
        return ["federation", "year", "opened_by", "created_at"] if obj is not None else []

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name == "federation":
            federations = Organisation.objects.federations()
            if not permissions.is_registry_administrator(request.user):
                federations = federations.filter(pk__in=permissions.editable_federation_ids(request.user))
            kwargs["queryset"] = federations.order_by("name")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return permissions.can_open_round(request.user)

    def has_change_permission(self, request: HttpRequest, obj: FiguresRound | None = None) -> bool:
        return permissions.can_run_round(request.user, obj)

    def has_delete_permission(self, request: HttpRequest, obj: FiguresRound | None = None) -> bool:
        return permissions.is_registry_administrator(request.user) and super().has_delete_permission(
            request, obj
        )

    def save_model(self, request: HttpRequest, obj: FiguresRound, form: Any, change: bool) -> None:
        if change:
            if not permissions.can_run_round(request.user, obj):
                raise PermissionDenied
            super().save_model(request, obj, form, change)
            return
        # The menu offers only the user's federations; a hand-made request is refused here too.
        if not permissions.can_open_round(request.user, obj.federation_id):
            raise PermissionDenied
        obj.opened_by = request.user  # type: ignore[assignment]  # a signed-in member of staff
        super().save_model(request, obj, form, change)
        opening = open_round(obj)
        sentences = [
            ngettext(
                "%(count)d organisation invited; invitations queued for %(mailed)d.",
                "%(count)d organisations invited; invitations queued for %(mailed)d.",
                opening.organisations,
            )
            % {"count": opening.organisations, "mailed": opening.mailed}
        ]
        if opening.without_contact:
            sentences.append(
                ngettext(
                    "%(count)d has no main contact.",
                    "%(count)d have no main contact.",
                    opening.without_contact,
                )
                % {"count": opening.without_contact}
            )
        if opening.not_mailable:
            sentences.append(
                ngettext(
                    "%(count)d cannot be written to (no e-mail address, or mail bounced).",
                    "%(count)d cannot be written to (no e-mail address, or mail bounced).",
                    opening.not_mailable,
                )
                % {"count": opening.not_mailable}
            )
        self.message_user(
            request,
            " ".join(sentences),
            messages.SUCCESS if opening.mailed == opening.organisations else messages.WARNING,
        )

    @admin.display(description=_("open"), boolean=True)
    def open_now(self, obj: FiguresRound) -> bool:
        return obj.is_open()

    @admin.display(description=_("invited"), ordering="invited_count")
    def invited(self, obj: FiguresRound) -> int:
        return obj.invited_count  # type: ignore[attr-defined]

    @admin.display(description=_("answered"), ordering="answered_count")
    def answered(self, obj: FiguresRound) -> int:
        return obj.answered_count  # type: ignore[attr-defined]

    @admin.action(description=_("Send reminders now to those who have not answered"), permissions=["change"])
    def send_reminders(self, request: HttpRequest, queryset: QuerySet[FiguresRound]) -> None:
        count = 0
        for figures_round in queryset.select_related("federation"):
            if not permissions.can_run_round(request.user, figures_round):
                raise PermissionDenied
            count += send_reminders_now(figures_round)
        self.message_user(
            request,
            ngettext("%(count)d reminder queued.", "%(count)d reminders queued.", count) % {"count": count},
            messages.SUCCESS,
        )


class RoundAnswerForm(forms.ModelForm):
    class Meta:
        model = RoundAnswer
        fields = ["contact"]


@admin.register(RoundAnswer)
class RoundAnswerAdmin(ScopedHistoryAdmin):
    form = RoundAnswerForm
    list_display = [
        "organisation",
        "round",
        "contact_column",
        "status",
        "invited_at",
        "reminders",
        "bounced_at",
    ]
    list_filter = ["status", "round"]
    list_select_related = ["organisation", "round__federation", "contact"]
    search_fields = ["organisation__name", "organisation__acronym"]
    actions = ["send_new_links", "mark_bounced"]
    readonly_fields = [
        "round",
        "organisation",
        "status",
        "invited_at",
        "reminded_at",
        "reminders",
        "bounced_at",
        "answered_at",
        "answer_language",
    ]
    fields = ["round", "organisation", "contact", *readonly_fields[2:]]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RoundAnswer]:
        return _scoped(request, super().get_queryset(request), "round__federation")

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name == "contact":
            # Only the organisation's own contacts; the change view passes the answer's id in its address.
            match = request.resolver_match
            answer_id = match.kwargs.get("object_id") if match else None
            organisation_id = (
                RoundAnswer.objects.filter(pk=answer_id).values_list("organisation_id", flat=True).first()
                if answer_id and str(answer_id).isdigit()
                else None
            )
            kwargs["queryset"] = (
                Contact.objects.filter(organisation_id=organisation_id)
                if organisation_id is not None
                else Contact.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # answers are made by opening a round

    def has_delete_permission(self, request: HttpRequest, obj: RoundAnswer | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RoundAnswer | None = None) -> bool:
        return permissions.can_run_round(request.user, obj.round if obj is not None else None)

    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        # An answer's history is its record (who answered, who reviewed); it is never rolled back.
        return True

    def save_model(self, request: HttpRequest, obj: RoundAnswer, form: Any, change: bool) -> None:
        if not permissions.can_run_round(request.user, obj.round):
            raise PermissionDenied
        super().save_model(request, obj, form, change)
        if "contact" in form.changed_data:
            # The link sent to the former contact stops working; the new contact gets one.
            if send_new_link(obj):
                self.message_user(request, _("A new link was queued for the new contact."), messages.SUCCESS)
            else:
                self.message_user(
                    request,
                    _("The former link no longer works; no new one could be sent (%(why)s).")
                    % {"why": contact_shown(obj) or _("the round is closed or the answer approved")},
                    messages.WARNING,
                )

    @admin.display(description=_("contact"))
    def contact_column(self, obj: RoundAnswer) -> str:
        return contact_shown(obj)

    def _check(self, request: HttpRequest, queryset: QuerySet[RoundAnswer]) -> list[RoundAnswer]:
        answers = list(queryset.select_related("round__federation", "organisation", "contact"))
        if not all(permissions.can_run_round(request.user, answer.round) for answer in answers):
            raise PermissionDenied
        return answers

    @admin.action(description=_("Send a new link (the former one stops working)"), permissions=["change"])
    def send_new_links(self, request: HttpRequest, queryset: QuerySet[RoundAnswer]) -> None:
        answers = self._check(request, queryset)
        sent = sum(send_new_link(answer) for answer in answers)
        self.message_user(
            request,
            ngettext("%(count)d new link queued.", "%(count)d new links queued.", sent) % {"count": sent},
            messages.SUCCESS,
        )
        if sent < len(answers):
            self.message_user(
                request,
                ngettext(
                    "%(count)d answer got no new link: no contact to write to, "
                    "round closed or answer approved.",
                    "%(count)d answers got no new link: no contact to write to, "
                    "round closed or answer approved.",
                    len(answers) - sent,
                )
                % {"count": len(answers) - sent},
                messages.WARNING,
            )

    @admin.action(description=_("Mark the mail to these contacts as bounced"), permissions=["change"])
    def mark_bounced(self, request: HttpRequest, queryset: QuerySet[RoundAnswer]) -> None:
        answers = [answer for answer in self._check(request, queryset) if answer.contact is not None]
        for answer in answers:
            mark_bounced(answer)
        self.message_user(
            request,
            ngettext(
                "%(count)d contact marked as bounced: the register no longer writes to them.",
                "%(count)d contacts marked as bounced: the register no longer writes to them.",
                len(answers),
            )
            % {"count": len(answers)},
            messages.SUCCESS,
        )
