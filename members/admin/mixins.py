"""What several ModelAdmins of the register share: the federation scope, search, saving, long lists.

Each mixin goes before the ModelAdmin class it extends
(`class MembershipAdmin(ScopedForeignKeyMixin, ..., ScopedHistoryAdmin)`).
The permission checks themselves are members/permissions.py's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from django.apps import apps
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import connections, router
from django.db.models import ForeignKey, Model, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest
from django.utils.translation import gettext as _

from members import permissions
from members.admin.filters import CappedCountPaginator
from members.models import Contact, DeclaredFigures, Membership, Organisation

if TYPE_CHECKING:
    from django.contrib.admin.options import BaseModelAdmin, ModelAdmin

    # What a mixin is mixed into, for the type checker to know its super(); object at run time.
    AnyAdminBase = BaseModelAdmin[Any]
    ModelAdminBase = ModelAdmin[Any]
else:
    AnyAdminBase = ModelAdminBase = object


def check_may_save(
    user: AbstractBaseUser | AnonymousUser, instance: Model, *, deleting: bool = False
) -> None:
    """Refuse, whatever the form showed, a membership, declaration or contact outside the user's scope.

    A contact is never deleted this way: its erasure (members/contacts.py) takes the place of a delete.
    """
    if isinstance(instance, Membership):
        allowed = (
            permissions.can_edit_membership(user, instance, "delete")
            if deleting
            else permissions.can_save_membership(user, instance)
        )
    elif isinstance(instance, DeclaredFigures):
        allowed = (
            permissions.can_edit_declaration(user, instance, "delete")
            if deleting
            else permissions.can_save_declaration(user, instance)
        )
    elif isinstance(instance, Contact):
        allowed = not deleting and permissions.can_save_contact(user, instance)
    else:
        allowed = True
    if not allowed:
        raise PermissionDenied


class ScopedForeignKeyMixin(AnyAdminBase):
    """Offers anyone but an administrator only the organisations of their scope in these menus.

    `scoped_foreign_keys` maps a foreign key to Organisation to the function of
    members/permissions.py that gives the ids the user may choose there. The
    menu's queryset is also what the form validates against; check_may_save()
    checks again on saving.
    """

    scoped_foreign_keys: ClassVar[dict[str, Callable[[Any], frozenset[int]]]] = {
        "federation": permissions.editable_federation_ids,
    }

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        scope = self.scoped_foreign_keys.get(db_field.name)
        if scope is not None and not permissions.is_registry_administrator(request.user):
            kwargs["queryset"] = Organisation.objects.filter(pk__in=scope(request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ScopedAutocompleteMixin(ModelAdminBase):
    """Offers in an autocomplete only what the field's form would accept from the user.

    The admin's autocomplete asks the *target* ModelAdmin (organisations) for
    the choices of a field of another model (a membership's federation); left
    alone it offers every organisation, and the form then refuses the choice
    the editor made. Here the source ModelAdmin's `scoped_foreign_keys` (see
    ScopedForeignKeyMixin), which scope that field's menu and validation,
    scope the autocomplete too: one list of what each user may choose. The
    inlines on an organisation's page ask for the same model and field, so
    they get the same answer.
    """

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        scope = self._autocomplete_scope(request)
        if scope is not None:
            queryset = queryset.filter(pk__in=scope(request.user))
        return queryset, may_have_duplicates

    def _autocomplete_scope(self, request: HttpRequest) -> Callable[[Any], frozenset[int]] | None:
        match = request.resolver_match
        if match is None or match.url_name != "autocomplete":
            return None
        if permissions.is_registry_administrator(request.user):
            return None
        # The autocomplete view has already checked these names (PermissionDenied otherwise).
        try:
            source = apps.get_model(request.GET["app_label"], request.GET["model_name"])
        except (KeyError, LookupError):
            return None
        source_admin = self.admin_site._registry.get(source)
        scopes = getattr(source_admin, "scoped_foreign_keys", {})
        scope: Callable[[Any], frozenset[int]] | None = scopes.get(request.GET.get("field_name", ""))
        return scope


class UnaccentSearchMixin(ModelAdminBase):
    """Search accent-insensitive on PostgreSQL ("Credit" finds "Crédit"); SQLite has no unaccent."""

    def get_search_fields(self, request: HttpRequest) -> list[str] | tuple[str, ...]:
        fields = super().get_search_fields(request)
        if connections[router.db_for_read(self.model)].vendor == "postgresql":
            return [f"{name}__unaccent__icontains" for name in fields]
        return fields


class CheckedSaveMixin(ModelAdminBase):
    """Saves and deletes only what check_may_save() allows the user, one record or a selection."""

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        check_may_save(request.user, obj)
        super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        check_may_save(request.user, obj, deleting=True)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for instance in queryset:
            check_may_save(request.user, instance, deleting=True)
        super().delete_queryset(request, queryset)


class CappedListMixin(ModelAdminBase):
    """A changelist that counts at most CappedCountPaginator.CAP rows, never a full COUNT(*)."""

    paginator = CappedCountPaginator
    # The "(N total)" link would count the whole table.
    show_full_result_count = False


class CheckedListMixin(ModelAdminBase):
    """A list that cannot use a parameter of its address is shown without its filters, and says so.

    Django answers a parameter a list cannot use (IncorrectLookupParameters: a
    field it does not know, a value a filter refuses) by sending staff to the
    bare list (`?e=1`) without a word; this adds the message. Django 5.2 lets
    some values escape as errors instead, a 500: a date hierarchy's year past
    9998 or beyond a C integer (`?declared_on__year=99999999999999999999`,
    Django ticket #37357). A ValueError or OverflowError
    while the list reads its address gets the same answer. Every ModelAdmin
    of the site has this mixin, Django's and django-axes' too (members.admin).
    """

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        try:
            try:
                return super().get_changelist_instance(request)
            except (ValueError, OverflowError) as exc:
                raise IncorrectLookupParameters(exc) from exc
        except IncorrectLookupParameters:
            messages.warning(
                request,
                _("The list could not be filtered as its address asked, so it is shown without filters."),
            )
            raise


class CheckedInitialMixin(ModelAdminBase):
    """An add form pre-filled from its address takes only the related records' ids a key can hold.

    The admission rules' fixes open add forms pre-filled from the address
    (`?member=12&federation=3&joined_on=…`). Django renders a related
    field's initial value by looking the record up, and a value no key can
    hold (`?member=99999999999999999999`, `?member=²`) reached the database
    there and failed, as a 500. Such a value is dropped: the form opens with
    that field empty. Other fields show what the address gave and are checked
    when the form is sent. Every ModelAdmin of the site has this mixin
    (members.admin).
    """

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        for name, value in list(initial.items()):
            try:
                field = self.opts.get_field(name)
            except FieldDoesNotExist:
                continue
            values = value if isinstance(value, list) else [value]
            if field.is_relation and not all(re.fullmatch(r"[0-9]{1,18}", str(v)) for v in values):
                del initial[name]
        return initial
