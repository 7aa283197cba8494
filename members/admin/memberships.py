"""Memberships: the list a federation's staff work from, and the rows of an organisation's page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.forms.formsets import DELETION_FIELD_NAME
from django.http import HttpRequest
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
from members.admin.mixins import CappedListMixin, CheckedSaveMixin, ScopedForeignKeyMixin, UnaccentSearchMixin
from members.dates import DatePrecision
from members.models import Membership, Organisation
from members.validation import membership_errors

MEMBERSHIP_RULES = _(
    "A membership runs from the day joined until the day left; on the day left the member no "
    "longer counts. Leave “left on” empty while it is current, and end a membership by entering "
    "that date rather than deleting it, so the history and the figures for past dates stay right. "
    "Two periods of the same membership cannot overlap, and no organisation can be a member of "
    "itself or of its own members. A “regional organisation” link (CECOP in CICOPA) is never "
    "counted among the parent's members."
)


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


class MembershipInlineBase(admin.TabularInline):
    """The rows of memberships on an organisation's page (the organisation is the member)."""

    model = Membership
    formset = MembershipFormSet
    fk_name = "member"
    extra = 0
    fields = [
        "federation",
        "category",
        "joined_on",
        "joined_precision",
        "left_on",
        "left_precision",
        "source",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("federation", "source")

    def has_view_permission(self, request: HttpRequest, obj: Organisation | None = None) -> bool:
        return permissions.can_view_memberships(request.user)


class MembershipInline(ScopedForeignKeyMixin, MembershipInlineBase):
    """The organisation's memberships of federations, as far as the user may edit them."""

    autocomplete_fields = ["federation", "source"]
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
    autocomplete_fields = ["member", "federation", "source"]
    list_per_page = 100
    fieldsets = [
        (None, {"fields": ["member", "federation", "category"], "description": MEMBERSHIP_RULES}),
        (_("Period"), {"fields": [("joined_on", "joined_precision"), ("left_on", "left_precision")]}),
        (_("Source"), {"fields": ["source", "source_note"]}),
    ]
    actions = ["end_today"]

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

    @admin.action(description=_("End the selected memberships today"), permissions=["change"])
    def end_today(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        """End the selected current memberships today, as the user, in one recorded bulk update."""
        today = timezone.localdate()
        selected = list(queryset.select_related("member", "federation"))
        if not all(permissions.can_edit_membership(request.user, m, "change") for m in selected):
            raise PermissionDenied
        # A membership that starts today cannot end today (it must end after it starts).
        ending = [m for m in selected if m.left_on is None and m.joined_on < today]
        now = timezone.now()
        for membership in ending:
            membership.left_on = today
            membership.left_precision = DatePrecision.DAY
            membership.updated_at = now
        bulk_update_with_history(
            ending, Membership, ["left_on", "left_precision", "updated_at"], default_user=request.user
        )
        # A bulk update sends no post_save: outdate cached figures and pages here.
        cache.register_changed()
        self.message_user(
            request,
            ngettext("%(count)d membership ended today.", "%(count)d memberships ended today.", len(ending))
            % {"count": len(ending)},
            messages.SUCCESS,
        )

    @admin.display(description=_("country"), ordering="member__country")
    def member_country(self, obj: Membership) -> str:
        return obj.member.country.name

    @admin.display(description=_("joined"), ordering="joined_on")
    def joined_display(self, obj: Membership) -> str:
        return obj.joined_display

    @admin.display(description=_("left"), ordering="left_on")
    def left_display(self, obj: Membership) -> str:
        return obj.left_display or "—"
