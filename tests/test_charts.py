"""The growth chart and the world map: well-formed SVG that says what its data table says."""

import itertools
import xml.etree.ElementTree as ET
from collections import namedtuple

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from members import charts

SVG = "{http://www.w3.org/2000/svg}"

# Stands in for stats.GrowthYear: the chart only reads these four attributes.
Year = namedtuple("Year", "year members_at_year_end joins departures")

SERIES = [
    Year(2014, 3, 3, 0),
    Year(2015, 5, 2, 0),
    Year(2016, 4, 1, 2),
    Year(2017, 8, 4, 0),
]


def render(template, **context):
    """The include's markup parsed as XML: it must be well-formed to parse at all."""
    html = render_to_string(f"members/includes/{template}", context)
    return html, ET.fromstring(f"<div>{html}</div>")  # noqa: S314 - our own markup, not untrusted input


def svg_of(tree):
    return tree.find(f".//{SVG}svg")


def table_rows(tree):
    return [[cell.text.strip() for cell in row] for row in tree.iter("tr")][1:]


def bars(svg, group_class):
    group = next(g for g in svg.iter(f"{SVG}g") if group_class in g.get("class", ""))
    return group.findall(f"{SVG}rect")


def test_growth_chart_draws_one_member_bar_per_year_in_order():
    _, tree = render("_chart.html", chart=charts.growth_chart(reversed(SERIES)))

    members = bars(svg_of(tree), "chart-members")

    assert len(members) == len(SERIES)
    years = [rect.find(f"{SVG}title").text.split(":")[0] for rect in members]
    assert years == ["2014", "2015", "2016", "2017"]
    xs = [float(rect.get("x")) for rect in members]
    assert xs == sorted(xs)


def test_taller_membership_draws_a_taller_bar_on_a_shared_baseline():
    chart = charts.growth_chart(SERIES)
    heights = {column.year: float(column.members_height) for column in chart.columns}
    bottoms = {round(float(c.members_y) + float(c.members_height), 1) for c in chart.columns}

    assert heights[2017] > heights[2015] > heights[2016] > heights[2014]
    assert heights[2017] / heights[2014] == pytest.approx(8 / 3, rel=0.02)
    assert bottoms == {float(chart.members_base)}


def test_joins_rise_above_and_departures_fall_below_the_zero_line():
    chart = charts.growth_chart(SERIES)
    zero = float(chart.changes_zero)
    column_2016 = next(c for c in chart.columns if c.year == 2016)

    assert float(column_2016.joins_y) + float(column_2016.joins_height) == pytest.approx(zero)
    assert float(column_2016.departures_y) == pytest.approx(zero)
    assert float(column_2016.departures_height) == pytest.approx(2 * float(column_2016.joins_height))


def test_growth_chart_only_draws_years_with_joins_or_departures_in_the_lower_panel():
    _, tree = render("_chart.html", chart=charts.growth_chart(SERIES))
    svg = svg_of(tree)

    assert len(bars(svg, "chart-joins")) == sum(1 for y in SERIES if y.joins)
    assert len(bars(svg, "chart-departures")) == sum(1 for y in SERIES if y.departures)


def test_growth_table_lists_the_same_figures_as_the_chart():
    _, tree = render("_chart.html", chart=charts.growth_chart(SERIES))

    assert table_rows(tree) == [[str(v) for v in year] for year in SERIES]


def test_growth_chart_is_an_image_labelled_by_its_title_and_description():
    _, tree = render("_chart.html", chart=charts.growth_chart(SERIES), chart_id="cicopa-growth")
    svg = svg_of(tree)

    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "cicopa-growth-title cicopa-growth-desc"
    assert svg.find(f"{SVG}title").get("id") == "cicopa-growth-title"
    description = svg.find(f"{SVG}desc")
    assert description.get("id") == "cicopa-growth-desc"
    assert "2014" in description.text and "2017" in description.text


def test_chart_and_map_carry_no_inline_style_or_script_for_a_strict_csp():
    chart_html, _ = render("_chart.html", chart=charts.growth_chart(SERIES))
    map_html, _ = render("_map.html", map=charts.world_map({"FR": 2}))

    for html in (chart_html, map_html):
        assert "style=" not in html
        assert "<script" not in html


def test_coordinates_keep_a_decimal_point_in_french():
    with translation.override("fr"):
        _, tree = render("_chart.html", chart=charts.growth_chart([Year(2016, 3, 3, 0), Year(2017, 7, 4, 0)]))

    for rect in svg_of(tree).iter(f"{SVG}rect"):
        for attribute in ("x", "y", "width", "height"):
            float(rect.get(attribute))  # "12,5" would raise


def test_many_years_label_only_some_years_but_always_the_last():
    years = [Year(1950 + i, i, 1, 0) for i in range(60)]
    chart = charts.growth_chart(years)
    labelled = [c.year for c in chart.columns if c.show_label]

    assert labelled[-1] == 2009
    assert 5 <= len(labelled) <= 8


