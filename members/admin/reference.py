"""Reference data staff rarely change: sources, regions and their countries, sectors, admission rules."""

from __future__ import annotations

from django.contrib import admin

from members.models import AdmissionRule, CountryRegion, Region, Sector, Source


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
