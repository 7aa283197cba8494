"""Geometry for the growth chart and the world map, drawn as inline SVG by templates.

A view computes the figures with `members.stats`, passes them through
`growth_chart()` / `world_map()` and includes the result:

    {% include "members/includes/_chart.html" with chart=growth_chart %}
    {% include "members/includes/_map.html" with map=world_map %}

where `growth_chart = charts.growth_chart(stats.growth(federation, as_of))` and
`world_map = charts.world_map(charts.country_counts(stats.breakdown(federation, as_of)),
region=stats.region_countries(federation))` (a regional federation's map shows its region).

Python only does the arithmetic (scales, ticks, buckets) and hands the
templates ready-made coordinate strings, so nothing numeric is ever localised
into an attribute ("12,5" in French) and every text goes through the template
engine's escaping. Nothing here runs in the browser: the pages work with
JavaScript off and under a strict Content-Security-Policy.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from django.utils.translation import gettext_lazy
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
CHANGES_HEIGHT = 80
BOTTOM = 8
PLOT_WIDTH = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
MEMBERS_BASE = TOP + MEMBERS_HEIGHT
CHANGES_HALF = CHANGES_HEIGHT / 2
# Room for the text, sized for the largest font it is drawn in (18 units on phones,
# charts.css): a year ("2017") is about 44 units long and one line 18 high.
LARGEST_FONT = 18
YEAR_LENGTH = 46
# A year stands upright under its bar when the bar's slot is this wide, is turned a
# quarter when a line of text fits the slot, and otherwise every few years are
# labelled (the first and the last always): labels never overlap.
UPRIGHT_SLOT = YEAR_LENGTH + 4
TURNED_SLOT = LARGEST_FONT + 2
# Between the year labels and the lower panel's title, and between the title's
# baseline and the lower panel's top line: a descender's room and some air.
TITLE_GAP = 26
TITLE_TO_PANEL = 14

# Map shading, light to dark, a sequential blue scale computed in OKLCh: the
# lightest has 3:1 contrast against the grey of countries without members (WCAG
# 1.4.11), so no member country is lost, and each class has at least 1.5:1
# luminance contrast with the next, so readers tell the classes apart in colour
# and in greyscale alike (tests/test_charts.py computes both). Four classes: five
# would need a near-black darkest one to keep those ratios.
MAP_BUCKET_COLOURS = ("#318dc5", "#1967ab", "#1c4487", "#162158")
MAP_BUCKET_COUNT = len(MAP_BUCKET_COLOURS)
MAP_EMPTY_COLOUR = "#eeeeee"
# The sea, and the one-pixel line drawn round every country in it, so that two
# neighbours of the same shade (Belgium and France) stay two shapes.
MAP_BACKGROUND = "#f7fbff"


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
    # Years read bottom to top under their bars (a quarter turn about the label's point).
    turn_year_labels: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.columns

    @property
    def viewbox(self) -> str:
        return f"0 0 {self.width} {self.height}"

    @property
    def trend(self) -> str:
        """How members at year end changed from the first year to the last: rose, fell or stayed."""
        if self.last_members > self.first_members:
            return "rose"
        if self.last_members < self.first_members:
            return "fell"
        return "stayed"


def _scale(value: int, height: float, top: int) -> float:
    """The length of a bar of `value` in a panel `height` units high whose axis ends at `top`."""
    return height * value / top


def labelled_years(count: int, slot: float) -> set[int]:
    """The indexes of the years that get a label: every one when it fits, else the first, the last and
    evenly spaced ones between, never two closer than a line of text."""
    if count == 0:
        return set()
    if slot >= TURNED_SLOT:
        return set(range(count))
    every = math.ceil(TURNED_SLOT / slot)
    chosen = set(range(0, count, every))
    # The last year is always labelled; the regular label before it gives way if too close.
    chosen -= {index for index in chosen if 0 < count - 1 - index < every}
    return chosen | {count - 1}


def _year_columns(
    years: list[GrowthYear], members_top: int, changes_top: int, changes_mid: float
) -> list[YearColumn]:
    """One column of bars per year, in order, on axes ending at `members_top` and `changes_top`."""
    slot = PLOT_WIDTH / max(len(years), 1)
    bar = max(slot * 0.7, 1)
    labelled = labelled_years(len(years), slot)
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
                joins_y=_fmt(changes_mid - joins),
                joins_height=_fmt(joins),
                departures_y=_fmt(changes_mid),
                departures_height=_fmt(departures),
                show_label=index in labelled,
            )
        )
    return columns


def growth_chart(years: Iterable[GrowthYear]) -> GrowthChart:
    """Lay out `stats.growth()` (objects with year, members_at_year_end, joins, departures) as bars."""
    years = sorted(years, key=lambda item: item.year)
    member_ticks = nice_ticks(max((y.members_at_year_end for y in years), default=0))
    change_max = max((max(y.joins, y.departures) for y in years), default=0)
    change_ticks = nice_ticks(change_max, count=2)
    # Top to bottom: the upper panel, the year labels (upright: one line; turned: a
    # year's length), the lower panel's title, then the lower panel.
    turned = PLOT_WIDTH / max(len(years), 1) < UPRIGHT_SLOT
    labels_bottom = MEMBERS_BASE + 6 + (YEAR_LENGTH if turned else LARGEST_FONT)
    changes_title_y = labels_bottom + TITLE_GAP
    changes_top_y = changes_title_y + TITLE_TO_PANEL
    changes_mid = changes_top_y + CHANGES_HALF
    return GrowthChart(
        columns=_year_columns(years, member_ticks[-1], change_ticks[-1], changes_mid),
        member_ticks=[
            Tick(value, _fmt(MEMBERS_BASE - _scale(value, MEMBERS_HEIGHT, member_ticks[-1])))
            for value in member_ticks
        ],
        change_ticks=[
            Tick(value, _fmt(changes_mid - sign * _scale(abs(value), CHANGES_HALF, change_ticks[-1])))
            for value in change_ticks[1:]
            for sign in (1, -1)
        ],
        width=WIDTH,
        height=int(changes_top_y + CHANGES_HEIGHT + BOTTOM),
        members_base=_fmt(MEMBERS_BASE),
        changes_zero=_fmt(changes_mid),
        changes_top=_fmt(changes_top_y),
        changes_bottom=_fmt(changes_mid + CHANGES_HALF),
        axis_left=_fmt(MARGIN_LEFT),
        axis_right=_fmt(WIDTH - MARGIN_RIGHT),
        # Upright, the label's baseline; turned, the point its last digit ends at.
        year_label_y=_fmt(MEMBERS_BASE + 6 if turned else labels_bottom),
        members_title_y=_fmt(TOP - 10),
        changes_title_y=_fmt(changes_title_y),
        first_year=years[0].year if years else None,
        last_year=years[-1].year if years else None,
        first_members=years[0].members_at_year_end if years else 0,
        last_members=years[-1].members_at_year_end if years else 0,
        total_joins=sum(y.joins for y in years),
        total_departures=sum(y.departures for y in years),
        turn_year_labels=turned,
    )


# Outlines that @svg-maps/world keys by codes ISO 3166-1 does not have. The Glorioso
# Islands (GO) and Juan de Nova (JU) are French islets that ISO counts in the French
# Southern Territories, so they are drawn as part of TF and named as it is. Kosovo
# (XK, a code left for user assignment, which django-countries does not know) is
# named here; no organisation can have it as its country.
OUTLINE_PART_OF = {"GO": "TF", "JU": "TF"}
UNCODED_NAMES = {"XK": gettext_lazy("Kosovo")}


@dataclass(frozen=True)
class Box:
    """A rectangle of the map's user units."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def centre(self) -> tuple[float, float]:
        return (self.left + self.right) / 2, (self.top + self.bottom) / 2

    def union(self, other: Box) -> Box:
        return Box(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )

    def overlaps(self, other: Box) -> bool:
        return (
            self.left < other.right
            and other.left < self.right
            and self.top < other.bottom
            and other.top < self.bottom
        )

    @property
    def viewbox(self) -> str:
        return " ".join(_fmt(n) for n in (self.left, self.top, self.width, self.height))


