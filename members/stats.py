"""A federation's figures as of any date, without double counting, with their sources.

As of a day D, a membership is current when it started on or before D and had
not ended by D (members/rules.py): a member counts on the day it joins and no
longer on the day it leaves. A date known only to
the month, half-year or year is stored as the first day of that period
(members/dates.py), so it counts from that first day: "joined in May 2017"
counts from 1 May 2017. A declaration counts from the day it was declared.

How totals are computed is COUNTING_RULE; the pages show the same words.
Each public function runs a fixed number of queries whatever the size and
depth of the network: the network is one recursive CTE (members/network.py)
and every total an SQL aggregate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django_countries.fields import Country

from members.models import (
    AdmissionRule,
    CountryRegion,
    DeclaredFigures,
    Membership,
    MembershipQuerySet,
    Organisation,
    Region,
    Source,
)
from members.network import figures_sql, nearest_sql, reading_connection
from members.rules import is_current

COUNTING_RULE = _(
    "Members are the organisations directly affiliated on the date, in any category but “regional "
    "organisation”, and countries are their headquarters’ countries. Enterprises and employment add up "
    "the latest figures declared on or before the date by the organisations of the federation’s network, "
    "each counted once however many paths lead to it, and not at all when a federation of the network "
    "already includes it in its own declaration."
)

AS_OF_RULE = _(
    "A member counts from the day it joins and no longer on the day it leaves; a date known only to "
    "the month, half-year or year counts from the first day of that period."
)

MILLION = 1_000_000


@dataclass(frozen=True)
class FederationFigures:
    """What the register computes for a federation on a day, beside its own latest declaration."""

    federation: Organisation
    as_of: date
    members: int
    members_by_category: dict[str, int]
    countries: int
    country_codes: list[str]
    enterprises: int
    employment: int
    covered_members: int
    declaration: DeclaredFigures | None

    @property
    def coverage(self) -> float | None:
        """Return the share of members that declared enterprises or employment, or None without members."""
        if not self.members:
            return None
        return self.covered_members / self.members


@dataclass(frozen=True)
class CountryBreakdown:
    """One country's members and the enterprises and employment counted there (country None: unknown)."""

    country: Country | None
    members: int
    enterprises: int
    employment: int


@dataclass(frozen=True)
class RegionBreakdown:
    """One region's totals and its countries (region None: organisations without a known country)."""

    region: Region | None
    members: int
    enterprises: int
    employment: int
    countries: list[CountryBreakdown] = field(default_factory=list)


@dataclass(frozen=True)
class GrowthYear:
    """A year of a federation's history: members on 31 December, joins and departures during the year."""

    year: int
    members_at_year_end: int
    joins: int
    departures: int


@dataclass(frozen=True)
class NetworkNode:
    """An organisation below a federation on a day, at its shortest distance (1: direct member)."""

    organisation: Organisation
    depth: int


@dataclass(frozen=True)
class Figure:
    """A number with where it comes from: declared by the federation, or computed by the register."""

    value: int
    declared: bool
    date: date
    source: Source | None
    source_note: str


@dataclass(frozen=True)
class Headline:
    """The sentence in the active language and the four figures it states."""

    text: str
    members: Figure
    countries: Figure
    enterprises: Figure
    employment: Figure


@dataclass(frozen=True)
class Breach:
    """A member that breaks one of its federation's admission rules."""

    organisation: Organisation
    rule: AdmissionRule


def _day(as_of: date | None) -> date:
    return as_of if as_of is not None else timezone.localdate()


def _counted_members_on(day: date, federation_ids: list[int] | None) -> MembershipQuerySet:
    memberships = Membership.objects.current_on(day).counted().order_by()
    return memberships if federation_ids is None else memberships.filter(federation_id__in=federation_ids)


