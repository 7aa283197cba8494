"""Organisations: the list, the page with its memberships and figures, and the consistency check."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from members import cache, permissions, rules
from members.admin.admission import close_requests_met, fix_for, warn_of_breaches
from members.admin.contacts import ContactInline
from members.admin.csv import CsvImportExportMixin
from members.admin.declarations import DeclaredFiguresInline
from members.admin.filters import (
    OrganisationCategoryFilter,
    OrganisationCountryFilter,
    OrganisationFederationFilter,
    OrganisationJoinedPeriodFilter,
    OrganisationLeftPeriodFilter,
    OrganisationRegionFilter,
    OrganisationStatusFilter,
    OrganisationYearJoinedFilter,
    OrganisationYearLeftFilter,
)
from members.admin.history import ScopedHistoryAdmin
from members.admin.memberships import MembershipInline, OtherMembershipInline
from members.admin.mixins import CappedListMixin, ScopedAutocompleteMixin, UnaccentSearchMixin, check_may_save
from members.dates import date_format
from members.models import Contact, DeclaredFigures, Membership, Organisation
from members.stats import COUNTING_RULE, admission_breaches

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldOpts, _FieldsetSpec


class OrganisationChangeList(ChangeList):
    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Organisation]:
        # The list shows each organisation's federations and whether it is a member today:
        # one prefetch query for the whole page instead of one per row.
        return (
            super()
            .get_queryset(request, exclude_parameters)
            .prefetch_related(
                Prefetch(
                    "memberships",
                    queryset=Membership.objects.select_related("federation").order_by("joined_on"),
                )
            )
        )


@admin.register(Organisation)
class OrganisationAdmin(
    CsvImportExportMixin, ScopedAutocompleteMixin, UnaccentSearchMixin, CappedListMixin, ScopedHistoryAdmin
):
    list_display = ["name", "acronym", "kind", "country_name", "federations", "membership_status"]
    list_filter = [
        OrganisationFederationFilter,
        OrganisationRegionFilter,
        OrganisationCountryFilter,
        "kind",
        OrganisationCategoryFilter,
        OrganisationStatusFilter,
        OrganisationYearJoinedFilter,
        OrganisationJoinedPeriodFilter,
        OrganisationYearLeftFilter,
        OrganisationLeftPeriodFilter,
    ]
    search_fields = ["name", "acronym", "city"]
    # Through get_prepopulated_fields() only: simple-history's revert form reads the
    # attribute directly, and the slug is not a form field when the page is read-only.
    prepopulated_fields: ClassVar[dict[str, Sequence[str]]] = {}
    autocomplete_fields = ["sectors", "source"]
    fieldsets = [
        (
            None,
            {
                "fields": ["name", "name_language", "acronym", "slug", "kind"],
                "description": _(
                    "A federation is simply an organisation that has members: give it members on the "
                    "members' own pages, under “Memberships of federations”."
                ),
            },
        ),
        (
            _("Where"),
            {
                "fields": [
                    "country",
                    "subdivision",
                    "city",
                    "address",
                    "countries_of_operation",
                    "unnamed_countries_of_operation",
                ],
                "description": _(
                    "The country is where the headquarters are, and the one counted in the statistics; "
                    "countries of operation are shown on the organisation's page but never counted."
                ),
            },
        ),
        (
            _("Contact"),
            {
                "fields": ["website", "email", "phone", "fax"],
                "description": _(
                    "Everything here is public. The e-mail address is shown in a form that address "
                    "harvesters cannot read."
                ),
            },
        ),
        (
            _("About"),
            {
                "fields": ["sectors", "description", "description_language", "founded", "source"],
                "description": _("Record where the facts come from: every public figure names its source."),
            },
        ),
    ]
    readonly_fields = ["figures_today"]
    list_per_page = 50

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return OrganisationChangeList

    def get_fieldsets(self, request: HttpRequest, obj: Organisation | None = None) -> _FieldsetSpec:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and obj.affiliations.exists():
            options: _FieldOpts = {"fields": ["figures_today"], "description": COUNTING_RULE}
            figures = (_("Figures today"), options)
            fieldsets = [*fieldsets, figures]
        return fieldsets

    @admin.display(description=_("computed by the register"))
    def figures_today(self, obj: Organisation) -> SafeString:
        # Cached until the register changes: a large network takes seconds to compute.
        figures = cache.federation_figures(obj)
        rows = [
            (_("Members"), figures.members, _declared(figures.declaration, "member_organisations")),
            (_("Countries"), figures.countries, _declared(figures.declaration, "countries")),
            (_("Enterprises"), figures.enterprises, _declared(figures.declaration, "enterprises")),
            (_("People employed"), figures.employment, _declared(figures.declaration, "employment")),
        ]
        coverage = (
            _("%(covered)s of %(members)s members declared figures.")
            % {"covered": figures.covered_members, "members": figures.members}
            if figures.members
            else ""
        )
        return format_html(
            '<table><thead><tr><th scope="col"></th><th scope="col">{}</th><th scope="col">{}</th>'
            '</tr></thead><tbody>{}</tbody></table><p>{}</p><p><a href="{}">{}</a></p>',
            _("Computed on %(day)s") % {"day": date_format(figures.as_of)},
            _("Declared"),
            format_html_join(
                "",
                '<tr><th scope="row">{}</th><td>{}</td><td>{}</td></tr>',
                (
                    (label, _("not declared by any member") if value is None else intcomma(value), declared)
                    for label, value, declared in rows
                ),
            ),
            coverage,
            reverse("admin:members_membership_changelist") + f"?federation={obj.pk}",
            _("Its current members"),
        )

    def get_inlines(self, request: HttpRequest, obj: Organisation | None) -> list[type[Any]]:
        if permissions.is_federation_editor(request.user):
            inlines: list[type[Any]] = [MembershipInline, OtherMembershipInline, DeclaredFiguresInline]
        else:
            inlines = [MembershipInline, DeclaredFiguresInline]
        # Staff-only personal data: only for those who may see this organisation's contacts.
        if permissions.can_view_contacts(request.user, obj):
            inlines.append(ContactInline)
        return inlines

    def get_readonly_fields(self, request: HttpRequest, obj: Organisation | None = None) -> Any:
        if obj is not None and not permissions.can_change_organisation_fields(request.user):
            return [field for _, options in self.get_fieldsets(request, obj) for field in options["fields"]]
        return super().get_readonly_fields(request, obj)

    def get_prepopulated_fields(
        self, request: HttpRequest, obj: Organisation | None = None
    ) -> dict[str, Sequence[str]]:
        if obj is not None and not permissions.can_change_organisation_fields(request.user):
            return {}
        return {"slug": ["name"]}

    def has_change_permission(self, request: HttpRequest, obj: Organisation | None = None) -> bool:
        return permissions.can_open_organisation_for_editing(request.user, obj)

    def has_revert_permission(self, request: HttpRequest, obj: Any) -> bool:
        return permissions.can_change_organisation_fields(request.user)

    def save_model(self, request: HttpRequest, obj: Organisation, form: ModelForm, change: bool) -> None:
        # An editor saves the page for its inlines; the organisation's own fields are not theirs.
        if change and not permissions.can_change_organisation_fields(request.user):
            return
        super().save_model(request, obj, form, change)

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        instances = formset.save(commit=False)
        for instance in [*instances, *formset.deleted_objects]:
            check_may_save(request.user, instance, deleting=instance in formset.deleted_objects)
        for deleted in formset.deleted_objects:
            deleted.delete()
        # A contact that stops being the main one is saved before the one that becomes it.
        instances.sort(key=lambda instance: isinstance(instance, Contact) and instance.is_main)
        for instance in instances:
            instance._history_user = request.user
            instance.save()
        formset.save_m2m()
        saved = [instance for instance in instances if isinstance(instance, Membership)]
        close_requests_met(request, saved)
        warn_of_breaches(request, saved)

    @admin.display(description=_("country"), ordering="country")
    def country_name(self, obj: Organisation) -> str:
        return obj.country.name

    @admin.display(description=_("federations today"))
    def federations(self, obj: Organisation) -> str:
        # A regional organisation's link is no membership (members/stats.py): it is named apart.
        today = timezone.localdate()
        current = [m for m in obj.memberships.all() if rules.is_current(m.joined_on, m.left_on, today)]
        regional = Membership.Category.REGIONAL
        members = sorted(m.federation.short_name for m in current if m.category != regional)
        links = sorted(
            gettext("regional organisation of %(federation)s") % {"federation": m.federation.short_name}
            for m in current
            if m.category == regional
        )
        return ", ".join([*members, *links])

    @admin.display(description=_("member"))
    def membership_status(self, obj: Organisation) -> str | Promise:
        memberships = [m for m in obj.memberships.all() if m.category != Membership.Category.REGIONAL]
        if not memberships:
            return _("never")
        today = timezone.localdate()
        if any(rules.is_current(m.joined_on, m.left_on, today) for m in memberships):
            return _("current")
        if any(rules.has_ended(m.left_on, today) for m in memberships):
            return _("former")
        return _("not yet")  # every membership starts later

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "consistency/",
                self.admin_site.admin_view(self.consistency_view),
                name="members_organisation_consistency",
            ),
            *super().get_urls(),
        ]

    def consistency_view(self, request: HttpRequest) -> TemplateResponse:
        """Admission-rule breaches on a chosen day (a CECOP member not in CICOPA), each with its fix."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ChecksForm(request.GET or None)
        as_of = form.cleaned_data.get("as_of") if form.is_valid() else None
        as_of = as_of or timezone.localdate()
        breaches = admission_breaches(as_of) if form.is_valid() or not form.is_bound else []
        context = {
            **self.admin_site.each_context(request),
            "title": _("Consistency of the register"),
            "opts": self.model._meta,
            "form": form,
            "as_of": as_of,
            "refused": form.is_bound and not form.is_valid(),
            "rows": [(breach, fix_for(request.user, breach)) for breach in breaches],
        }
        return TemplateResponse(request, "admin/members/consistency.html", context)


class ChecksForm(forms.Form):
    """The day the Checks page looks at (today when none is given)."""

    as_of = forms.DateField(
        label=_("On"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("The breaches of that day; today when empty."),
    )

    def clean_as_of(self) -> datetime.date | None:
        day: datetime.date | None = self.cleaned_data["as_of"]
        if day is not None and not rules.FIRST_DAY <= day <= rules.LAST_DAY:
            raise forms.ValidationError(rules.YEAR_RANGE_MESSAGE)
        return day


def _declared(declaration: DeclaredFigures | None, field: str) -> str:
    value = getattr(declaration, field, None) if declaration else None
    if value is None or declaration is None:
        return "—"
    return _("%(value)s (declared %(day)s)") % {
        "value": intcomma(value),
        "day": date_format(declaration.declared_on),
    }