def _ring_boxes(path: str) -> list[Box]:
    """The bounding box of each ring of a path made of "M x y l dx dy ... z" rings."""
    boxes = []
    for ring in re.findall(r"M([^z]*)z", path):
        start, _, steps = ring.partition("l")
        x, y = (float(n) for n in start.split())
        xs, ys = [x], [y]
        numbers = [float(n) for n in steps.split()]
        for dx, dy in zip(numbers[::2], numbers[1::2], strict=True):
            x, y = x + dx, y + dy
            xs.append(x)
            ys.append(y)
        boxes.append(Box(min(xs), min(ys), max(xs), max(ys)))
    return boxes


@cache
def world_outlines() -> tuple[str, dict[str, str]]:
    """The vendored country outlines: (viewBox, {ISO alpha-2 code: SVG path}), OUTLINE_PART_OF applied."""
    data = json.loads(WORLD_DATA.read_text(encoding="utf-8"))
    outlines: dict[str, str] = {}
    for code, path in sorted(data["countries"].items()):
        owner = OUTLINE_PART_OF.get(code, code)
        outlines[owner] = f"{outlines[owner]} {path}" if owner in outlines else path
    return data["viewBox"], outlines


@cache
def outline_boxes() -> dict[str, tuple[Box, Box]]:
    """{code: (box of the whole outline, box of its largest ring)}: the largest ring is the mainland."""
    _, outlines = world_outlines()
    result = {}
    for code, path in outlines.items():
        rings = _ring_boxes(path)
        whole = functools.reduce(Box.union, rings)
        result[code] = (whole, max(rings, key=lambda box: box.width * box.height))
    return result


