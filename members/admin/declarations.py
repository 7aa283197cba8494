"""Declared figures: their own list, and the rows of an organisation's page."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from members import permissions
from members.admin.history import ScopedHistoryAdmin
from members.admin.mixins import CappedListMixin, CheckedSaveMixin, ScopedForeignKeyMixin
from members.models import DeclaredFigures, Organisation


class DeclaredFiguresInline(admin.StackedInline):
    model = DeclaredFigures
    extra = 0
    autocomplete_fields = ["source"]
    fields = [
        ("year", "declared_on"),
        ("enterprises", "employment"),
        ("member_organisations", "countries"),
        "includes_members",
        "source",
        "source_note",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DeclaredFigures]:
        return super().get_queryset(request).select_related("source")

    def has_add_permission(self, request: HttpRequest, obj: Organisation | None = None) -> bool:
        return obj is not None and permissions.can_add_declaration(request.user, obj)

    def has_change_permission(self, request: HttpRequest, obj: Organisation | None = None) -> bool:
        return obj is not None and permissions.can_edit_declaration(request.user, organisation=obj)

    def has_delete_permission(self, request: HttpRequest, obj: Organisation | None = None) -> bool:
        return obj is not None and permissions.can_edit_declaration(
            request.user, organisation=obj, action="delete"
        )


@admin.register(DeclaredFigures)
class DeclaredFiguresAdmin(ScopedForeignKeyMixin, CheckedSaveMixin, CappedListMixin, ScopedHistoryAdmin):
    list_display = ["organisation", "year", "declared_on", "enterprises", "employment", "source"]
    list_select_related = ["organisation", "source"]
    list_filter = ["year"]
    search_fields = ["organisation__name", "organisation__acronym"]
    autocomplete_fields = ["organisation", "source"]
    date_hierarchy = "declared_on"
    fieldsets = [
        (None, {"fields": ["organisation", ("year", "declared_on")]}),
        (
            _("Figures"),
            {
                "fields": [
                    ("enterprises", "employment"),
                    ("member_organisations", "countries"),
                    "includes_members",
                ],
                "description": _(
                    "Enter at least one figure. A federation's declaration is shown beside the "
                    "figures the register computes; “as of” a date uses the latest declaration made "
                    "on or before it."
                ),
            },
        ),
        (_("Source"), {"fields": ["source", "source_note"]}),
    ]
    # An editor declares for their federations and the organisations that belong, now or in the past,
    # to none but their federations (members/permissions.py's declarable_organisation_ids).
    scoped_foreign_keys = {"organisation": permissions.declarable_organisation_ids}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return permissions.can_add_declaration(request.user)

    def has_change_permission(self, request: HttpRequest, obj: DeclaredFigures | None = None) -> bool:
        return permissions.can_edit_declaration(request.user, obj, "change")

    def has_delete_permission(self, request: HttpRequest, obj: DeclaredFigures | None = None) -> bool:
        return permissions.can_edit_declaration(request.user, obj, "delete")
