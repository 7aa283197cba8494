"""Membership requests: what editors ask the secretariat to add, and the secretariat's list of them.

A request is made from a breach's warning or the Checks page, pre-filled from
the address (the member, the federation, the start and its precision, why).
Registry administrators see every request, add the membership from its row
(which marks it done, members/admin/admission.py) or decline it; an editor
sees their own and what became of them. Chosen over an e-mail: it is kept,
has a status, is counted on the admin's home and needs no mail server.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from members import permissions
from members.dates import format_at_precision
from members.models import MembershipRequest


@admin.register(MembershipRequest)
class MembershipRequestAdmin(admin.ModelAdmin):
    list_display = ["created_at", "member_name", "federation_name", "joined", "requested_by", "status"]
    list_filter = ["status"]
    list_select_related = ["member", "federation", "requested_by"]
    autocomplete_fields = ["member", "federation"]
    search_fields = ["member__name", "member__acronym", "federation__name", "federation__acronym"]
    fields = ["member", "federation", "category", ("joined_on", "joined_precision"), "note", "status"]
    actions = ["mark_declined"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[MembershipRequest]:
        queryset = super().get_queryset(request)
        if permissions.can_see_every_membership_request(request.user):
            return queryset
        return queryset.filter(requested_by_id=request.user.pk)

    def get_readonly_fields(self, request: HttpRequest, obj: MembershipRequest | None = None) -> Any:
        if not permissions.can_handle_membership_requests(request.user):
            return ["status"]
        return []

    def has_add_permission(self, request: HttpRequest) -> bool:
        return permissions.can_request_membership(request.user)

    def has_change_permission(self, request: HttpRequest, obj: MembershipRequest | None = None) -> bool:
        return permissions.can_handle_membership_requests(request.user)

    def save_model(self, request: HttpRequest, obj: MembershipRequest, form: ModelForm, change: bool) -> None:
        if not change:
            if not permissions.can_request_membership(request.user):
                raise PermissionDenied
            obj.requested_by = request.user  # type: ignore[assignment]  # a signed-in member of staff
            if not permissions.can_handle_membership_requests(request.user):
                obj.status = MembershipRequest.Status.OPEN
        elif obj.status != MembershipRequest.Status.OPEN:
            obj.handled_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    @admin.display(description=_("member"), ordering="member__name")
    def member_name(self, obj: MembershipRequest) -> str:
        return obj.member.short_name

    @admin.display(description=_("federation"), ordering="federation__name")
    def federation_name(self, obj: MembershipRequest) -> str:
        return obj.federation.short_name

    @admin.display(description=_("joined"), ordering="joined_on")
    def joined(self, obj: MembershipRequest) -> str:
        return format_at_precision(obj.joined_on, obj.joined_precision)

    def get_list_display(self, request: HttpRequest) -> Any:
        # The last column offers what this user may do with each request.
        user = request.user

        @admin.display(description=_("fix"))
        def fix(obj: MembershipRequest) -> SafeString | str:
            if obj.membership_id is not None:
                url = reverse("admin:members_membership_change", args=[obj.membership_id])
                return format_html('<a href="{}">{}</a>', url, _("The membership added"))
            if obj.status != MembershipRequest.Status.OPEN or not permissions.can_add_membership_of(
                user, obj.federation_id
            ):
                return "—"
            params = {
                "member": obj.member_id,
                "federation": obj.federation_id,
                "category": obj.category,
                "joined_on": obj.joined_on.isoformat(),
                "joined_precision": obj.joined_precision,
            }
            url = f"{reverse('admin:members_membership_add')}?{urlencode(params)}"
            return format_html('<a href="{}">{}</a>', url, _("Add the membership"))

        return [*self.list_display, fix]

    @admin.action(description=_("Decline the selected requests"), permissions=["change"])
    def mark_declined(self, request: HttpRequest, queryset: QuerySet[MembershipRequest]) -> None:
        if not permissions.can_handle_membership_requests(request.user):
            raise PermissionDenied
        count = queryset.filter(status=MembershipRequest.Status.OPEN).update(
            status=MembershipRequest.Status.DECLINED, handled_by=request.user
        )
        self.message_user(
            request,
            ngettext("%(count)d request declined.", "%(count)d requests declined.", count) % {"count": count},
            messages.SUCCESS,
        )
