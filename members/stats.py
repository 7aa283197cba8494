"""A federation's figures as of any date, without double counting, with their sources.

As of a day D, a membership is current when it started on or before D and had
not ended by D (members/rules.py): a member counts on the day it joins and no
longer on the day it leaves. A date known only to
the month, half-year or year is stored as the first day of that period
(members/dates.py), so it counts from that first day: "joined in May 2017"
counts from 1 May 2017. A declaration counts from the day it was declared.

How totals are computed is COUNTING_RULE; the pages show the same words.
Each public function runs a fixed number of queries whatever the size and
depth of the network: the network list is read from its materialisation
(members/reach.py, one indexed range per federation), the totals from one
recursive CTE (members/network.py), and every total is an SQL aggregate.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import Country

from members.models import (
    AdmissionRule,
    CountedFigures,
    CountryRegion,
    DeclaredFigures,
    Membership,
    MembershipQuerySet,
    Organisation,
    Region,
)
from members.network import reading_connection
from members.reach import nearest_sql
from members.rules import current_sql, fold, is_current

COUNTING_RULE = _(
    "Members are the organisations directly affiliated on the date; a regional organisation is not one "
    "of them. Countries are where those members have their headquarters. Enterprises and people "
    "employed add up the latest figures that the organisations below the federation declared. Each "
    "organisation counts once, and not at all if a federation above it already includes it in its "
    "own figures."
)

AS_OF_RULE = _(
    "A member counts from the day it joins until the day it leaves. A date known only to the month, "
    "half-year or year counts from its first day."
)


@dataclass(frozen=True)
class FederationFigures:
    """What the register computes for a federation on a day, beside its own latest declaration."""

    federation: Organisation
    as_of: date
    members: int
    members_by_category: dict[str, int]
    countries: int
    country_codes: list[str]
    # None: no organisation of the network declared the figure (not the same as a declared 0).
    enterprises: int | None
    employment: int | None
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
    enterprises: int | None
    employment: int | None


@dataclass(frozen=True)
class RegionBreakdown:
    """One region's totals and its countries (region None: organisations without a known country)."""

    region: Region | None
    members: int
    enterprises: int | None
    employment: int | None
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
class Breach:
    """A member that breaks one of its federation's admission rules, through which membership."""

    organisation: Organisation
    rule: AdmissionRule
    # The membership of the rule's federation that is in breach: the missing membership is
    # offered from its start, at its precision.
    membership: Membership | None = None


def _day(as_of: date | None) -> date:
    return as_of if as_of is not None else timezone.localdate()


def _counted_members_on(day: date, federation_ids: list[int] | None) -> MembershipQuerySet:
    memberships = Membership.objects.current_on(day).counted().order_by()
    return memberships if federation_ids is None else memberships.filter(federation_id__in=federation_ids)