def world_box() -> Box:
    left, top, width, height = (float(n) for n in world_outlines()[0].split())
    return Box(left, top, left + width, top + height)


# A regional view is framed on the mainlands of the region's countries, leaving out
# a country wider than this share of the world (Russia would stretch Europe to the
# Pacific), an island farther than this share from any other of the region's
# countries (Svalbard, South Georgia, Mauritius) and, past a gap in longitude of
# this share, the smaller group (Polynesia, across the date line from the rest of
# Asia-Pacific). Member countries are always in the frame. Then a margin, and a
# shape no taller than a screen is wide.
REGION_WIDEST_COUNTRY = 0.2
REGION_NEIGHBOUR = 0.035
REGION_GAP = 0.25
VIEW_MARGIN = 0.04
VIEW_MIN_ASPECT = 1.25
# A view this close to the whole world's width shows the whole world.
WORLD_VIEW_SHARE = 0.85


def _distance(a: Box, b: Box) -> float:
    """How far apart two boxes are (0 when they touch or overlap), along the larger of the two axes."""
    return max(0.0, b.left - a.right, a.left - b.right, b.top - a.bottom, a.top - b.bottom)


def region_view(region: Iterable[str], members: Iterable[str] = ()) -> Box:
    """The part of the map to show for a region's countries and a federation's members' (ISO codes)."""
    world = world_box()
    boxes = outline_boxes()
    mainlands = sorted(
        (
            boxes[code][1]
            for code in set(region)
            if code in boxes and boxes[code][1].width <= REGION_WIDEST_COUNTRY * world.width
        ),
        key=lambda box: box.centre[0],
    )
    near = REGION_NEIGHBOUR * world.width
    mainlands = [
        box
        for box in mainlands
        if any(_distance(box, other) <= near for other in mainlands if other is not box)
    ]
    if not mainlands:
        return world
    gaps = [(b.centre[0] - a.centre[0], i + 1) for i, (a, b) in enumerate(itertools.pairwise(mainlands))]
    gap, split = max(gaps, default=(0.0, 0))
    if gap > REGION_GAP * world.width:
        mainlands = mainlands[:split] if split >= len(mainlands) - split else mainlands[split:]
    frame = functools.reduce(Box.union, mainlands + [boxes[c][1] for c in members if c in boxes])
    margin = VIEW_MARGIN * max(frame.width, frame.height)
    width, height = frame.width + 2 * margin, frame.height + 2 * margin
    width = max(width, height * VIEW_MIN_ASPECT)
    if width >= WORLD_VIEW_SHARE * world.width:
        return world
    height = min(height, world.height)
    centre_x, centre_y = frame.centre
    # Kept inside the drawing: a frame at the map's edge is moved in, not cut.
    left = min(max(centre_x - width / 2, world.left), world.right - width)
    top = min(max(centre_y - height / 2, world.top), world.bottom - height)
    return Box(left, top, left + width, top + height)


