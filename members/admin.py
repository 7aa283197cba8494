"""Staff editing in the Django admin."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from members.models import (
    AdmissionRule,
    CountryRegion,
    DeclaredFigures,
    Membership,
    Organisation,
    Region,
    Sector,
    Source,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "member"
    extra = 0
    autocomplete_fields = ["federation", "source"]
    verbose_name = _("membership of a federation")
    verbose_name_plural = _("memberships of federations")


class DeclaredFiguresInline(admin.StackedInline):
    model = DeclaredFigures
    extra = 0
    autocomplete_fields = ["source"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "acronym", "kind", "country", "city"]
    list_filter = ["kind"]
    search_fields = ["name", "acronym", "city"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["sectors", "source"]
    inlines = [MembershipInline, DeclaredFiguresInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["member", "federation", "category", "joined_on", "left_on"]
    list_filter = ["category", "federation"]
    list_select_related = ["member", "federation"]
    search_fields = ["member__name", "member__acronym", "federation__name", "federation__acronym"]
    autocomplete_fields = ["member", "federation", "source"]
    date_hierarchy = "joined_on"


@admin.register(DeclaredFigures)
class DeclaredFiguresAdmin(admin.ModelAdmin):
    list_display = ["organisation", "year", "declared_on", "enterprises", "employment"]
    list_select_related = ["organisation"]
    search_fields = ["organisation__name", "organisation__acronym"]
    autocomplete_fields = ["organisation", "source"]


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
