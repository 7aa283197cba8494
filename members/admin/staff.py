"""Staff accounts: who edits which federation, and each user's roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import AbstractUser
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from members.admin.filters import FederationFilter
from members.models import FederationEditor

User = get_user_model()


@admin.register(FederationEditor)
class FederationEditorAdmin(admin.ModelAdmin):
    """Which federations each editor may edit; the editor also needs the "Federation editors" group."""

    list_display = ["user", "federation"]
    list_select_related = ["user", "federation"]
    list_filter = [FederationFilter]
    autocomplete_fields = ["user", "federation"]


class FederationEditorInline(admin.TabularInline):
    model = FederationEditor
    extra = 0
    autocomplete_fields = ["federation"]
    verbose_name_plural = _("federations this person edits (with the “Federation editors” group)")


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, FederationEditorInline]

    def get_list_display(self, request: HttpRequest) -> list[str | Callable[[Any], str | bool]]:
        return [*super().get_list_display(request), "roles"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AbstractUser]:
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def roles(self, obj: AbstractUser) -> SafeString:
        return format_html_join(", ", "{}", ((group.name,) for group in obj.groups.all())) or format_html(
            "{}", "—"
        )