# A member country smaller than this share of the view's width (Belgium, Puerto
# Rico, Malta on the world map; Luxembourg and Malta on Europe's) would be hard to
# see: it also gets a dot, of this share of the view's width across.
SMALL_COUNTRY_SHARE = 1 / 60
MARKER_SHARE = 1 / 85


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
    background: str = MAP_BACKGROUND
    marker_radius: str = "6"
    is_regional: bool = False

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


def country_name(code: str) -> str:
    """A map country's name in the active language, from django-countries (UNCODED_NAMES otherwise).

    The outline's own English name is never shown; a code nobody knows shows as itself.
    """
    return country_registry.name(code) or str(UNCODED_NAMES.get(code, code))


def world_map(
    counts: Mapping[CountryKey, int] | Iterable[tuple[CountryKey, int]],
    region: Iterable[str] = (),
) -> WorldMap:
    """Shade each country by its number of members; `counts` maps a country (code or Country) to members.

    Given the ISO codes of a region's countries, the map shows that region
    (`region_view`) rather than the world.
    """
    pairs = counts.items() if hasattr(counts, "items") else counts
    members: dict[str, int] = {}
    for country, number in pairs:
        code = _code(country)
        if code and number:
            members[code] = members.get(code, 0) + number
    buckets = buckets_for(max(members.values(), default=0))

    def bucket_of(number: int) -> Bucket | None:
        return next((b for b in buckets if b.low <= number <= b.high), None)

    region = [_code(code) for code in region]
    view = region_view(region, members) if region else world_box()
    _, outlines = world_outlines()
    boxes = outline_boxes()
    shapes = [
        MapCountry(code, country_name(code), members.get(code, 0), bucket_of(members.get(code, 0)), path)
        for code, path in sorted(outlines.items())
        if boxes[code][0].overlaps(view)
    ]
    rows = sorted(
        (
            MapCountry(code, country_name(code), number, bucket_of(number), outlines.get(code, ""))
            for code, number in members.items()
        ),
        key=lambda row: (-row.members, row.name),
    )
    smallest = SMALL_COUNTRY_SHARE * view.width
    markers = []
    for shape in shapes:
        whole, mainland = boxes[shape.code]
        if shape.bucket and max(whole.width, whole.height) < smallest:
            x, y = mainland.centre
            markers.append(Marker(shape, _fmt(x), _fmt(y)))
    return WorldMap(
        viewbox=view.viewbox,
        shapes=shapes,
        buckets=buckets,
        rows=rows,
        markers=markers,
        marker_radius=_fmt(MARKER_SHARE * view.width / 2),
        is_regional=view != world_box(),
    )


def country_counts(regions: Iterable[RegionBreakdown]) -> dict[str, int]:
    """{country code: members} from `stats.breakdown()`'s regions, for `world_map()`."""
    return {_code(row.country): row.members for region in regions for row in region.countries if row.country}
