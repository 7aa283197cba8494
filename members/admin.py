"""Staff editing in the Django admin.

Who may do what is decided in members/permissions.py; every view and action
here asks it, so the rules hold even for a hand-made request. Organisations,
memberships and declared figures keep a full change history
(django-simple-history) with a field-by-field diff and revert.
"""

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Prefetch
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin
from simple_history.utils import bulk_update_with_history

from members import cache, permissions
from members.admin_csv import CsvImportExportMixin
from members.admin_filters import (
    CappedCountPaginator,
    CategoryFilter,
    CountryFilter,
    FederationFilter,
    MemberKindFilter,
    MembershipStatusFilter,
    OrganisationCategoryFilter,
    OrganisationCountryFilter,
    OrganisationFederationFilter,
    OrganisationRegionFilter,
    OrganisationStatusFilter,
    OrganisationYearJoinedFilter,
    RegionFilter,
    YearJoinedFilter,
)
from members.dates import DatePrecision
from members.models import (
    AdmissionRule,
    CountryRegion,
    DeclaredFigures,
    FederationEditor,
    Membership,
    Organisation,
    Region,
    Sector,
    Source,
)
from members.stats import COUNTING_RULE, admission_breaches

MEMBERSHIP_RULES = _(
    "A membership runs from the day joined until the day left; on the day left the member no "
    "longer counts. Leave “left on” empty while it is current, and end a membership by entering "
    "that date rather than deleting it, so the history and the figures for past dates stay right. "
    "Two periods of the same membership cannot overlap, and no organisation can be a member of "
    "itself or of its own members. A “regional organisation” link (CECOP in CICOPA) is never "
    "counted among the parent's members."
)


class ScopedHistoryAdmin(SimpleHistoryAdmin):
    """History and revert, with the revert held to the same rules as a change.

    django-simple-history checks only the view permission before saving a
    revert; here a POST to the revert page also needs has_revert_permission()
    on the record as it is now, and save_model() checks the reverted version.
    """

    # Timestamps change on every save; the diff lists the fields staff changed.
    history_diff_excluded_fields = ["created_at", "updated_at"]

    def has_revert_permission(self, request, obj):
        return self.has_change_permission(request, obj)

    def revert_disabled(self, request, obj=None):
        return super().revert_disabled(request, obj) or not self.has_revert_permission(request, obj)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        current = self.get_object(request, object_id)
        if current is None:
            raise Http404
        if request.method == "POST" and not self.has_revert_permission(request, current):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
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


# Inlines of the organisation page


class MembershipInline(admin.TabularInline):
    """The organisation's memberships of federations, as far as the user may edit them."""

    model = Membership
    fk_name = "member"
    extra = 0
    autocomplete_fields = ["federation", "source"]
    fields = [
        "federation",
        "category",
        "joined_on",
        "joined_precision",
        "left_on",
        "left_precision",
        "source",
    ]
    verbose_name = _("membership of a federation")
    verbose_name_plural = _("memberships of federations")

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("federation", "source")
        if permissions.is_federation_editor(request.user):
            return queryset.filter(federation_id__in=permissions.editable_federation_ids(request.user))
        return queryset

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "federation" and not permissions.is_registry_administrator(request.user):
            kwargs["queryset"] = Organisation.objects.filter(
                pk__in=permissions.editable_federation_ids(request.user)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_view_permission(self, request, obj=None):
        return permissions.can_view_memberships(request.user)

    def has_add_permission(self, request, obj=None):
        return permissions.can_add_membership(request.user)

    def has_change_permission(self, request, obj=None):
        return permissions.can_edit_some_memberships(request.user, "change")

    def has_delete_permission(self, request, obj=None):
        return permissions.can_edit_some_memberships(request.user, "delete")


class OtherMembershipInline(admin.TabularInline):
    """An editor's read-only view of the organisation's memberships outside their federations."""

    model = Membership
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
    verbose_name = _("membership of another federation (read only)")
    verbose_name_plural = _("memberships of other federations (read only)")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("federation", "source")
            .exclude(federation_id__in=permissions.editable_federation_ids(request.user))
        )

    def has_view_permission(self, request, obj=None):
        return permissions.can_view_memberships(request.user)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source")

    def has_add_permission(self, request, obj=None):
        return obj is not None and permissions.can_add_declaration(request.user, obj)

    def has_change_permission(self, request, obj=None):
        return obj is not None and permissions.can_edit_declaration(request.user, organisation=obj)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and permissions.can_edit_declaration(
            request.user, organisation=obj, action="delete"
        )


# Organisations


class OrganisationChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
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