def _network_totals(federation_ids: list[int], day: date, group_by: str) -> list[tuple[Any, int, int]]:
    """Run the network CTE once; return rows of (group, enterprises, employment) for `group_by`."""
    sql, params = figures_sql(federation_ids, day)
    organisations = Organisation._meta.db_table
    # An organisation adds a figure only where no federation of the network covers it.
    query = f"""{sql}
        SELECT {group_by},
            COALESCE(SUM(CASE WHEN n.enterprises_covered = 0 THEN n.enterprises END), 0),
            COALESCE(SUM(CASE WHEN n.employment_covered = 0 THEN n.employment END), 0)
        FROM network n
        JOIN {organisations} o ON o.id = n.organisation_id
        GROUP BY {group_by}
    """  # noqa: S608
    with reading_connection().cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def _members_by_category(day: date, ids: list[int]) -> tuple[dict[int, dict[str, int]], dict[int, int]]:
    # One query: members and covered members by federation and category. A
    # member holds one membership of a federation on a day (periods of the
    # same pair never overlap), so categories add up to the members.
    declared = (
        DeclaredFigures.objects.filter(organisation=OuterRef("member"), declared_on__lte=day)
        .with_enterprises_or_employment()
        .order_by()
    )
    counted_categories = [c for c in Membership.Category.values if c != Membership.Category.REGIONAL]
    by_category = {pk: dict.fromkeys(counted_categories, 0) for pk in ids}
    covered = dict.fromkeys(ids, 0)
    rows = (
        _counted_members_on(day, ids)
        .values("federation_id", "category")
        .annotate(
            members=Count("member", distinct=True),
            covered=Count("member", distinct=True, filter=Q(Exists(declared))),
        )
    )
    for row in rows:
        by_category[row["federation_id"]][row["category"]] = row["members"]
        covered[row["federation_id"]] += row["covered"]
    return by_category, covered


def _member_countries(day: date, ids: list[int]) -> dict[int, list[str]]:
    # One query: the distinct headquarters countries of the federations' members.
    codes: dict[int, list[str]] = {pk: [] for pk in ids}
    pairs = (
        _counted_members_on(day, ids)
        .exclude(member__country="")
        .values_list("federation_id", "member__country")
        .distinct()
        .order_by("federation_id", "member__country")
    )
    for federation_id, code in pairs:
        codes[federation_id].append(code)
    return codes


def figures_for_federations(
    federations: Iterable[Organisation], as_of: date | None = None
) -> dict[int, FederationFigures]:
    """Return {federation pk: FederationFigures} for many federations in four queries."""
    day = _day(as_of)
    federations = list(federations)
    ids = [federation.pk for federation in federations]
    if not ids:
        return {}
    # Query 1: members and covered members by federation and category.
    by_category, covered = _members_by_category(day, ids)
    # Query 2: the distinct headquarters countries of those members.
    codes = _member_countries(day, ids)
    # Query 3: enterprises and employment over each federation's network.
    totals = {
        root: (enterprises, employment)
        for root, enterprises, employment in _network_totals(ids, day, "n.root_id")
    }
    # Query 4: each federation's own latest declaration.
    declarations = {
        d.organisation_id: d
        for d in DeclaredFigures.objects.latest_on(day)
        .filter(organisation_id__in=ids)
        .select_related("source")
    }
    return {
        federation.pk: FederationFigures(
            federation=federation,
            as_of=day,
            members=sum(by_category[federation.pk].values()),
            members_by_category=by_category[federation.pk],
            countries=len(codes[federation.pk]),
            country_codes=codes[federation.pk],
            enterprises=int(totals.get(federation.pk, (0, 0))[0]),
            employment=int(totals.get(federation.pk, (0, 0))[1]),
            covered_members=covered[federation.pk],
            declaration=declarations.get(federation.pk),
        )
        for federation in federations
    }


def federation_figures(federation: Organisation, as_of: date | None = None) -> FederationFigures:
    """Return the FederationFigures of one federation on the day (default today), in four queries."""
    return figures_for_federations([federation], as_of)[federation.pk]


