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
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

from django import forms
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
from members.rules import (
    FIRST_DAY,
    LAST_DAY,
    YEAR_MAX,
    YEAR_MIN,
    YEAR_RANGE_MESSAGE,
    departed_q,
    former_memberships,
    join_event_q,
)

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


REGIONAL_LINKS = _("Regional links (not members)")


def category_q(category: str | None) -> Q:
    """Return the memberships of the category chosen, or, with none, those that make a member."""
    if category:
        return Q(category=category)
    return ~Q(category=Membership.Category.REGIONAL)


def _spans(request: HttpRequest) -> dict[str, datetime.date | None]:
    """The first and last days joined and left in the register, once per request for every filter.

    One MIN/MAX query instead of a DISTINCT over every membership; the years
    and half-years the filters offer lie between them.
    """
    spans: dict[str, datetime.date | None] | None = getattr(request, "_members_date_spans", None)
    if spans is None:
        spans = Membership.objects.aggregate(
            first_joined=Min("joined_on"),
            last_joined=Max("joined_on"),
            first_left=Min("left_on"),
            last_left=Max("left_on"),
        )
        setattr(request, "_members_date_spans", spans)  # noqa: B010  # HttpRequest declares no such attribute
    return spans


def _years(first: datetime.date | None, last: datetime.date | None) -> list[int]:
    if first is None or last is None:
        return []
    return list(range(last.year, first.year - 1, -1))


def _plausible_year(value: str) -> bool:
    return re.fullmatch(r"[0-9]{4}", value) is not None and YEAR_MIN <= int(value) <= YEAR_MAX


def year_period(year: str) -> tuple[datetime.date, datetime.date]:
    """Return the first and last days of a year given as the address gives it (already checked)."""
    return datetime.date(int(year), 1, 1), datetime.date(int(year), 12, 31)


class PeriodForm(forms.Form):
    """A period as staff choose it: from one day to another, or a half-year ("2017-1"), or both."""

    start = forms.DateField(label=_("from"), required=False)
    end = forms.DateField(label=_("to"), required=False)
    half = forms.RegexField(label=_("half-year"), regex=r"^[0-9]{4}-[12]$", required=False)

    def clean_half(self) -> str:
        half: str = self.cleaned_data["half"]
        if half and not _plausible_year(half[:4]):
            raise forms.ValidationError(YEAR_RANGE_MESSAGE)
        return half

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("start"), data.get("end")
        if data.get("half"):
            # The half-year narrows whatever days are also given.
            year, second = int(data["half"][:4]), data["half"].endswith("2")
            half_start = datetime.date(year, 7 if second else 1, 1)
            half_end = datetime.date(year, 12, 31) if second else datetime.date(year, 6, 30)
            first = max(first, half_start) if first else half_start
            last = min(last, half_end) if last else half_end
        for day in (first, last):
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                raise forms.ValidationError(YEAR_RANGE_MESSAGE)
        if first and last and first > last:
            raise forms.ValidationError(_("The period must end on or after the day it starts."))
        data["period"] = (first, last)
        return data


Period = tuple[datetime.date | None, datetime.date | None]


def period_of(params: Mapping[str, str | None], prefix: str) -> Period:
    """Return the (first, last) days of the period named by `<prefix>_from`, `_to` and `_half`.

    Either end may be open (None). Raises ValueError naming the parameter
    when a value is not a day, a half-year, or an order a period can have.
    """
    data = {name: params.get(f"{prefix}_{name}") or "" for name in ("from", "to", "half")}
    form = PeriodForm({"start": data["from"], "end": data["to"], "half": data["half"]})
    if not form.is_valid():
        raise ValueError(f"{prefix}={data!r}"[:80])
    period: Period = form.cleaned_data["period"]
    return period


def between_q(field: str, first: datetime.date | None, last: datetime.date | None) -> Q:
    """Return the condition "`field` falls between the days" (either may be open)."""
    condition = Q()
    if first is not None:
        condition &= Q(**{f"{field}__gte": first})
    if last is not None:
        condition &= Q(**{f"{field}__lte": last})
    return condition


def joined_q(first: datetime.date | None, last: datetime.date | None) -> Q:
    """Return the memberships that joined between the days: a start only attested by a source is no join."""
    return between_q("joined_on", first, last) & join_event_q()


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

    def value(self) -> str | None:
        # Asked for those who left (a year or period of leaving), the list shows them all,
        # unless the address says otherwise: none of them is current today.
        if super(DefaultChoiceFilter, self).value() in (None, "") and any(
            self.request.GET.get(name) for name in LEFT_PARAMETERS
        ):
            return StatusChoices.ALL
        return super().value()

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