def _network_totals(
    federation_ids: list[int], day: date, group_by: str
) -> list[tuple[Any, int | None, int | None]]:
    """Return rows of (group, enterprises, employment) for `group_by`, in one indexed aggregate.

    The counted figures are kept materialised (members/counted.py): what each
    organisation adds to each root's totals, over periods. On a day, a root's
    totals are the sum of its rows current then, read through
    members_counted_root_on_idx; members/network.py's figures_sql() is the
    recursive reference they are held to (tests/test_counted.py).

    A total is None, not 0, where no organisation of the group declared the
    figure: SQL's SUM of nothing but NULLs. A declared 0 stays 0.
    """
    connection = reading_connection()
    on = connection.ops.adapt_datefield_value(day)
    placeholders = ", ".join(["%s"] * len(federation_ids))
    join = ""
    if group_by.startswith("o."):
        join = f"JOIN {Organisation._meta.db_table} o ON o.id = n.organisation_id"
    query = f"""
        SELECT {group_by}, SUM(n.enterprises), SUM(n.employment)
        FROM {CountedFigures._meta.db_table} n {join}
        WHERE n.root_id IN ({placeholders}) AND {current_sql("n", start="start_on", end="end_on")}
        GROUP BY {group_by}
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(query, [*federation_ids, on, on])
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
            enterprises=_total(totals.get(federation.pk, (None, None))[0]),
            employment=_total(totals.get(federation.pk, (None, None))[1]),
            covered_members=covered[federation.pk],
            declaration=declarations.get(federation.pk),
        )
        for federation in federations
    }


def _total(value: Any) -> int | None:
    """Return a database total as an int, keeping None ("nobody declared it") apart from 0."""
    return None if value is None else int(value)


def add_declared(values: Iterable[int | None]) -> int | None:
    """Return the sum of the declared values, or None when none of them was declared."""
    declared = [value for value in values if value is not None]
    return sum(declared) if declared else None


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


def region_countries(federation: Organisation) -> list[str]:
    """Return the ISO codes of the countries of a regional federation's region, or none for other kinds.

    Its region is the one an admission rule sends it members from ("CICOPA's members
    in Europe also join CECOP"), or else its headquarters' region. One query.
    """
    if federation.kind != Organisation.Kind.REGIONAL:
        return []
    ruled = AdmissionRule.objects.filter(requires=federation, region__isnull=False).values("region")
    headquarters = CountryRegion.objects.filter(country=federation.country).values("region")
    return [
        str(code)
        for code in CountryRegion.objects.filter(
            Q(region__in=ruled) | (Q(region__in=headquarters) & ~Exists(ruled))
        ).values_list("country", flat=True)
    ]


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
        code
        for code in members.keys() | figures.keys()
        if members.get(code) or any(value is not None for value in figures.get(code, ()))
    }
    # Query 3: the regions of those countries.
    regions = {
        row.country.code: row
        for row in CountryRegion.objects.filter(country__in=[c for c in codes if c]).select_related("region")
    }
    grouped: dict[Region | None, list[CountryBreakdown]] = {}
    for code in codes:
        enterprises, employment = (_total(v) for v in figures.get(code, (None, None)))
        place = regions.get(code)
        country = place.country if place else (Country(code=code) if code else None)
        grouped.setdefault(place.region if place else None, []).append(
            CountryBreakdown(country, members.get(code, 0), enterprises, employment)
        )
    result = [
        RegionBreakdown(
            region=region,
            members=sum(c.members for c in countries),
            enterprises=add_declared(c.enterprises for c in countries),
            employment=add_declared(c.employment for c in countries),
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
    A departure "at the end of" the year is that year's, and the member still
    counts on its 31 December (members/dates.py).
    """
    if until is None:
        until = timezone.localdate().year
    last_year = until.year if isinstance(until, date) else int(until)
    memberships = Membership.objects.filter(federation=federation).counted().order_by()
    # Members count from their start, joined or only attested; joins are the dated starts alone.
    rows = list(memberships.starts_by_year())
    starts = {year: n for year, n, _joins in rows}
    joins = {year: n for year, _starts, n in rows}
    departure_rows = list(memberships.departures_by_year())
    departures = {year: n for year, n, _counted in departure_rows}
    counted_on_31_december = {year: n for year, _n, n in departure_rows}
    if not starts:
        return []
    series: list[GrowthYear] = []
    members = 0
    for year in range(min(starts), last_year + 1):
        members += starts.get(year, 0) - departures.get(year, 0)
        at_year_end = members + counted_on_31_december.get(year, 0)
        series.append(GrowthYear(year, at_year_end, joins.get(year, 0), departures.get(year, 0)))
    return series


def _breach_pairs(
    day: date, federation: Organisation | None, member: Organisation | None
) -> list[tuple[int, int]]:
    """One query: the (rule, membership) pairs in breach on the day.

    A member holds one membership of a federation on a day (periods of the
    same pair never overlap), so there is one pair per rule and member.
    """
    # One row per (membership, rule of its federation). The rule is one join,
    # named once, that every condition below reads: filtering the relation in
    # separate calls would join the rules again for each.
    rows = _counted_members_on(day, None if federation is None else [federation.pk]).annotate(
        rule=F("federation__admission_rules"),
        rule_region=F("federation__admission_rules__region"),
        rule_requires=F("federation__admission_rules__requires"),
    )
    if member is not None:
        rows = rows.filter(member=member)
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
        .values_list("rule", "pk")
        .distinct()
    )
    return list(breaching)


