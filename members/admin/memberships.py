"""Memberships: the list a federation's staff work from, and the rows of an organisation's page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db import router, transaction
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.forms.formsets import DELETION_FIELD_NAME
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.utils import bulk_update_with_history

from members import cache, permissions
from members.admin.admission import close_requests_met, warn_of_breaches
from members.admin.filters import (
    CategoryFilter,
    CountryFilter,
    FederationFilter,
    JoinedPeriodFilter,
    LeftPeriodFilter,
    MemberKindFilter,
    MembershipStatusFilter,
    RegionFilter,
    YearJoinedFilter,
    YearLeftFilter,
)
from members.admin.history import ScopedHistoryAdmin
from members.admin.membership_forms import EndMembershipsForm, MembershipForm
from members.admin.mixins import CappedListMixin, CheckedSaveMixin, ScopedForeignKeyMixin, UnaccentSearchMixin
from members.dates import format_left
from members.models import Membership, Organisation
from members.validation import membership_errors

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldOpts
    from django.utils.functional import _StrOrPromise

MEMBERSHIP_RULES = _(
    "A membership runs from the day joined until the day left; on the day left the member no "
    "longer counts. Leave “left on” empty while it is current, and end a membership by entering "
    "that date rather than deleting it, so the history and the figures for past dates stay right. "
    "Two periods of the same membership cannot overlap, and no organisation can be a member of "
    "itself or of its own members. A “regional organisation” link (CECOP in CICOPA) is never "
    "counted among the parent's members."
)
JOINED_DESCRIPTION = _(
    "When and how the member joined, and the source that says so. A start only attested by a "
    "source counts from the source's date and is never announced as a join."
)
LEFT_DESCRIPTION = _(
    "When the member left, why, and the source of the departure: its own, not the join's. A reason, "
    "a source or a note needs a date of leaving; “merged into” goes with the reason “merged”."
)


def membership_fieldsets(first: list[str]) -> list[tuple[_StrOrPromise | None, _FieldOpts]]:
    """The membership form's sections, "Joined" and "Left", after the fields `first`."""
    return [
        (None, {"fields": [*first], "description": MEMBERSHIP_RULES}),
        (
            _("Joined"),
            {
                "fields": [("joined_on", "joined_precision"), "source", "source_note"],
                "description": JOINED_DESCRIPTION,
            },
        ),
        (
            _("Left"),
            {
                "fields": [
                    ("left_on", "left_precision"),
                    ("left_reason", "merged_into"),
                    "left_source",
                    "left_source_note",
                ],
                "description": LEFT_DESCRIPTION,
            },
        ),
    ]


class MembershipFormSet(BaseInlineFormSet):
    """An organisation's membership rows, checked together as well as each against the register.

    Each row's own validation compares it with the register as stored, so two
    new rows of one federation whose periods overlap would each pass (and the
    exclusion constraint refuse the save on PostgreSQL). Here the rows about to
    be saved go through members/validation.py together, and each message goes
    to the row it concerns.
    """

    def clean(self) -> None:
        super().clean()
        forms = self._forms_to_save()
        if not forms:
            return
        for index, field, message in membership_errors([form.instance for form in forms]):
            form = forms[index]
            form.add_error(field if field in form.fields else None, message)

    def _forms_to_save(self) -> list[Any]:
        # Rows that are unchanged are compared as the register stores them; rows with
        # errors of their own will not be saved and already say why.
        return [
            form
            for form in self.forms
            if form.has_changed() and form.is_valid() and not form.cleaned_data.get(DELETION_FIELD_NAME)
        ]


class MembershipInlineBase(admin.StackedInline):
    """The memberships on an organisation's page (the organisation is the member), each with its
    "Joined" and "Left" sections."""

    model = Membership
    form = MembershipForm
    formset = MembershipFormSet
    fk_name = "member"
    extra = 0
    fieldsets = membership_fieldsets(["federation", "category"])

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        related = ["federation", "source", "left_source", "merged_into"]
        return super().get_queryset(request).select_related(*related)

    def has_view_permission(self, request: HttpRequest, obj: Organisation | None = None) -> bool:
        return permissions.can_view_memberships(request.user)


class MembershipInline(ScopedForeignKeyMixin, MembershipInlineBase):
    """The organisation's memberships of federations, as far as the user may edit them."""

    autocomplete_fields = ["federation", "source", "merged_into", "left_source"]
    verbose_name = _("membership of a federation")
    verbose_name_plural = _("memberships of federations")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        queryset = super().get_queryset(request)
        if permissions.is_federation_editor(request.user):
            return queryset.filter(federation_id__in=permissions.editable_federation_ids(request.user))
        return queryset

    def has_add_permission(self, request: HttpRequest, obj: Organisation | None = None) -> bool:
        return permissions.can_add_membership(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Organisation | None = None) -> bool:
        return permissions.can_edit_some_memberships(request.user, "change")

    def has_delete_permission(self, request: HttpRequest, obj: Organisation | None = None) -> bool:
        return permissions.can_edit_some_memberships(request.user, "delete")


class OtherMembershipInline(MembershipInlineBase):
    """An editor's read-only view of the organisation's memberships outside their federations."""

    verbose_name = _("membership of another federation (read only)")
    verbose_name_plural = _("memberships of other federations (read only)")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        editable = permissions.editable_federation_ids(request.user)
        return super().get_queryset(request).exclude(federation_id__in=editable)

    def has_add_permission(self, request: HttpRequest, obj: Organisation | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Organisation | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Organisation | None = None) -> bool:
        return False