def network(
    federation: Organisation, as_of: date | None = None, kinds: Iterable[str] | None = None
) -> list[NetworkNode]:
    """Return the organisations below the federation on the day, nearest first, in one query.

    `kinds` (Organisation.Kind values) keeps only organisations of those
    kinds, chosen in the database: a federation page lists the federations of
    a network, not the tens of thousands of co-operatives below them.
    """
    sql, params = nearest_sql([federation.pk], _day(as_of))
    organisations = Organisation._meta.db_table
    only = ""
    if kinds is not None:
        kinds = list(kinds)
        if not kinds:
            return []
        only = "WHERE o.kind IN ({})".format(", ".join(["%s"] * len(kinds)))
        params = [*params, *kinds]
    nodes = Organisation.objects.raw(
        f"""{sql}
        SELECT o.*, n.depth AS network_depth
        FROM {organisations} o JOIN network n ON n.organisation_id = o.id
        {only}
        ORDER BY n.depth, o.name
        """,  # noqa: S608
        params,
    )
    # raw() sets the query's extra column on each instance, an attribute the model does not declare.
    return [NetworkNode(organisation=o, depth=o.network_depth) for o in nodes]  # type: ignore[attr-defined]


def of_kinds(nodes: Iterable[NetworkNode], kinds: Collection[str]) -> list[NetworkNode]:
    """Return the network's nodes whose organisation is of one of the kinds, in the network's order."""
    return [node for node in nodes if node.organisation.kind in kinds]


def breakdown(federation: Organisation, as_of: date | None = None) -> list[RegionBreakdown]:
    """Return members, enterprises and employment by region and country, in three queries.

    Members are counted in their headquarters' country; enterprises and
    employment in the country of the organisation whose declaration counts.
    """
    day = _day(as_of)
    # Query 1: direct members by country.
    members = dict(
        _counted_members_on(day, [federation.pk])
        .values("member__country")
        .annotate(n=Count("member", distinct=True))
        .values_list("member__country", "n")
    )
    # Query 2: the network's counted figures by country.
    figures = {code: (e, p) for code, e, p in _network_totals([federation.pk], day, "o.country")}
    codes = {
        code for code in members.keys() | figures.keys() if members.get(code) or any(figures.get(code, ()))
    }
    # Query 3: the regions of those countries.
    regions = {
        row.country.code: row
        for row in CountryRegion.objects.filter(country__in=[c for c in codes if c]).select_related("region")
    }
    grouped: dict[Region | None, list[CountryBreakdown]] = {}
    for code in codes:
        enterprises, employment = (int(v) for v in figures.get(code, (0, 0)))
        place = regions.get(code)
        country = place.country if place else (Country(code=code) if code else None)
        grouped.setdefault(place.region if place else None, []).append(
            CountryBreakdown(country, members.get(code, 0), enterprises, employment)
        )
    result = [
        RegionBreakdown(
            region=region,
            members=sum(c.members for c in countries),
            enterprises=sum(c.enterprises for c in countries),
            employment=sum(c.employment for c in countries),
            countries=sorted(countries, key=lambda c: str(c.country.name) if c.country else ""),
        )
        for region, countries in grouped.items()
    ]
    # Organisations without a known country come last.
    return sorted(result, key=lambda r: (r.region is None, r.region.name if r.region else ""))


def growth(federation: Organisation, until: date | int | None = None) -> list[GrowthYear]:
    """Return one GrowthYear per year from the first join to `until` (a year or date; default this year).

    Two aggregate queries; members on 31 December are the starts so far less
    the departures so far, since a membership always ends after it starts. A
    start only attested by a source counts among members, never among joins.
    """
    if until is None:
        until = timezone.localdate().year
    last_year = until.year if isinstance(until, date) else int(until)
    memberships = Membership.objects.filter(federation=federation).counted().order_by()
    # Members count from their start, joined or only attested; joins are the dated starts alone.
    rows = list(memberships.starts_by_year())
    starts = {year: n for year, n, _joins in rows}
    joins = {year: n for year, _starts, n in rows}
    departures = dict(memberships.departures_by_year())
    if not starts:
        return []
    series: list[GrowthYear] = []
    members = 0
    for year in range(min(starts), last_year + 1):
        members += starts.get(year, 0) - departures.get(year, 0)
        series.append(GrowthYear(year, members, joins.get(year, 0), departures.get(year, 0)))
    return series


def humanise_number(value: int) -> str:
    """Return a count as a reader expects it in the active language: "68,000", "4 million"."""
    if value >= MILLION:
        millions, plural = _millions(value)
        return ngettext("%(millions)s million", "%(millions)s million", plural) % {"millions": millions}
    return _grouped(value)