def admission_breaches(
    as_of: date | None = None, federation: Organisation | None = None, *, member: Organisation | None = None
) -> list[Breach]:
    """Return the members that break an admission rule on the day (default today), in at most three queries.

    A breach is a current counted member of a rule's federation (with its
    headquarters in the rule's region, when the rule names one) that is not,
    on the same day, a member in any category of the federation the rule requires.
    `federation` and `member` narrow the question to one federation's members
    or to one organisation's memberships.
    """
    # Query 1: the pairs in breach.
    pairs = _breach_pairs(_day(as_of), federation, member)
    # Queries 2 and 3 (none when nothing is breached): the rules and the memberships (with
    # their members) named by those pairs.
    rule_objects = AdmissionRule.objects.select_related("federation", "requires", "region").in_bulk(
        {rule_id for rule_id, _membership in pairs}
    )
    memberships = Membership.objects.select_related("member").in_bulk(
        {membership_id for _rule, membership_id in pairs}
    )
    breaches = [
        Breach(memberships[membership_id].member, rule_objects[rule_id], memberships[membership_id])
        for rule_id, membership_id in pairs
    ]
    return sorted(breaches, key=lambda b: (str(b.rule.federation.short_name), b.organisation.name))


def admission_breach_count(as_of: date | None = None) -> int:
    """Return how many members break an admission rule on the day (default today), per rule: one query."""
    return len(_breach_pairs(_day(as_of), None, None))


@dataclass(frozen=True)
class FederationGroup:
    """An international federation with the regional bodies linked to it, or (head None) the others."""

    head: Organisation | None
    members: list[Organisation]


def federation_groups(
    federations: Iterable[Organisation], figures: dict[int, FederationFigures], as_of: date | None = None
) -> list[FederationGroup]:
    """Return the federations grouped for a reader, in one query.

    Each international federation comes first with, under it, the regional
    organisations linked to it on the day by a "regional organisation"
    membership (CICOPA, then CECOP); the international ones with the most
    members first. The federations linked to none follow in one last group.
    Within a group, by the name shown.
    """
    day = _day(as_of)
    federations = list(federations)
    by_pk = {f.pk: f for f in federations}
    links = (
        Membership.objects.current_on(day)
        .filter(category=Membership.Category.REGIONAL, member__in=by_pk, federation__in=by_pk)
        .order_by()
        .values_list("member_id", "federation_id")
    )
    parents: dict[int, int] = {}
    for member_id, federation_id in links:
        if by_pk[federation_id].kind == Organisation.Kind.INTERNATIONAL and by_pk[member_id].kind != (
            Organisation.Kind.INTERNATIONAL
        ):
            # A body linked to two international federations is shown under the first by name.
            current = parents.get(member_id)
            if current is None or shown_name_key(by_pk[federation_id]) < shown_name_key(by_pk[current]):
                parents[member_id] = federation_id
    heads = sorted(
        (f for f in federations if f.kind == Organisation.Kind.INTERNATIONAL),
        key=lambda f: (-figures[f.pk].members if f.pk in figures else 0, shown_name_key(f)),
    )
    groups = [
        FederationGroup(
            head,
            sorted((by_pk[m] for m, p in parents.items() if p == head.pk), key=shown_name_key),
        )
        for head in heads
    ]
    grouped = {head.pk for head in heads} | parents.keys()
    others = sorted((f for f in federations if f.pk not in grouped), key=shown_name_key)
    if others:
        groups.append(FederationGroup(None, others))
    return groups


def shown_name_key(organisation: Organisation) -> tuple[str, str]:
    """Return the key that sorts organisations by the name a page shows for them (acronym first).

    Numbers in names sort by their value, as a reader expects: SYN2 before SYN10.
    """
    return (natural_key(organisation.short_name), natural_key(organisation.name))


def natural_key(name: str) -> str:
    """Return the name folded, its numbers padded so that they sort by value."""
    return re.sub(r"\d+", lambda number: number.group().zfill(12), fold(name))


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