ORGANISATION_FIELDSETS = [
    (
        None,
        {
            "fields": ["name", "acronym", "slug", "kind"],
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
            "fields": ["sectors", "description", "founded", "source"],
            "description": _("Record where the facts come from: every public figure names its source."),
        },
    ),
]


@admin.register(Organisation)
class OrganisationAdmin(CsvImportExportMixin, ScopedHistoryAdmin):
    list_display = ["name", "acronym", "kind", "country_name", "federations", "membership_status"]
    list_filter = [
        OrganisationFederationFilter,
        OrganisationRegionFilter,
        OrganisationCountryFilter,
        "kind",
        OrganisationCategoryFilter,
        OrganisationStatusFilter,
        OrganisationYearJoinedFilter,
    ]
    search_fields = ["name", "acronym", "city"]
    # Through get_prepopulated_fields() only: simple-history's revert form reads the
    # attribute directly, and the slug is not a form field when the page is read-only.
    prepopulated_fields = {}
    autocomplete_fields = ["sectors", "source"]
    fieldsets = ORGANISATION_FIELDSETS
    readonly_fields = ["figures_today"]
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def get_changelist(self, request, **kwargs):
        return OrganisationChangeList

    def get_search_fields(self, request):
        # Accent-insensitive on PostgreSQL ("Credit" finds "Crédit"); SQLite has no unaccent.
        fields = super().get_search_fields(request)
        if connection.vendor == "postgresql":
            return [f"{name}__unaccent__icontains" for name in fields]
        return fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and obj.affiliations.exists():
            fieldsets = [
                *fieldsets,
                (
                    _("Figures today"),
                    {
                        "fields": ["figures_today"],
                        "description": COUNTING_RULE,
                    },
                ),
            ]
        return fieldsets

    @admin.display(description=_("computed by the register"))
    def figures_today(self, obj):
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
                ((label, intcomma(value), declared) for label, value, declared in rows),
            ),
            coverage,
            reverse("admin:members_membership_changelist") + f"?federation={obj.pk}",
            _("Its current members"),
        )

    def get_inlines(self, request, obj):
        if permissions.is_federation_editor(request.user):
            return [MembershipInline, OtherMembershipInline, DeclaredFiguresInline]
        return [MembershipInline, DeclaredFiguresInline]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not permissions.can_change_organisation_fields(request.user):
            return [field for _, options in self.get_fieldsets(request, obj) for field in options["fields"]]
        return super().get_readonly_fields(request, obj)

    def get_prepopulated_fields(self, request, obj=None):
        if obj is not None and not permissions.can_change_organisation_fields(request.user):
            return {}
        return {"slug": ["name"]}

    def has_change_permission(self, request, obj=None):
        return permissions.can_open_organisation_for_editing(request.user, obj)

    def has_revert_permission(self, request, obj):
        return permissions.can_change_organisation_fields(request.user)

    def save_model(self, request, obj, form, change):
        # An editor saves the page for its inlines; the organisation's own fields are not theirs.
        if change and not permissions.can_change_organisation_fields(request.user):
            return
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for instance in [*instances, *formset.deleted_objects]:
            _check_may_save(request.user, instance, deleting=instance in formset.deleted_objects)
        for deleted in formset.deleted_objects:
            deleted.delete()
        for instance in instances:
            instance._history_user = request.user
            instance.save()
        formset.save_m2m()

    @admin.display(description=_("country"), ordering="country")
    def country_name(self, obj):
        return obj.country.name

    @admin.display(description=_("federations today"))
    def federations(self, obj):
        today = timezone.localdate()
        current = [m.federation.short_name for m in obj.memberships.all() if _is_current(m, today)]
        return ", ".join(sorted(current))

    @admin.display(description=_("member"))
    def membership_status(self, obj):
        memberships = obj.memberships.all()
        if not memberships:
            return _("never")
        today = timezone.localdate()
        return _("current") if any(_is_current(m, today) for m in memberships) else _("former")

    def get_urls(self):
        return [
            path(
                "consistency/",
                self.admin_site.admin_view(self.consistency_view),
                name="members_organisation_consistency",
            ),
            *super().get_urls(),
        ]

    def consistency_view(self, request):
        """Admission-rule breaches (a CECOP member that is not a CICOPA member), each with its fix."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("Consistency of the register"),
            "opts": self.model._meta,
            "as_of": timezone.localdate(),
            "breaches": admission_breaches(),
            "can_add_membership": permissions.can_add_membership(request.user),
        }
        return TemplateResponse(request, "admin/members/consistency.html", context)


def _declared(declaration, field):
    value = getattr(declaration, field, None) if declaration else None
    if value is None:
        return "—"
    return _("%(value)s (declared %(day)s)") % {
        "value": intcomma(value),
        "day": date_format(declaration.declared_on),
    }


def _is_current(membership, day):
    return membership.joined_on <= day and (membership.left_on is None or membership.left_on > day)


def _check_may_save(user, instance, *, deleting=False):
    """Refuse, whatever the form showed, a membership or declaration outside the user's scope."""
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
    else:
        allowed = True
    if not allowed:
        raise PermissionDenied