class CategoryFilter(CheckedListFilter):
    """Members of any category by default; a regional organisation's link only when asked for.

    A regional link (CECOP in CICOPA) is never counted among the parent's
    members (members/stats.py), so a list of a federation's members leaves it
    out unless "Regional links" is chosen: the lists count what the
    statistics count.
    """

    title = _("category")
    parameter_name = "category"

    def lookups(self, request: HttpRequest, model_admin: ModelAdmin[Any]) -> Lookups:
        return [
            (value, REGIONAL_LINKS if value == Membership.Category.REGIONAL else label)
            for value, label in Membership.Category.choices
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(category_q(self.value()))

    def choices(self, changelist: ChangeList) -> Iterator[_ListFilterChoices]:
        choices = iter(super().choices(changelist))
        # Django's "All" is every member here, and no regional link.
        yield {**next(choices), "display": _("Members (any category)")}
        yield from choices


class YearJoinedFilter(CheckedListFilter):
    """The year a membership began with a join (a start only attested by a source is none)."""

    title = _("year joined")
    parameter_name = "joined"

    def lookups(self, request: HttpRequest, model_admin: ModelAdmin[Any]) -> Lookups:
        spans = _spans(request)
        return [(str(year), str(year)) for year in _years(spans["first_joined"], spans["last_joined"])]

    def accepts(self, value: str) -> bool:
        # Any plausible year, offered or not: a year nobody joined lists no one.
        return _plausible_year(value)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(joined_q(*year_period(str(self.value()))))
        return queryset


class YearLeftFilter(CheckedListFilter):
    """The year a membership ended."""

    title = _("year left")
    parameter_name = "left"

    def lookups(self, request: HttpRequest, model_admin: ModelAdmin[Any]) -> Lookups:
        spans = _spans(request)
        return [(str(year), str(year)) for year in _years(spans["first_left"], spans["last_left"])]

    def accepts(self, value: str) -> bool:
        return _plausible_year(value)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(departed_q(*year_period(str(self.value()))))
        return queryset


class PeriodFilter(admin.ListFilter):
    """Memberships that joined (or left) between two days, or in a half-year, chosen in a small form.

    Three parameters, `<prefix>_from`, `<prefix>_to` (ISO days, as a date
    input sends them) and `<prefix>_half` ("2017-1" for the first half of
    2017). They are checked by PeriodForm as the list is built; a value it
    refuses raises IncorrectLookupParameters, like every filter of ours
    (CheckedListFilter). The form is sent by GET with the list's other
    parameters, so it works without JavaScript.
    """

    template = "admin/members/filters/period.html"
    prefix: str
    # The rule that selects the memberships of a period (members/rules.py or this module's joined_q).
    between: Callable[[datetime.date | None, datetime.date | None], Q]

    def __init__(self, request: HttpRequest, params: dict[str, Any], model: Any, model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        for name in self.expected_parameters():
            if name in params:
                self.used_parameters[name] = params.pop(name)[-1]
        try:
            self.period = period_of({k: str(v) for k, v in self.used_parameters.items()}, self.prefix)
        except ValueError as error:
            raise IncorrectLookupParameters(str(error)) from error
        self.halves = self._halves(request)

    def _halves(self, request: HttpRequest) -> list[tuple[str, str]]:
        spans = _spans(request)
        years = _years(spans[f"first_{self.prefix}"], spans[f"last_{self.prefix}"])
        labels = (_("first half of %(year)s"), _("second half of %(year)s"))
        # Newest first, as the years are.
        return [
            (f"{year}-{half}", str(labels[half - 1] % {"year": year})) for year in years for half in (2, 1)
        ]

    def expected_parameters(self) -> list[str]:  # type: ignore[override]  # never None here
        return [f"{self.prefix}_from", f"{self.prefix}_to", f"{self.prefix}_half"]

    def has_output(self) -> bool:
        return True

    def is_active(self) -> bool:
        return self.period != (None, None)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(type(self).between(*self.period)) if self.is_active() else queryset

    def choices(self, changelist: ChangeList) -> Iterator[dict[str, Any]]:  # type: ignore[override]
        # One "choice": what the template needs to draw the form and its "Any time" link.
        mine = self.expected_parameters()
        hidden = [(name, value) for name, value in changelist.params.items() if name not in mine]
        yield {
            "selected": not self.is_active(),
            "clear": changelist.get_query_string(remove=mine),
            "hidden": hidden,
            "prefix": self.prefix,
            "start": self.used_parameters.get(f"{self.prefix}_from", ""),
            "end": self.used_parameters.get(f"{self.prefix}_to", ""),
            "half": self.used_parameters.get(f"{self.prefix}_half", ""),
            "halves": self.halves,
        }


class JoinedPeriodFilter(PeriodFilter):
    title = _("joined in a period")
    prefix = "joined"
    between = staticmethod(joined_q)


class LeftPeriodFilter(PeriodFilter):
    title = _("left in a period")
    prefix = "left"
    between = staticmethod(departed_q)


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


LEFT_PARAMETERS = ("left", "left_from", "left_to", "left_half")
# Every parameter of the organisation list that describes a membership, in the order of its filters.
MEMBERSHIP_PARAMETERS = (
    "federation",
    "category",
    "status",
    "joined",
    "joined_from",
    "joined_to",
    "joined_half",
    *LEFT_PARAMETERS,
)


def _membership_criteria(params: Mapping[str, str | None]) -> Q:
    # The values were checked by their filters as the list was built.
    criteria = category_q(params.get("category"))
    if params.get("federation"):
        criteria &= Q(federation_id=params["federation"])
    if params.get("joined"):
        criteria &= joined_q(*year_period(str(params["joined"])))
    if params.get("left"):
        criteria &= departed_q(*year_period(str(params["left"])))
    joined, left = period_of(params, "joined"), period_of(params, "left")
    if joined != (None, None):
        criteria &= joined_q(*joined)
    if left != (None, None):
        criteria &= departed_q(*left)
    return criteria


def matching_memberships(params: Mapping[str, str | None]) -> MembershipQuerySet | None:
    """Return the memberships the organisation list's membership criteria describe, or None.

    None when no criterion is set, or when the list asks for organisations that
    were never a member (which no membership describes). A regional
    organisation's link (CECOP in CICOPA) matches only when the category
    "regional" is asked for: it makes no member (members/stats.py).
    """
    if not any(params.get(name) for name in MEMBERSHIP_PARAMETERS):
        return None
    status = params.get("status") or StatusChoices.ALL
    if status == StatusChoices.NEVER:
        return None
    matching = Membership.objects.filter(_membership_criteria(params))
    if status == StatusChoices.CURRENT:
        return matching.current_on(_today())
    if status == StatusChoices.FORMER:
        return former_memberships(matching, _today(), params.get("federation") or None)
    return matching


def filter_organisations_by_membership(
    queryset: QuerySet[Organisation], params: Mapping[str, str | None]
) -> QuerySet[Organisation]:
    """Keep organisations with one membership matching every membership criterion in params."""
    if (params.get("status") or StatusChoices.ALL) == StatusChoices.NEVER:
        never = Membership.objects.filter(_membership_criteria(params), member=OuterRef("pk"))
        return queryset.exclude(Exists(never))
    matching = matching_memberships(params)
    if matching is None:
        return queryset
    return queryset.filter(Exists(matching.filter(member=OuterRef("pk"))))


def membership_parameters(request: HttpRequest) -> dict[str, str | None]:
    """The organisation list's membership criteria as its address gives them ("All" status as none)."""
    params = {name: request.GET.get(name) for name in MEMBERSHIP_PARAMETERS}
    if params["status"] == StatusChoices.ALL:
        params["status"] = None
    return params


class OrganisationMembershipFilterMixin(ListFilterBase):
    """Applies all membership criteria at once, in whichever of these filters comes first."""

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        params = membership_parameters(request)
        active = [name for name in MEMBERSHIP_PARAMETERS if params[name]]
        if not active or active[0] not in self.expected_parameters():
            return queryset
        return filter_organisations_by_membership(queryset, params)


class OrganisationFederationFilter(OrganisationMembershipFilterMixin, FederationFilter):
    pass


class OrganisationCategoryFilter(OrganisationMembershipFilterMixin, CategoryFilter):
    title = _("membership category")


class OrganisationYearJoinedFilter(OrganisationMembershipFilterMixin, YearJoinedFilter):
    pass


class OrganisationJoinedPeriodFilter(OrganisationMembershipFilterMixin, JoinedPeriodFilter):
    pass


class OrganisationYearLeftFilter(OrganisationMembershipFilterMixin, YearLeftFilter):
    pass


class OrganisationLeftPeriodFilter(OrganisationMembershipFilterMixin, LeftPeriodFilter):
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