@admin.register(Membership)
class MembershipAdmin(
    ScopedForeignKeyMixin, UnaccentSearchMixin, CheckedSaveMixin, CappedListMixin, ScopedHistoryAdmin
):
    """A federation's member list: pick the federation in the filter; current members by default."""

    list_display = [
        "member",
        "federation",
        "category",
        "member_country",
        "joined_display",
        "left_display",
    ]
    list_filter = [
        FederationFilter,
        RegionFilter,
        CountryFilter,
        MemberKindFilter,
        CategoryFilter,
        MembershipStatusFilter,
        YearJoinedFilter,
        JoinedPeriodFilter,
        YearLeftFilter,
        LeftPeriodFilter,
    ]
    list_select_related = ["member", "federation"]
    search_fields = [
        "member__name",
        "member__acronym",
        "member__city",
        "federation__name",
        "federation__acronym",
    ]
    autocomplete_fields = ["member", "federation", "source", "merged_into", "left_source"]
    list_per_page = 100
    form = MembershipForm
    fieldsets = membership_fieldsets(["member", "federation", "category"])
    actions = ["end_memberships"]

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> Any:
        # Once saved, a membership stays its member's in an editor's hands (members/permissions.py's
        # can_save_membership refuses the change on saving, whatever the form sends).
        if obj is not None and not permissions.is_registry_administrator(request.user):
            return [*super().get_readonly_fields(request, obj), "member"]
        return super().get_readonly_fields(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return permissions.can_add_membership(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        if obj is None:
            return permissions.can_edit_some_memberships(request.user, "change")
        return permissions.can_edit_membership(request.user, obj, "change")

    # After the save's own message: the requests it answers, the admission rules it breaks.
    def response_add(
        self, request: HttpRequest, obj: Membership, post_url_continue: str | None = None
    ) -> Any:
        response = super().response_add(request, obj, post_url_continue)
        close_requests_met(request, [obj])
        warn_of_breaches(request, [obj])
        return response

    def response_change(self, request: HttpRequest, obj: Membership) -> Any:
        response = super().response_change(request, obj)
        close_requests_met(request, [obj])
        warn_of_breaches(request, [obj])
        return response

    def has_delete_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        if obj is None:
            return permissions.can_edit_some_memberships(request.user, "delete")
        return permissions.can_edit_membership(request.user, obj, "delete")

    @admin.action(description=_("End the selected memberships…"), permissions=["change"])
    def end_memberships(
        self, request: HttpRequest, queryset: QuerySet[Membership]
    ) -> TemplateResponse | None:
        """Ask the date (with its precision), reason and source, then end every selected membership or none.

        Every selected membership must be the user's to change (members/permissions.py), checked
        here whatever the list offered. A membership that has ended already, or that would end
        before it starts, is refused by name, and then nothing is saved.
        """
        selected = list(queryset.select_related("member", "federation"))
        if not selected:
            # The list acts on what its filters show (current members unless asked otherwise).
            message = _("None of the selected memberships is in the list.")
            self.message_user(request, message, messages.WARNING)
            return None
        if not all(permissions.can_edit_membership(request.user, m, "change") for m in selected):
            raise PermissionDenied
        form = EndMembershipsForm(request.POST if "apply" in request.POST else None)
        refused: list[str] = []
        if form.is_bound and form.is_valid():
            refused = self._end(request, selected, form)
            if not refused:
                return None
            # _end() left its attempt on the instances; the page shows them as stored.
            selected = list(queryset.select_related("member", "federation"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("End the selected memberships"),
            "opts": self.model._meta,
            "form": form,
            "media": self.media + form.media,
            "memberships": selected,
            "refused": refused,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/members/membership/end_memberships.html", context)

    def _end(self, request: HttpRequest, selected: list[Membership], form: EndMembershipsForm) -> list[str]:
        """End the memberships as the form says, in one recorded bulk update; or return why not, by name."""
        data = form.cleaned_data
        left_on = form.stored_left_on()
        refused = []
        for membership in selected:
            if membership.left_on is not None:
                refused.append(
                    _("%(membership)s has already ended (%(left)s).")
                    % {"membership": membership, "left": membership.left_display}
                )
            membership.left_on = left_on
            membership.left_precision = data["left_precision"]
            membership.left_reason = data["left_reason"]
            membership.merged_into = data["merged_into"]
            membership.left_source = data["left_source"]
            membership.left_source_note = data["left_source_note"]
        with transaction.atomic(using=router.db_for_write(Membership)):
            # The rules every write path applies (members/validation.py), each refusal named.
            for index, _field, message in membership_errors(selected):
                refused.append(f"{selected[index]}: {message}")
            if refused:
                return refused
            now = timezone.now()
            for membership in selected:
                membership.updated_at = now
            bulk_update_with_history(
                selected,
                Membership,
                [
                    "left_on",
                    "left_precision",
                    "left_reason",
                    "merged_into",
                    "left_source",
                    "left_source_note",
                    "updated_at",
                ],
                default_user=request.user,
            )
        # A bulk update sends no post_save: outdate cached figures and pages here.
        cache.register_changed()
        self.message_user(
            request,
            ngettext(
                "%(count)d membership ended: %(left)s.",
                "%(count)d memberships ended: %(left)s.",
                len(selected),
            )
            % {"count": len(selected), "left": format_left(left_on, data["left_precision"])},
            messages.SUCCESS,
        )
        return []

    @admin.display(description=_("country"), ordering="member__country")
    def member_country(self, obj: Membership) -> str:
        return obj.member.country.name

    @admin.display(description=_("joined"), ordering="joined_on")
    def joined_display(self, obj: Membership) -> str:
        return obj.joined_display

    @admin.display(description=_("left"), ordering="left_on")
    def left_display(self, obj: Membership) -> str:
        return obj.left_display or "—"