def _grouped(value: float) -> str:
    return number_format(value, force_grouping=True)


def _millions(value: int) -> tuple[str, int]:
    """Return (the number of millions to one decimal, localised; the count that picks the plural)."""
    millions = round(value / MILLION, 1)
    if millions == int(millions):
        return _grouped(int(millions)), int(millions)
    return number_format(millions, decimal_pos=1, force_grouping=True), math.ceil(millions)


# French and Spanish join a million to its noun ("4 millions de personnes",
# "4 millones de personas"), so the million forms are whole phrases for the
# translators rather than a number put before the noun.


def _members_phrase(value: int) -> str:
    return ngettext("%(count)s member", "%(count)s members", value) % {"count": _grouped(value)}


def _countries_phrase(value: int) -> str:
    return ngettext("%(count)s country", "%(count)s countries", value) % {"count": _grouped(value)}


def _large_phrase(value: int, counted: Callable[[int], str], in_millions: Callable[[int], str]) -> str:
    """Return "68,000 enterprises" or "4 million people"; `counted` and `in_millions` give the forms."""
    if value >= MILLION:
        millions, plural = _millions(value)
        return in_millions(plural) % {"millions": millions}
    return counted(value) % {"count": _grouped(value)}


def _enterprises_phrase(value: int) -> str:
    return _large_phrase(
        value,
        lambda n: ngettext("%(count)s enterprise", "%(count)s enterprises", n),
        lambda n: ngettext("%(millions)s million enterprises", "%(millions)s million enterprises", n),
    )


def _people_phrase(value: int) -> str:
    return _large_phrase(
        value,
        lambda n: ngettext("%(count)s person", "%(count)s people", n),
        lambda n: ngettext("%(millions)s million people", "%(millions)s million people", n),
    )


def _figure(computed: int, declaration: DeclaredFigures | None, declared_field: str, day: date) -> Figure:
    declared = getattr(declaration, declared_field) if declaration else None
    if declaration is not None and declared is not None:
        return Figure(declared, True, declaration.declared_on, declaration.source, declaration.source_note)
    return Figure(computed, False, day, None, "")


def headline(
    federation: Organisation, as_of: date | None = None, figures: FederationFigures | None = None
) -> Headline:
    """Return the headline sentence, in the active language, with its four sourced figures (four queries).

    Each figure is the federation's own latest declaration on or before the
    day where it gives one, and the register's computed figure otherwise.
    Pass the federation's `figures` (from figures_for_federations) to build
    the sentence without a query, as the home page does for every federation.
    """
    if figures is None:
        figures = federation_figures(federation, as_of)
    declaration = figures.declaration
    members = _figure(figures.members, declaration, "member_organisations", figures.as_of)
    countries = _figure(figures.countries, declaration, "countries", figures.as_of)
    enterprises = _figure(figures.enterprises, declaration, "enterprises", figures.as_of)
    employment = _figure(figures.employment, declaration, "employment", figures.as_of)
    words = {
        "federation": federation.short_name,
        "members": _members_phrase(members.value),
        "countries": _countries_phrase(countries.value),
        "enterprises": _enterprises_phrase(enterprises.value),
        "employment": _people_phrase(employment.value),
    }
    # A figure nobody declared is left out rather than stated as zero; the
    # verb agrees with what employs (the enterprises, or else the members).
    if enterprises.value and employment.value:
        text = ngettext(
            "%(federation)s affiliates %(members)s in %(countries)s, representing %(enterprises)s "
            "which employs %(employment)s.",
            "%(federation)s affiliates %(members)s in %(countries)s, representing %(enterprises)s "
            "which employ %(employment)s.",
            enterprises.value,
        )
    elif enterprises.value:
        text = gettext(
            "%(federation)s affiliates %(members)s in %(countries)s, representing %(enterprises)s."
        )
    elif employment.value:
        text = ngettext(
            "%(federation)s affiliates %(members)s in %(countries)s, which employs %(employment)s.",
            "%(federation)s affiliates %(members)s in %(countries)s, which employ %(employment)s.",
            members.value,
        )
    else:
        text = gettext("%(federation)s affiliates %(members)s in %(countries)s.")
    return Headline(text % words, members, countries, enterprises, employment)


