"""The member directory's search, filters and sorting, all carried in the URL.

Search ignores case and accents ("Credit Cooperatif" finds "Crédit Coopératif")
on both databases: the needle is folded in Python by members/rules.py's `fold`,
and compared with the organisation's stored folded name and acronym (columns
the database generates with `fold`'s database form, `Folded`), which the
directory also sorts on, through their indexes.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import django_filters
from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Case, CharField, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.expressions import OrderBy
from django.db.models.functions import ExtractYear
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from members.models import CountryRegion, Membership, MembershipQuerySet, Organisation, Region
from members.news import Period
from members.rules import FIRST_DAY, LAST_DAY, YEAR_MAX, YEAR_MIN, fold, former_memberships

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise


def _country_choices() -> list[tuple[str, str]]:
    # Called per request so the names follow the active language.
    return list(countries)


def offer_top_level_federations(filterset: django_filters.FilterSet) -> None:
    """Let the federation menu offer the top-level federations and the one chosen.

    Any federation's slug is accepted (its page links here). Listing every
    national federation made every page with the menu grow with the register
    (9,500 options at 100,000 organisations: 2 s to render).
    """
    field = filterset.form.fields["federation"]
    chosen = filterset.data.get("federation") if filterset.data else None
    menu = copy.copy(field)
    menu.queryset = field.queryset.filter(Q(kind__in=Organisation.TOP_LEVEL_KINDS) | Q(slug=chosen or ""))
    field.widget.choices = menu.choices


class DirectoryFilter(django_filters.FilterSet):
    """Which organisations the directory lists, and in which order."""

    SORTS: dict[str, list[str | OrderBy]] = {
        "name": ["name_folded", "pk"],
        "-name": ["-name_folded", "-pk"],
        "country": ["country_name", "name_folded", "pk"],
        "-country": ["-country_name", "name_folded", "pk"],
        "joined": [F("joined").asc(nulls_last=True), "name_folded", "pk"],
        "-joined": [F("joined").desc(nulls_last=True), "name_folded", "pk"],
    }

    q = django_filters.CharFilter(label=_("Name or acronym"), method="search")
    federation = django_filters.ModelChoiceFilter(
        label=_("Federation"),
        queryset=Organisation.objects.federations().order_by("name"),
        to_field_name="slug",
        empty_label=_("Any federation"),
        method="keep",
    )
    region = django_filters.ModelChoiceFilter(
        label=_("Region"),
        queryset=Region.objects.all(),
        to_field_name="slug",
        empty_label=_("Any region"),
        method="in_region",
    )
    country = django_filters.ChoiceFilter(
        label=_("Country"), choices=_country_choices, empty_label=_("Any country")
    )
    kind = django_filters.ChoiceFilter(
        label=_("Kind"), choices=Organisation.Kind.choices, empty_label=_("Any kind")
    )
    category = django_filters.ChoiceFilter(
        label=_("Category"),
        choices=[c for c in Membership.Category.choices if c[0] != Membership.Category.REGIONAL],
        empty_label=_("Any category"),
        method="keep",
    )
    joined = django_filters.NumberFilter(
        label=_("Year joined"),
        method="keep",
        min_value=YEAR_MIN,
        max_value=YEAR_MAX,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    status = django_filters.ChoiceFilter(
        label=_("Membership"),
        choices=[("current", _("Current members")), ("former", _("Former members"))],
        empty_label=_("Current and former"),
        method="keep",
    )
    # The day "current" and "former" are read on (today when empty): the federation
    # pages link here with the date their figures are for.
    as_of = django_filters.DateFilter(
        label=_("Members on"),
        method="keep",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
    )
    sort = django_filters.ChoiceFilter(
        label=_("Sort by"),
        choices=[
            ("name", _("Name (A–Z)")),
            ("-name", _("Name (Z–A)")),
            ("country", _("Country (A–Z)")),
            ("-country", _("Country (Z–A)")),
            ("joined", _("Year joined (oldest first)")),
            ("-joined", _("Year joined (newest first)")),
        ],
        empty_label=None,
        method="keep",
    )

    class Meta:
        model = Organisation
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer_top_level_federations(self)

    def search(self, queryset: QuerySet[Organisation], name: str, value: str) -> QuerySet[Organisation]:
        needle = fold(value.strip())
        if not needle:
            return queryset
        return queryset.filter(Q(name_folded__contains=needle) | Q(acronym_folded__contains=needle))

    def keep(self, queryset: QuerySet[Organisation], name: str, value: Any) -> QuerySet[Organisation]:
        # Applied together in filter_queryset: one membership must satisfy
        # federation, category, year and status at once.
        return queryset

    def in_region(self, queryset: QuerySet[Organisation], name: str, value: Region) -> QuerySet[Organisation]:
        return queryset.filter(country__in=CountryRegion.objects.filter(region=value).values("country"))

    def matching_memberships(self) -> MembershipQuerySet:
        """Return the counted memberships that satisfy the membership filters."""
        data = getattr(self.form, "cleaned_data", {})
        memberships = Membership.objects.counted()
        if data.get("federation"):
            memberships = memberships.filter(federation=data["federation"])
        if data.get("category"):
            memberships = memberships.filter(category=data["category"])
        if data.get("joined") is not None:
            # "Joined in" asks for joins: a start only attested by a source is none.
            memberships = (
                memberships.join_events()
                .annotate(joined_year=ExtractYear("joined_on"))
                .filter(joined_year=int(data["joined"]))
            )
        return memberships

    def filter_queryset(self, queryset: QuerySet[Organisation]) -> QuerySet[Organisation]:
        data = self.form.cleaned_data
        day = data.get("as_of") or timezone.localdate()
        memberships = self.matching_memberships()
        status = data.get("status")
        if status == "current":
            memberships = memberships.current_on(day)
        elif status == "former":
            memberships = former_memberships(memberships, day, data.get("federation"))
        # The year it joined: a start only attested by a source is no join, and shows as not known.
        joins = memberships.join_events().filter(member_id=OuterRef("pk"))
        queryset = queryset.annotate(joined=Subquery(joins.order_by("joined_on").values("joined_on")[:1]))
        if any(data.get(key) not in (None, "") for key in ("federation", "category", "joined", "status")):
            # A subquery rather than a join, so an organisation that matches
            # through two memberships (CICOPA and CECOP) is listed once.
            queryset = queryset.filter(pk__in=memberships.values("member_id"))
        sort = data.get("sort") or "name"
        if sort in ("country", "-country"):
            queryset = queryset.alias(country_name=_country_name_expression())
        queryset = super().filter_queryset(queryset)
        return queryset.order_by(*self.SORTS[sort])


def _country_name_expression() -> Case:
    # The country's name in the active language, so sorting follows what the
    # reader sees; folded so "Égypte" sorts with the E's.
    return Case(
        *[When(country=code, then=Value(fold(str(name)))) for code, name in countries],
        default=Value(""),
        output_field=CharField(),
    )


class IntegerFilter(django_filters.NumberFilter):
    """A whole number: django-filter's NumberFilter takes decimals ("2017.5")."""

    field_class = forms.IntegerField


