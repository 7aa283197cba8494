"""List filters and the paginator of the staff admin's changelists.

The organisation list and the membership list offer the same filters. On the
membership list each filter narrows the rows directly. On the organisation
list the membership filters (federation, category, current/former, year
joined) describe one and the same membership: "current members of CECOP who
joined in 2017" keeps an organisation only if a single membership of it
matches all three.

Every filter of ours takes only values it can use (CheckedListFilter): the
value comes from the address as typed, and reaches the database.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.paginator import Paginator
from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from members import permissions
from members.models import CountryRegion, Membership, MembershipQuerySet, Organisation, Region
from members.rules import YEAR_MAX, YEAR_MIN, former_memberships

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin
    from django.contrib.admin.filters import _ListFilterChoices
    from django.contrib.admin.views.main import ChangeList
    from django.utils.functional import _StrOrPromise

    # What a filter's lookups() gives: (value in the address, label) pairs.
    Lookups = Iterable[tuple[str, _StrOrPromise]]
    # What a mixin of filters is mixed into, for the type checker; object at run time.
    ListFilterBase = admin.SimpleListFilter
else:
    ListFilterBase = object


class CappedCountPaginator(Paginator):
    """A paginator that counts at most CAP rows, so a long list never pays for a full COUNT(*).

    Below the cap the count is exact. Above it the list says "more than CAP"
    and pages stop at the cap: staff narrow a list that long with search and
    filters. The count is one `SELECT COUNT(*) FROM (... LIMIT CAP + 1)`, whose
    cost is bounded whatever the table's size.
    """

    CAP = 10_000
    # The admin pages a QuerySet.
    object_list: QuerySet[Any]

    @cached_property
    def count(self) -> int:
        # Without ORDER BY the database stops at the cap instead of sorting every row first.
        counted = self.object_list.order_by()[: self.CAP + 1].count()
        self.capped = counted > self.CAP
        return min(counted, self.CAP)

    capped = False


class CheckedListFilter(admin.SimpleListFilter):
    """A list filter whose value() is only ever one its queryset can use.

    `?joined=abc`, `?federation=abc` or a year no date can hold reached the
    database and failed there, as a 500. accepts() says which values the
    filter takes, by default those its lookups offer (a filter whose lookups()
    reads value() says otherwise); any other value raises
    IncorrectLookupParameters, the admin's own answer to a parameter a list
    cannot use (see CheckedListMixin: the list without its filters, and a
    message). Each filter checks its value as the list is built, whether or
    not it reads it then: the organisation list's membership filters are all
    applied by the first of them.
    """

    parameter_name: str

    def __init__(self, request: HttpRequest, params: dict[str, Any], model: Any, model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        self.value()

    def value(self) -> str | None:
        value = super().value()
        if value not in (None, "") and not self.accepts(str(value)):
            raise IncorrectLookupParameters(f"{self.parameter_name}={str(value)[:40]!r}")
        return value

    def accepts(self, value: str) -> bool:
        return value in {str(lookup) for lookup, _title in self.lookup_choices}


class DefaultChoiceFilter(CheckedListFilter):
    """A filter that applies `default` when the address names no value, and offers "All" explicitly."""

    default = "all"

    def value(self) -> str | None:
        value = super().value()
        return self.default if value in (None, "") else value

    def choices(self, changelist: ChangeList) -> Iterator[_ListFilterChoices]:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class StatusChoices:
    ALL = "all"
    CURRENT = "current"
    FORMER = "former"
    NEVER = "never"


def _today() -> datetime.date:
    return timezone.localdate()


# Filters of the membership list (each narrows the membership rows).


class FieldFilter(CheckedListFilter):
    """Keeps the rows whose `field` is the value chosen."""

    field: str

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(**{self.field: self.value()})
        return queryset


class MembershipStatusFilter(DefaultChoiceFilter):
    """Current memberships by default: the list a federation's staff works from is who belongs today.

    "Former" are memberships that have ended; "All" shows every period.
    """

    title = _("current or former")
    parameter_name = "status"
    default = StatusChoices.CURRENT

    def lookups(self, request: HttpRequest, model_admin: ModelAdmin[Any]) -> Lookups:
        return [
            (StatusChoices.CURRENT, _("Current")),
            (StatusChoices.FORMER, _("Former")),
            (StatusChoices.ALL, _("All")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        today = _today()
        memberships = cast(MembershipQuerySet, queryset)
        if self.value() == StatusChoices.CURRENT:
            return memberships.current_on(today)
        if self.value() == StatusChoices.FORMER:
            return memberships.ended_by(today)
        return queryset


class FederationFilter(FieldFilter):
    """International and regional federations, the user's own, and the one chosen.

    Listing every organisation that has members would put thousands of
    national federations in the sidebar (and scan every membership to find
    them); any federation can still be chosen by its number, which is what
    the link on a federation's page does.
    """

    title = _("federation")
    parameter_name = "federation"
    field = "federation_id"

    def lookups(self, request: HttpRequest, model_admin: ModelAdmin[Any]) -> Lookups:
        wanted = Q(kind__in=Organisation.TOP_LEVEL_KINDS)
        if not permissions.is_registry_administrator(request.user):
            wanted |= Q(pk__in=permissions.editable_federation_ids(request.user))
        if self.value():
            wanted |= Q(pk=self.value())
        federations = Organisation.objects.filter(wanted).only("name", "acronym").order_by("name")
        return [(str(f.pk), f.short_name) for f in federations]

    def accepts(self, value: str) -> bool:
        # Any organisation's number that a 64-bit key can hold, listed or not: a federation's
        # page links to its members.
        return re.fullmatch(r"[0-9]{1,18}", value) is not None


class CategoryFilter(FieldFilter):
    title = _("category")
    parameter_name = "category"
    field = "category"

    def lookups(self, request: HttpRequest, model_admin: ModelAdmin[Any]) -> Lookups:
        return Membership.Category.choices


class YearJoinedFilter(FieldFilter):
    title = _("year joined")
    parameter_name = "joined"
    field = "joined_on__year"

    def lookups(self, request: HttpRequest, model_admin: ModelAdmin[Any]) -> Lookups:
        # The range between the first and last years joined: one MIN/MAX instead of a
        # DISTINCT over every membership (0.8 s at a million memberships).
        span = Membership.objects.aggregate(first=Min("joined_on"), last=Max("joined_on"))
        if span["first"] is None:
            return []
        years = range(span["last"].year, span["first"].year - 1, -1)
        return [(str(year), str(year)) for year in years]

    def accepts(self, value: str) -> bool:
        # Any plausible year, offered or not: a year nobody joined lists no one.
        return re.fullmatch(r"[0-9]{4}", value) is not None and YEAR_MIN <= int(value) <= YEAR_MAX


class RegionFilter(CheckedListFilter):
    """The ICA region of the organisation's (or the member's) headquarters country."""

    title = _("region")
    parameter_name = "region"
    country_field = "member__country"

    def lookups(self, request: HttpRequest, model_admin: ModelAdmin[Any]) -> Lookups:
        return [(region.slug, region.display_name) for region in Region.objects.all()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            countries_in_region = CountryRegion.objects.filter(region__slug=self.value()).values("country")
            return queryset.filter(**{f"{self.country_field}__in": countries_in_region})
        return queryset


class CountryFilter(FieldFilter):
    """Only the countries that appear in the register, by their name in the active language."""

    title = _("country")
    parameter_name = "country"
    field = "member__country"

    def lookups(self, request: HttpRequest, model_admin: ModelAdmin[Any]) -> Lookups:
        codes = (
            Organisation.objects.exclude(country="").order_by().values_list("country", flat=True).distinct()
        )
        return sorted(((code, countries.name(code)) for code in codes), key=lambda pair: pair[1])

    def accepts(self, value: str) -> bool:
        # Any country's code, in the register or not.
        return value in countries


class MemberKindFilter(FieldFilter):
    title = _("kind")
    parameter_name = "kind"
    field = "member__kind"

    def lookups(self, request: HttpRequest, model_admin: ModelAdmin[Any]) -> Lookups:
        return Organisation.Kind.choices


# Filters of the organisation list.


MEMBERSHIP_PARAMETERS = ("federation", "category", "joined", "status")


def _membership_criteria(params: Mapping[str, str | None]) -> Q:
    criteria = Q()
    if params.get("federation"):
        criteria &= Q(federation_id=params["federation"])
    if params.get("category"):
        criteria &= Q(category=params["category"])
    if params.get("joined"):
        criteria &= Q(joined_on__year=params["joined"])
    return criteria


def filter_organisations_by_membership(
    queryset: QuerySet[Organisation], params: Mapping[str, str | None]
) -> QuerySet[Organisation]:
    """Keep organisations with one membership matching every membership criterion in params."""
    matching = Membership.objects.filter(_membership_criteria(params), member=OuterRef("pk"))
    status = params.get("status") or StatusChoices.ALL
    if status == StatusChoices.CURRENT:
        return queryset.filter(Exists(matching.current_on(_today())))
    if status == StatusChoices.FORMER:
        former = former_memberships(matching, _today(), params.get("federation") or None)
        return queryset.filter(Exists(former))
    if status == StatusChoices.NEVER:
        return queryset.exclude(Exists(matching))
    return queryset.filter(Exists(matching))


class OrganisationMembershipFilterMixin(ListFilterBase):
    """Applies all membership criteria at once, in whichever of these filters comes first."""

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        params = {name: request.GET.get(name) for name in MEMBERSHIP_PARAMETERS}
        if params["status"] == StatusChoices.ALL:
            params["status"] = None
        active = [name for name in MEMBERSHIP_PARAMETERS if params[name]]
        if not active or active[0] != self.parameter_name:
            return queryset
        return filter_organisations_by_membership(queryset, params)


class OrganisationFederationFilter(OrganisationMembershipFilterMixin, FederationFilter):
    pass


class OrganisationCategoryFilter(OrganisationMembershipFilterMixin, CategoryFilter):
    title = _("membership category")


class OrganisationYearJoinedFilter(OrganisationMembershipFilterMixin, YearJoinedFilter):
    pass


class OrganisationStatusFilter(OrganisationMembershipFilterMixin, DefaultChoiceFilter):
    """Every organisation by default: staff look for federations and newcomers too.

    "Current member" keeps organisations with a membership in force today
    (of the federation, category and year chosen in the other filters, if
    any); "Former member" those with a matching membership that has ended
    and no membership today of the federation chosen (or, without one, of any
    federation), as the public directory counts them (members/rules.py);
    "Never a member" those with no matching membership at all.
    """

    title = _("current or former member")
    parameter_name = "status"
    default = StatusChoices.ALL

    def lookups(self, request: HttpRequest, model_admin: ModelAdmin[Any]) -> Lookups:
        return [
            (StatusChoices.ALL, _("All")),
            (StatusChoices.CURRENT, _("Current member")),
            (StatusChoices.FORMER, _("Former member")),
            (StatusChoices.NEVER, _("Never a member")),
        ]


class OrganisationRegionFilter(RegionFilter):
    country_field = "country"


class OrganisationCountryFilter(CountryFilter):
    field = "country"