def admission_breaches(as_of: date | None = None, federation: Organisation | None = None) -> list[Breach]:
    """Return the members that break an admission rule on the day (default today), in at most three queries.

    A breach is a current counted member of a rule's federation (with its
    headquarters in the rule's region, when the rule names one) that is not,
    on the same day, a member in any category of the federation the rule requires.
    """
    day = _day(as_of)
    # One row per (membership, rule of its federation). The rule is one join,
    # named once, that every condition below reads: filtering the relation in
    # separate calls would join the rules again for each.
    rows = _counted_members_on(day, None if federation is None else [federation.pk]).annotate(
        rule=F("federation__admission_rules"),
        rule_region=F("federation__admission_rules__region"),
        rule_requires=F("federation__admission_rules__requires"),
    )
    held = Membership.objects.current_on(day).filter(
        member=OuterRef("member_id"), federation=OuterRef("rule_requires")
    )
    in_region = CountryRegion.objects.filter(
        country=OuterRef("member__country"), region=OuterRef("rule_region")
    )
    breaching = (
        rows.filter(rule__isnull=False)
        .filter(Q(rule_region__isnull=True) | Exists(in_region))
        .exclude(Exists(held))
        .values_list("rule", "member_id")
        .distinct()
    )
    # Query 1: the (rule, member) pairs in breach.
    pairs = list(breaching)
    # Queries 2 and 3 (none when nothing is breached): the rules and organisations named by those pairs.
    rule_objects = AdmissionRule.objects.select_related("federation", "requires", "region").in_bulk(
        {rule_id for rule_id, _member in pairs}
    )
    members = Organisation.objects.in_bulk({member_id for _rule, member_id in pairs})
    breaches = [Breach(members[member_id], rule_objects[rule_id]) for rule_id, member_id in pairs]
    return sorted(breaches, key=lambda b: (str(b.rule.federation.short_name), b.organisation.name))


@dataclass(frozen=True)
class HeldMembership:
    """A membership held in memory (one an import would create, say); `origin` is the caller's."""

    member: Any  # an organisation's id, or any key the caller gives an organisation not yet saved
    federation: Any
    category: str
    joined_on: date
    left_on: date | None
    origin: Any = None


def rules_of(federations: Iterable[Any], database: str = "default") -> list[AdmissionRule]:
    """The admission rules of these federations (ids; other keys are left out), in one query."""
    ids = {f for f in federations if isinstance(f, int)}
    if not ids:
        return []
    return list(
        AdmissionRule.objects.using(database).filter(federation_id__in=ids).select_related("requires")
    )


def breaches_among(
    memberships: Collection[HeldMembership],
    countries: dict[Any, str],
    day: date,
    rules: list[AdmissionRule],
    database: str = "default",
) -> list[tuple[HeldMembership, AdmissionRule]]:
    """The same rule as admission_breaches(), for memberships held in memory and `rules` (rules_of()).

    One query (the regions of the members' countries), none without rules.

    Each (membership, rule) is a current counted membership, among these, of
    a rule's federation, whose member (its headquarters' country in
    `countries`) is in the rule's region when the rule names one, and which
    holds no current membership, among these, of the federation the rule requires.
    """
    if not rules:
        return []
    regions = dict(
        CountryRegion.objects.using(database)
        .filter(country__in={c for c in countries.values() if c})
        .values_list("country", "region_id")
    )
    current = [m for m in memberships if is_current(m.joined_on, m.left_on, day)]
    held = {(m.member, m.federation) for m in current}
    breaches = []
    for membership in current:
        if membership.category == Membership.Category.REGIONAL:
            continue
        for rule in rules:
            if rule.federation_id != membership.federation:
                continue
            if (
                rule.region_id is not None
                and regions.get(countries.get(membership.member, "")) != rule.region_id
            ):
                continue
            if (membership.member, rule.requires_id) not in held:
                breaches.append((membership, rule))
    return breaches