class NewsForm(forms.Form):
    """The news page's filters, checked together: one kind of period at a time."""

    def clean(self) -> dict[str, Any]:
        # Every mistake at once, so the reader mends the choice in one go.
        data = super().clean() or {}
        year, half, month = data.get("year"), data.get("half"), data.get("month")
        start, end = data.get("start"), data.get("end")
        if half and month:
            self.add_error(None, _("Choose a half-year or a month, not both."))
        if (half or month) and year is None and "year" not in self.errors:
            self.add_error(None, _("Choose the year of the half-year or month."))
        if year is not None and (start or end):
            self.add_error(
                None, _("Choose a year (with its half-year or month) or a range of dates, not both.")
            )
        if start and end and start > end:
            self.add_error(None, _("The first day of the range must not come after its last day."))
        return data


def _date_filter(label: _StrOrPromise) -> django_filters.DateFilter:
    return django_filters.DateFilter(
        label=label,
        method="keep",
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)],
        error_messages={"invalid": _("Enter a date as year-month-day, for example 2017-06-21.")},
    )


class NewsFilter(django_filters.FilterSet):
    """Which joins and departures the news page lists: a federation, a kind of event, a period."""

    federation = django_filters.ModelChoiceFilter(
        label=_("Federation"),
        queryset=Organisation.objects.federations().order_by("name"),
        to_field_name="slug",
        empty_label=_("Every federation"),
        method="keep",
    )
    event = django_filters.ChoiceFilter(
        label=_("News"),
        choices=[("joined", _("Joins only")), ("left", _("Departures only"))],
        empty_label=_("Joins and departures"),
        method="keep",
    )
    year = IntegerFilter(
        label=_("Year"),
        method="keep",
        min_value=YEAR_MIN,
        max_value=YEAR_MAX,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    half = django_filters.ChoiceFilter(
        label=_("Half-year"),
        choices=[("1", _("First half (January–June)")), ("2", _("Second half (July–December)"))],
        empty_label=_("The whole year"),
        method="keep",
    )
    month = django_filters.ChoiceFilter(
        label=_("Month"),
        choices=[(str(number), name) for number, name in MONTHS.items()],
        empty_label=_("Any month"),
        method="keep",
    )
    start = _date_filter(_("From (day)"))
    end = _date_filter(_("Until (day)"))

    class Meta:
        model = Membership
        fields: list[str] = []
        form = NewsForm

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer_top_level_federations(self)

    def keep(self, queryset: QuerySet[Membership], name: str, value: Any) -> QuerySet[Membership]:
        # The page asks members/news.py for its rows; the filters only describe them.
        return queryset

    def period(self) -> Period:
        """Return the period the valid form describes (open when none was chosen)."""
        data = self.form.cleaned_data
        year = data.get("year")
        if year is not None:
            if data.get("half"):
                return Period.half(year, int(data["half"]))
            if data.get("month"):
                return Period.month(year, int(data["month"]))
            return Period.year(year)
        return Period(data.get("start"), data.get("end"))