def test_an_empty_history_says_so_instead_of_drawing():
    html, tree = render("_chart.html", chart=charts.growth_chart([]))

    assert svg_of(tree) is None
    assert "No membership history" in html


def test_nice_ticks_start_at_zero_and_reach_the_maximum():
    for maximum in (1, 3, 7, 48, 130, 4000):
        ticks = charts.nice_ticks(maximum)
        assert ticks[0] == 0
        assert ticks[-1] >= maximum
        assert len({b - a for a, b in itertools.pairwise(ticks)}) == 1


MEMBERS_BY_COUNTRY = {"FR": 5, "BE": 1, "IT": 3, "IN": 2, "PR": 1}


def member_paths(svg):
    return {path.get("data-country") for path in svg.iter(f"{SVG}path") if "map-member" in path.get("class")}


def test_map_shades_exactly_the_member_countries():
    _, tree = render("_map.html", map=charts.world_map(MEMBERS_BY_COUNTRY))
    svg = svg_of(tree)
    empty = {path.get("fill") for path in svg.iter(f"{SVG}path") if "map-member" not in path.get("class")}

    assert member_paths(svg) == set(MEMBERS_BY_COUNTRY)
    assert empty == {charts.MAP_EMPTY_COLOUR}
    assert len(list(svg.iter(f"{SVG}path"))) > 200  # the whole world is drawn, not just members


def test_map_shades_a_country_darker_the_more_members_it_has():
    world = charts.world_map(MEMBERS_BY_COUNTRY)
    bucket = {shape.code: shape.bucket.index for shape in world.shapes if shape.bucket}

    assert bucket["FR"] > bucket["IT"] > bucket["IN"] > bucket["BE"] == bucket["PR"]


def test_map_table_lists_each_member_country_with_its_count_largest_first():
    with translation.override("en"):
        _, tree = render("_map.html", map=charts.world_map(MEMBERS_BY_COUNTRY))

    assert table_rows(tree) == [
        ["France", "5"],
        ["Italy", "3"],
        ["India", "2"],
        ["Belgium", "1"],
        ["Puerto Rico", "1"],
    ]


def test_map_names_countries_in_the_reader_language():
    with translation.override("es"):
        _, tree = render("_map.html", map=charts.world_map({"BE": 2}))
    paths = svg_of(tree).iter(f"{SVG}path")
    titles = {path.get("data-country"): path.find(f"{SVG}title").text for path in paths}

    assert titles["BE"].startswith("Bélgica")
    assert titles["DE"] == "Alemania"


def test_map_adds_up_counts_given_per_country_object_and_code():
    from django_countries.fields import Country

    world = charts.world_map([(Country("fr"), 2), ("FR", 1), (None, 4)])

    assert [(row.code, row.members) for row in world.rows] == [("FR", 3)]


def test_legend_buckets_cover_every_count_without_gaps():
    for maximum in (1, 4, 5, 6, 17, 250):
        buckets = charts.buckets_for(maximum)
        assert buckets[0].low == 1
        assert buckets[-1].high == maximum
        assert all(b.low == a.high + 1 for a, b in itertools.pairwise(buckets))
        assert len(buckets) <= len(charts.MAP_BUCKET_COLOURS)


def test_text_in_chart_and_map_is_escaped(monkeypatch):
    hostile = '<script>alert("x")</script> & Co'
    monkeypatch.setattr(charts.country_registry, "name", lambda code: hostile)

    html, tree = render("_map.html", map=charts.world_map({"FR": 1}), map_id='m" onload="x')

    assert "<script>" not in html
    assert hostile in {row.find("th").text for row in tree.iter("tr")}
    assert svg_of(tree).get("id") is None  # the id lives on the wrapper, and stayed one attribute
    assert tree.find("div").get("id") == 'm" onload="x'


def test_every_outline_is_keyed_by_a_country_django_countries_knows():
    from django_countries import countries

    _, outlines = charts.world_outlines()
    unknown = {code for code in outlines if not countries.name(code)}

    # Kosovo and two French islets have outlines but no ISO 3166-1 code of their own.
    assert unknown <= {"XK", "GO", "JU"}


def test_member_countries_too_small_to_see_also_get_a_dot_in_their_shade():
    _, tree = render("_map.html", map=charts.world_map({"PR": 1, "MT": 2, "FR": 5}))
    dots = {circle.get("data-country"): circle for circle in svg_of(tree).iter(f"{SVG}circle")}
    shades = {path.get("data-country"): path.get("fill") for path in svg_of(tree).iter(f"{SVG}path")}

    assert set(dots) == {"PR", "MT"}  # France is large enough to see; non-members get no dot
    assert all(dots[code].get("fill") == shades[code] for code in dots)
    assert dots["PR"].find(f"{SVG}title").text.startswith("Puerto Rico")