# Memberships


@admin.register(Membership)
class MembershipAdmin(ScopedHistoryAdmin):
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
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 100
    fieldsets = [
        (None, {"fields": ["member", "federation", "category"], "description": MEMBERSHIP_RULES}),
        (_("Period"), {"fields": [("joined_on", "joined_precision"), ("left_on", "left_precision")]}),
        (_("Source"), {"fields": ["source", "source_note"]}),
    ]

    def get_search_fields(self, request):
        fields = super().get_search_fields(request)
        if connection.vendor == "postgresql":
            return [f"{name}__unaccent__icontains" for name in fields]
        return fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "federation" and not permissions.is_registry_administrator(request.user):
            kwargs["queryset"] = Organisation.objects.filter(
                pk__in=permissions.editable_federation_ids(request.user)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return permissions.can_add_membership(request.user)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return permissions.can_edit_some_memberships(request.user, "change")
        return permissions.can_edit_membership(request.user, obj, "change")

    def has_delete_permission(self, request, obj=None):
        if obj is None:
            return permissions.can_edit_some_memberships(request.user, "delete")
        return permissions.can_edit_membership(request.user, obj, "delete")

    actions = ["end_today"]

    @admin.action(description=_("End the selected memberships today"), permissions=["change"])
    def end_today(self, request, queryset):
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

    def save_model(self, request, obj, form, change):
        _check_may_save(request.user, obj)
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        _check_may_save(request.user, obj, deleting=True)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for membership in queryset:
            _check_may_save(request.user, membership, deleting=True)
        super().delete_queryset(request, queryset)

    @admin.display(description=_("country"), ordering="member__country")
    def member_country(self, obj):
        return obj.member.country.name

    @admin.display(description=_("joined"), ordering="joined_on")
    def joined_display(self, obj):
        return obj.joined_display

    @admin.display(description=_("left"), ordering="left_on")
    def left_display(self, obj):
        return obj.left_display or "—"


# Declared figures


@admin.register(DeclaredFigures)
class DeclaredFiguresAdmin(ScopedHistoryAdmin):
    list_display = ["organisation", "year", "declared_on", "enterprises", "employment", "source"]
    list_select_related = ["organisation", "source"]
    list_filter = ["year"]
    paginator = CappedCountPaginator
    show_full_result_count = False
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

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organisation" and not permissions.is_registry_administrator(request.user):
            kwargs["queryset"] = Organisation.objects.filter(
                pk__in=permissions.declarable_organisation_ids(request.user)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return permissions.can_add_declaration(request.user)

    def has_change_permission(self, request, obj=None):
        return permissions.can_edit_declaration(request.user, obj, "change")

    def has_delete_permission(self, request, obj=None):
        return permissions.can_edit_declaration(request.user, obj, "delete")

    def save_model(self, request, obj, form, change):
        _check_may_save(request.user, obj)
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        _check_may_save(request.user, obj, deleting=True)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for declaration in queryset:
            _check_may_save(request.user, declaration, deleting=True)
        super().delete_queryset(request, queryset)


# Reference data and staff


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["title", "publisher", "published_on"]
    search_fields = ["title", "publisher"]


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]


@admin.register(CountryRegion)
class CountryRegionAdmin(admin.ModelAdmin):
    list_display = ["country", "region"]
    list_filter = ["region"]
    list_select_related = ["region"]


@admin.register(Sector)
class SectorAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(AdmissionRule)
class AdmissionRuleAdmin(admin.ModelAdmin):
    list_display = ["federation", "region", "requires", "description"]
    list_select_related = ["federation", "region", "requires"]
    autocomplete_fields = ["federation", "requires"]


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


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, FederationEditorInline]
    list_display = [*UserAdmin.list_display, "roles"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def roles(self, obj):
        return format_html_join(", ", "{}", ((group.name,) for group in obj.groups.all())) or format_html(
            "{}", "—"
        )


admin.site.site_header = _("Register of co-operative federations")
admin.site.site_title = _("Register administration")
admin.site.index_title = _("Staff workspace")
