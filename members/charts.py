"""Geometry for the growth chart and the world map, drawn as inline SVG by templates.

A view computes the figures with `members.stats`, passes them through
`growth_chart()` / `world_map()` and includes the result:

    {% include "members/includes/_chart.html" with chart=growth_chart %}
    {% include "members/includes/_map.html" with map=world_map %}

where `growth_chart = charts.growth_chart(stats.growth(federation, as_of))` and
`world_map = charts.world_map(charts.country_counts(stats.breakdown(federation, as_of)))`.

Python only does the arithmetic (scales, ticks, buckets) and hands the
templates ready-made coordinate strings, so nothing numeric is ever localised
into an attribute ("12,5" in French) and every text goes through the template
engine's escaping. Nothing here runs in the browser: the pages work with
JavaScript off and under a strict Content-Security-Policy.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from django_countries import countries as country_registry
from django_countries.fields import Country

if TYPE_CHECKING:
    from members.stats import GrowthYear, RegionBreakdown

# How world_map() is told a country: a Country, its code, or nothing (unknown).
CountryKey = TypeVar("CountryKey", bound=Country | str | None)

WORLD_DATA = Path(__file__).resolve().parent / "data" / "world.json"

# Chart canvas, in SVG user units. Narrow enough that its text (12 units, 18 on
# phones) stays legible when a 375 px screen scales the drawing down.
WIDTH = 480
MARGIN_LEFT = 52
MARGIN_RIGHT = 8
TOP = 24
MEMBERS_HEIGHT = 150
GAP = 50  # room for the year labels and the lower panel's title
CHANGES_HEIGHT = 80
BOTTOM = 8
PLOT_WIDTH = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
# Where the panels sit: the members' bars stand on MEMBERS_BASE; joins rise
# and departures fall from CHANGES_MID, by at most CHANGES_HALF.
MEMBERS_BASE = TOP + MEMBERS_HEIGHT
CHANGES_HALF = CHANGES_HEIGHT / 2
CHANGES_MID = MEMBERS_BASE + GAP + CHANGES_HALF

# Map shading, light to dark: even the lightest has 3:1 contrast against the
# grey of countries without members (WCAG 1.4.11), so no member country is lost.
MAP_BUCKET_COLOURS = ("#4a8cc0", "#3a78ad", "#2b6196", "#1c4a7a", "#0c2f57")
MAP_BUCKET_COUNT = len(MAP_BUCKET_COLOURS)
MAP_EMPTY_COLOUR = "#eeeeee"


def _fmt(value: float) -> str:
    """A coordinate as the SVG attribute wants it: dot decimal, no trailing zeros."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def nice_ticks(maximum: int, count: int = 4) -> list[int]:
    """Round tick values from 0 to at least `maximum` (0, 5, 10, 15 ...)."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1, int(step))
    top = step * math.ceil(maximum / step)
    return list(range(0, top + 1, step))


@dataclass(frozen=True)
class Tick:
    value: int
    y: str


@dataclass(frozen=True)
class YearColumn:
    year: int
    members: int
    joins: int
    departures: int
    x: str
    label_x: str
    width: str
    members_y: str
    members_height: str
    joins_y: str
    joins_height: str
    departures_y: str
    departures_height: str
    show_label: bool


@dataclass(frozen=True)
class GrowthChart:
    columns: list[YearColumn]
    member_ticks: list[Tick]
    change_ticks: list[Tick]
    width: int
    height: int
    members_base: str
    changes_zero: str
    changes_top: str
    changes_bottom: str
    axis_left: str
    axis_right: str
    year_label_y: str
    members_title_y: str
    changes_title_y: str
    first_year: int | None
    last_year: int | None
    first_members: int
    last_members: int
    total_joins: int
    total_departures: int

    @property
    def is_empty(self) -> bool:
        return not self.columns

    @property
    def viewbox(self) -> str:
        return f"0 0 {self.width} {self.height}"


def _scale(value: int, height: float, top: int) -> float:
    """The length of a bar of `value` in a panel `height` units high whose axis ends at `top`."""
    return height * value / top


def _year_columns(years: list[GrowthYear], members_top: int, changes_top: int) -> list[YearColumn]:
    """One column of bars per year, in order, on axes ending at `members_top` and `changes_top`."""
    slot = PLOT_WIDTH / max(len(years), 1)
    bar = max(slot * 0.7, 1)
    # Label at most eight years so the labels never overlap, even in the larger
    # text phones get (charts.css); always label the last year.
    label_every = max(1, math.ceil(len(years) / 8))
    columns = []
    for index, item in enumerate(years):
        x = MARGIN_LEFT + index * slot + (slot - bar) / 2
        height = _scale(item.members_at_year_end, MEMBERS_HEIGHT, members_top)
        joins = _scale(item.joins, CHANGES_HALF, changes_top)
        departures = _scale(item.departures, CHANGES_HALF, changes_top)
        columns.append(
            YearColumn(
                year=item.year,
                members=item.members_at_year_end,
                joins=item.joins,
                departures=item.departures,
                x=_fmt(x),
                label_x=_fmt(x + bar / 2),
                width=_fmt(bar),
                members_y=_fmt(MEMBERS_BASE - height),
                members_height=_fmt(height),
                joins_y=_fmt(CHANGES_MID - joins),
                joins_height=_fmt(joins),
                departures_y=_fmt(CHANGES_MID),
                departures_height=_fmt(departures),
                show_label=(len(years) - 1 - index) % label_every == 0,
            )
        )
    return columns


def growth_chart(years: Iterable[GrowthYear]) -> GrowthChart:
    """Lay out `stats.growth()` (objects with year, members_at_year_end, joins, departures) as bars."""
    years = sorted(years, key=lambda item: item.year)
    member_ticks = nice_ticks(max((y.members_at_year_end for y in years), default=0))
    change_max = max((max(y.joins, y.departures) for y in years), default=0)
    change_ticks = nice_ticks(change_max, count=2)
    return GrowthChart(
        columns=_year_columns(years, member_ticks[-1], change_ticks[-1]),
        member_ticks=[
            Tick(value, _fmt(MEMBERS_BASE - _scale(value, MEMBERS_HEIGHT, member_ticks[-1])))
            for value in member_ticks
        ],
        change_ticks=[
            Tick(value, _fmt(CHANGES_MID - sign * _scale(abs(value), CHANGES_HALF, change_ticks[-1])))
            for value in change_ticks[1:]
            for sign in (1, -1)
        ],
        width=WIDTH,
        height=int(MEMBERS_BASE + GAP + CHANGES_HEIGHT + BOTTOM),
        members_base=_fmt(MEMBERS_BASE),
        changes_zero=_fmt(CHANGES_MID),
        changes_top=_fmt(CHANGES_MID - CHANGES_HALF),
        changes_bottom=_fmt(CHANGES_MID + CHANGES_HALF),
        axis_left=_fmt(MARGIN_LEFT),
        axis_right=_fmt(WIDTH - MARGIN_RIGHT),
        year_label_y=_fmt(MEMBERS_BASE + 18),
        members_title_y=_fmt(TOP - 10),
        changes_title_y=_fmt(MEMBERS_BASE + GAP - 12),
        first_year=years[0].year if years else None,
        last_year=years[-1].year if years else None,
        first_members=years[0].members_at_year_end if years else 0,
        last_members=years[-1].members_at_year_end if years else 0,
        total_joins=sum(y.joins for y in years),
        total_departures=sum(y.departures for y in years),
    )


# A member country whose outline fits in this many square units (Puerto Rico,
# Malta, Singapore ...) would be invisible at map scale: it also gets a dot.
SMALL_COUNTRY_AREA = 40
MARKER_RADIUS = "6"


def _bounding_box(path: str) -> tuple[float, float, float, float]:
    """(min x, min y, max x, max y) of a path made of "M x y l dx dy ... z" rings."""
    xs: list[float] = []
    ys: list[float] = []
    for ring in re.findall(r"M([^z]*)z", path):
        start, _, steps = ring.partition("l")
        x, y = (float(n) for n in start.split())
        xs.append(x)
        ys.append(y)
        numbers = [float(n) for n in steps.split()]
        for dx, dy in zip(numbers[::2], numbers[1::2], strict=True):
            x, y = x + dx, y + dy
            xs.append(x)
            ys.append(y)
    return min(xs), min(ys), max(xs), max(ys)


@cache
def small_country_centres() -> dict[str, tuple[str, str]]:
    """{code: (x, y)} of the countries too small to see on the map: where their dot goes."""
    _, outlines = world_outlines()
    centres: dict[str, tuple[str, str]] = {}
    for code, path in outlines.items():
        left, top, right, bottom = _bounding_box(path)
        if (right - left) * (bottom - top) <= SMALL_COUNTRY_AREA:
            centres[code] = (_fmt((left + right) / 2), _fmt((top + bottom) / 2))
    return centres


@cache
def world_outlines() -> tuple[str, dict[str, str]]:
    """The vendored country outlines: (viewBox, {ISO alpha-2 code: SVG path})."""
    data = json.loads(WORLD_DATA.read_text(encoding="utf-8"))
    return data["viewBox"], data["countries"]


@dataclass(frozen=True)
class Bucket:
    index: int
    low: int
    high: int

    @property
    def colour(self) -> str:
        return MAP_BUCKET_COLOURS[self.index - 1]


@dataclass(frozen=True)
class MapCountry:
    code: str
    name: str
    members: int
    bucket: Bucket | None
    path: str

    @property
    def colour(self) -> str:
        return self.bucket.colour if self.bucket else MAP_EMPTY_COLOUR


@dataclass(frozen=True)
class Marker:
    country: MapCountry
    x: str
    y: str


@dataclass(frozen=True)
class WorldMap:
    viewbox: str
    shapes: list[MapCountry]
    buckets: list[Bucket]
    rows: list[MapCountry]  # every member country, largest first, for the data table
    markers: Sequence[Marker] = ()  # member countries too small to see
    empty_colour: str = MAP_EMPTY_COLOUR
    marker_radius: str = MARKER_RADIUS

    @property
    def is_empty(self) -> bool:
        return not self.rows


def buckets_for(maximum: int) -> list[Bucket]:
    """Up to five shading classes covering 1..maximum, one per value when they fit."""
    if maximum <= 0:
        return []
    if maximum <= MAP_BUCKET_COUNT:
        return [Bucket(i, value, value) for i, value in enumerate(range(1, maximum + 1), start=1)]
    size = math.ceil(maximum / MAP_BUCKET_COUNT)
    return [
        Bucket(i, 1 + (i - 1) * size, min(i * size, maximum))
        for i in range(1, MAP_BUCKET_COUNT + 1)
        if 1 + (i - 1) * size <= maximum
    ]


def _code(country: Country | str | None) -> str:
    return (country.code if isinstance(country, Country) else str(country or "")).upper()


def world_map(
    counts: Mapping[CountryKey, int] | Iterable[tuple[CountryKey, int]],
) -> WorldMap:
    """Shade each country by its number of members; `counts` maps a country (code or Country) to members."""
    pairs = counts.items() if hasattr(counts, "items") else counts
    members: dict[str, int] = {}
    for country, number in pairs:
        code = _code(country)
        if code and number:
            members[code] = members.get(code, 0) + number
    buckets = buckets_for(max(members.values(), default=0))

    def bucket_of(number: int) -> Bucket | None:
        return next((b for b in buckets if b.low <= number <= b.high), None)

    def name_of(code: str) -> str:
        # Localised by django-countries in the active language; the outline's own
        # English name is never shown, so a code it does not know gets its code.
        return country_registry.name(code) or code

    viewbox, outlines = world_outlines()
    shapes = [
        MapCountry(code, name_of(code), members.get(code, 0), bucket_of(members.get(code, 0)), path)
        for code, path in sorted(outlines.items())
    ]
    rows = sorted(
        (
            MapCountry(code, name_of(code), number, bucket_of(number), outlines.get(code, ""))
            for code, number in members.items()
        ),
        key=lambda row: (-row.members, row.name),
    )
    centres = small_country_centres()
    markers = [
        Marker(shape, *centres[shape.code]) for shape in shapes if shape.bucket and shape.code in centres
    ]
    return WorldMap(viewbox=viewbox, shapes=shapes, buckets=buckets, rows=rows, markers=markers)


def country_counts(regions: Iterable[RegionBreakdown]) -> dict[str, int]:
    """{country code: members} from `stats.breakdown()`'s regions, for `world_map()`."""
    return {_code(row.country): row.members for region in regions for row in region.countries if row.country}
