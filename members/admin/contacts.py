"""Contacts of member organisations: their list, the organisation's page, erasure, the export for mailing.

Contacts are staff-only personal data. Who sees and edits which is decided in
members/permissions.py (administrators all, editors those of their
federations and members, nobody else any); the list, the change page, the
inline, the history, the autocomplete, the export and the erasure all go
through its functions, so an address typed by hand gets 403 or 404.

A contact is never deleted as Django deletes: that would leave its history,
and the admin's log, naming the person. Erasure (members/contacts.py) takes
the place of the delete, behind a confirmation page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db import router, transaction
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from members import contacts, permissions
from members.admin.history import ScopedHistoryAdmin
from members.admin.mixins import (
    CappedListMixin,
    CheckedSaveMixin,
    ScopedForeignKeyMixin,
    UnaccentSearchMixin,
)
from members.csv_io import export_options
from members.csv_io.export import CONTENT_TYPE
from members.models import Contact, ContactErasure, Organisation

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldsetSpec

MAIN_TAKEN = _(
    "%(organisation)s already has a main contact. Untick “main contact” here, or first make "
    "the other contact an ordinary one."
)
TWO_MAINS = _("An organisation has one main contact: tick “main contact” for one person only.")

FIELDS: _FieldsetSpec = [
    (None, {"fields": ["organisation", "name", "role", ("email", "phone"), "language", "is_main"]}),
    (
        _("Why the register keeps it"),
        {
            "fields": ["kept_because", "bounced_on"],
            "description": _(
                "Personal data, seen only by the registry administrators and the editors of the "
                "organisation's federations; never published. Erase it when the person asks."
            ),
        },
    ),
]


class ContactForm(forms.ModelForm[Contact]):
    """A contact's form, which says plainly when its organisation has a main contact already."""

    class Meta:
        model = Contact
        fields = [
            "organisation",
            "name",
            "role",
            "email",
            "phone",
            "language",
            "is_main",
            "kept_because",
            "bounced_on",
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        organisation = data.get("organisation")
        if data.get("is_main") and isinstance(organisation, Organisation):
            # Django skips the model's check of a constraint whose field is in error: it would
            # say the same, as a message for the whole form.
            others = Contact.objects.filter(organisation=organisation, is_main=True).exclude(
                pk=self.instance.pk
            )
            if others.exists():
                self.add_error("is_main", MAIN_TAKEN % {"organisation": organisation.short_name})
        return data


class ContactInlineForm(ContactForm):
    """A row of the organisation's page: its formset checks the main contact across the rows."""

    def clean(self) -> dict[str, Any]:
        forms.ModelForm.clean(self)
        return self.cleaned_data


class ContactInlineFormSet(BaseInlineFormSet[Contact, Organisation, forms.ModelForm[Contact]]):
    """The organisation's contacts, of which one at most is the main contact once the page is saved.

    Checked here, across the rows and those the page did not send, rather
    than row by row against the database: a page that moves the main contact
    from one person to another is right, though each row alone would clash
    with the stored other. The rows are then saved in an order that never
    holds two main contacts (OrganisationAdmin.save_formset).
    """

    def clean(self) -> None:
        super().clean()
        rows = [
            form
            for form in self.forms
            if hasattr(form, "cleaned_data") and (form.instance.pk is not None or form.has_changed())
        ]
        mains = [form for form in rows if form.cleaned_data.get("is_main")]
        shown = [form.instance.pk for form in rows if form.instance.pk is not None]
        # A main contact the page did not send (a row added since it was opened) counts first.
        unseen = (
            self.instance.pk is not None
            and Contact.objects.filter(organisation=self.instance, is_main=True)
            .exclude(pk__in=shown)
            .exists()
        )
        for form in mains if unseen else mains[1:]:
            form.add_error("is_main", TWO_MAINS)


class ContactInline(admin.StackedInline[Contact, Organisation]):
    """The organisation's contacts, for those who may see them; erased one by one from their own page."""

    model = Contact
    form = ContactInlineForm
    formset = ContactInlineFormSet
    extra = 0
    show_change_link = True
    fields = ["name", "role", ("email", "phone"), "language", "is_main", "kept_because", "bounced_on"]
    verbose_name_plural = _("Contacts (staff only, never published)")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Contact]:
        return permissions.contacts_visible_to(request.user, super().get_queryset(request))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.can_view_contacts(request.user, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.can_edit_contacts(request.user, obj, "add")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.can_edit_contacts(request.user, obj, "change")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # erasure, on the contact's own page, takes the place of a delete


class BouncedFilter(admin.SimpleListFilter):
    """Whether mail to the contact last came back undelivered (a day is recorded) or not."""

    title = _("mail bounced")
    parameter_name = "bounced"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(bounced_on__isnull=False)
        if self.value() == "no":
            return queryset.filter(bounced_on__isnull=True)
        return queryset


class EraseForm(forms.Form):
    """The confirmation that the person asked to be erased."""

    requested = forms.BooleanField(
        label=_("The person asked for their data to be erased"),
        help_text=_(
            "Erasure cannot be undone: the contact and its whole history are removed. The register "
            "keeps only the record that a contact of the organisation was erased, when and by whom."
        ),
    )


@admin.register(Contact)
class ContactAdmin(
    ScopedForeignKeyMixin, CheckedSaveMixin, UnaccentSearchMixin, CappedListMixin, ScopedHistoryAdmin
):
    list_display = ["name", "organisation", "role", "email", "phone", "language", "is_main", "bounced_on"]
    list_select_related = ["organisation"]
    list_filter = ["language", "is_main", BouncedFilter]
    search_fields = ["name", "email", "organisation__name", "organisation__acronym"]
    autocomplete_fields = ["organisation"]
    form = ContactForm
    fieldsets = FIELDS
    actions = ["erase_contacts", "export_for_mailing"]
    change_form_template = "admin/members/contact/change_form.html"
    change_list_template = "admin/members/contact/change_list.html"
    list_per_page = 100
    # An editor gives contacts to their federations and members (members/permissions.py).
    scoped_foreign_keys = {"organisation": permissions.contact_organisation_ids}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Contact]:
        return permissions.contacts_visible_to(request.user, super().get_queryset(request))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return permissions.can_view_contacts(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Contact | None = None) -> bool:
        return permissions.can_view_contact(request.user, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return permissions.can_edit_contacts(request.user, action="add")

    def has_change_permission(self, request: HttpRequest, obj: Contact | None = None) -> bool:
        return permissions.can_edit_contact(request.user, obj, "change")

    def has_delete_permission(self, request: HttpRequest, obj: Contact | None = None) -> bool:
        return False  # see has_erase_permission()

    def has_erase_permission(self, request: HttpRequest, obj: Contact | None = None) -> bool:
        return permissions.can_edit_contact(request.user, obj, "delete")

    def has_export_permission(self, request: HttpRequest) -> bool:
        return permissions.can_view_contacts(request.user)

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "export-mailing/",
                self.admin_site.admin_view(self.export_view),
                name="{}_{}_export_mailing".format(*info),
            ),
            path(
                "<path:object_id>/erase/",
                self.admin_site.admin_view(self.erase_view),
                name="{}_{}_erase".format(*info),
            ),
            *super().get_urls(),
        ]

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # django-simple-history would show an out-of-scope contact's history from its last version.
        if self.get_object(request, object_id) is None:
            raise Http404
        return super().history_view(request, object_id, extra_context)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if object_id is not None:
            contact = self.get_object(request, object_id)
            if contact is None:
                # Django would send the user to the admin's home page; a contact outside the
                # user's scope is answered as one that does not exist, and the same way.
                raise Http404
            extra_context = {
                **(extra_context or {}),
                "erase_allowed": self.has_erase_permission(request, contact),
            }
        return super().changeform_view(request, object_id, form_url, extra_context)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "export_allowed": self.has_export_permission(request)}
        return super().changelist_view(request, extra_context)

    # Erasure

    def erase_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The "Erase on request" button of a contact's page: confirm, then erase."""
        contact = self.get_object(request, object_id)
        if contact is None:
            raise Http404
        if not self.has_erase_permission(request, contact):
            raise PermissionDenied
        return self._erase(request, [contact], from_list=False)

    @admin.action(description=_("Erase the selected contacts on request…"), permissions=["erase"])
    def erase_contacts(self, request: HttpRequest, queryset: QuerySet[Contact]) -> HttpResponse | None:
        """Confirm, then erase every selected contact, or none if one is not the user's to erase."""
        selected = list(queryset.select_related("organisation"))
        if not all(self.has_erase_permission(request, contact) for contact in selected):
            raise PermissionDenied
        return self._erase(request, selected, from_list=True)

    def _erase(self, request: HttpRequest, selected: list[Contact], *, from_list: bool) -> HttpResponse:
        form = EraseForm(request.POST if "erase" in request.POST else None)
        if form.is_bound and form.is_valid():
            organisations = sorted({contact.organisation.short_name for contact in selected})
            by_user = request.user if request.user.is_authenticated else None
            # All the selected or none: a failure half-way leaves every contact as it was.
            with transaction.atomic(using=router.db_for_write(Contact)):
                for contact in selected:
                    contacts.erase_contact(contact, by_user)
            # No name in the message: it may be stored (in the session) until it is shown.
            self.message_user(
                request,
                ngettext(
                    "%(count)d contact erased (%(organisations)s). Only the record of its erasure remains.",
                    "%(count)d contacts erased (%(organisations)s). Only the records of the erasures remain.",
                    len(selected),
                )
                % {"count": len(selected), "organisations": ", ".join(organisations)},
                messages.SUCCESS,
            )
            return redirect(reverse("admin:members_contact_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Erase contacts on request"),
            "opts": self.opts,
            "form": form,
            "contacts": selected,
            "from_list": from_list,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/members/contact/erase.html", context)

    # Export for mailing

    @admin.action(description=_("Export the selected contacts for mailing (CSV)"), permissions=["export"])
    def export_for_mailing(self, request: HttpRequest, queryset: QuerySet[Contact]) -> HttpResponseBase:
        return self._mailing_response(request, queryset)

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        """Every contact that the list's current filters and search select, for mailing, as CSV."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        params = request.GET.copy()
        for name in ("bom", "delimiter"):  # the export's own; the list would refuse them
            params.pop(name, None)
        options = export_options(request.GET)
        request.GET = params  # type: ignore[assignment]  # the stubs type request.GET as never replaced
        try:
            queryset = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:
            messages.error(
                request, gettext("Nothing was exported: choose the list's filters again, then export.")
            )
            return redirect(reverse("admin:members_contact_changelist"))
        return self._mailing_response(request, queryset, **options)

    def _mailing_response(
        self, request: HttpRequest, queryset: QuerySet[Contact], *, bom: bool = False, delimiter: str = ","
    ) -> StreamingHttpResponse:
        # The list's queryset is already the user's; asked again so that no other path widens it.
        visible = permissions.contacts_visible_to(request.user, queryset)
        response = StreamingHttpResponse(
            contacts.mailing_csv(visible, bom=bom, delimiter=delimiter), content_type=CONTENT_TYPE
        )
        response["Content-Disposition"] = f'attachment; filename="{contacts.mailing_filename()}"'
        response["Cache-Control"] = "private, no-store"
        return response


@admin.register(ContactErasure)
class ContactErasureAdmin(admin.ModelAdmin[ContactErasure]):
    """The contacts erased on request: when, by whom, of which organisation. Read-only, for administrators."""

    list_display = ["erased_at", "organisation", "erased_by"]
    list_select_related = ["organisation", "erased_by"]
    date_hierarchy = "erased_at"
    search_fields = ["organisation__name", "organisation__acronym"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return permissions.can_see_contact_erasures(request.user)

    def has_view_permission(self, request: HttpRequest, obj: ContactErasure | None = None) -> bool:
        return permissions.can_see_contact_erasures(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ContactErasure | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ContactErasure | None = None) -> bool:
        return False
