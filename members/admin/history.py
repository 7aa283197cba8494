"""Change history in the admin, with a revert held to the same rules as a change."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import router, transaction
from django.db.models import Field
from django.http import Http404, HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin


class ScopedHistoryAdmin(SimpleHistoryAdmin):
    """History and revert, with the revert held to the same rules as a change.

    django-simple-history checks only the view permission before saving a
    revert; here a POST to the revert page also needs has_revert_permission()
    on the record as it is now, and save_model() checks the reverted version.
    As Django's change view does, the revert validates and saves in one
    transaction, so a check made under a lock (members/validation.py's ban on
    cycles) still holds when the reverted version is written.
    """

    # Timestamps change on every save; the diff lists the fields staff changed.
    history_diff_excluded_fields = ["created_at", "updated_at"]

    def has_revert_permission(self, request: HttpRequest, obj: Any) -> bool:
        return self.has_change_permission(request, obj)

    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().revert_disabled(request, obj) or not self.has_revert_permission(request, obj)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        _check_id(self.model._meta.pk, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        current = self.get_object(request, object_id)
        if current is None:
            raise Http404
        _check_id(self.model.history.model._meta.pk, version_id)
        if request.method == "POST" and not self.has_revert_permission(request, current):
            raise PermissionDenied
        with transaction.atomic(using=router.db_for_write(self.model)):
            return super().history_form_view(request, object_id, version_id, extra_context)

    def set_history_delta_changes(
        self, request: HttpRequest, historical_records: Any, foreign_keys_are_objs: bool = True
    ) -> None:
        previous = None
        for current in historical_records:
            if previous is not None:
                delta = previous.diff_against(
                    current,
                    excluded_fields=self.history_diff_excluded_fields,
                    foreign_keys_are_objs=foreign_keys_are_objs,
                )
                helper = self.get_historical_record_context_helper(request, previous)
                previous.history_delta_changes = helper.context_for_delta_changes(delta)
            previous = current


def _check_id(field: Field[Any, Any] | None, value: str) -> None:
    """Answer 404 for a number in the address that the key cannot hold (`…/history/abc/`).

    django-simple-history hands the address's ids to the database as they come,
    which fails on anything but a number, a 500; the admin's own pages look the
    object up through get_object(), which answers None.
    """
    try:
        if field is not None:
            field.to_python(unquote(value))
    except ValidationError:
        raise Http404 from None
