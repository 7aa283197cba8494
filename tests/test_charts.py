"""The growth chart and the world map: well-formed SVG that says what its data table says."""

import itertools
import xml.etree.ElementTree as ET
from collections import namedtuple

import pytest
from django.conf import settings
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


def test_every_year_is_labelled_the_first_included_while_the_labels_fit():
    for count in (1, 2, 10, 20):
        chart = charts.growth_chart([Year(2000 + i, i, 1, 0) for i in range(count)])

        assert [c.year for c in chart.columns if c.show_label] == [2000 + i for i in range(count)]


def test_years_turn_a_quarter_when_upright_labels_would_overlap():
    few = charts.growth_chart([Year(2000 + i, i, 1, 0) for i in range(4)])
    many = charts.growth_chart([Year(2000 + i, i, 1, 0) for i in range(10)])

    assert not few.turn_year_labels
    assert many.turn_year_labels
    _, tree = render("_chart.html", chart=many)
    years = next(g for g in svg_of(tree).iter(f"{SVG}g") if g.get("class") == "chart-years")
    assert all(text.get("transform", "").startswith("rotate(-90 ") for text in years)


def test_many_years_label_the_first_and_the_last_and_never_two_too_close():
    years = [Year(1950 + i, i, 1, 0) for i in range(60)]
    chart = charts.growth_chart(years)
    xs = {c.year: float(c.label_x) for c in chart.columns if c.show_label}

    assert min(xs) == 1950 and max(xs) == 2009
    assert len(xs) < 60
    assert min(b - a for a, b in itertools.pairwise(sorted(xs.values()))) >= charts.TURNED_SLOT


@pytest.mark.parametrize("count", [3, 10])
def test_lower_panel_title_sits_between_the_year_labels_and_the_panel_without_touching_either(count):
    chart = charts.growth_chart([Year(2000 + i, i, 1, i % 2) for i in range(count)])
    title = float(chart.changes_title_y)
    # The labels' lowest point: an upright label's baseline, or a turned label's whole length.
    labels_bottom = float(chart.year_label_y) + (charts.YEAR_LENGTH if chart.turn_year_labels else 0)

    # At the phones' larger font, a line of text above the baseline and a descender below it.
    assert title - charts.LARGEST_FONT >= labels_bottom
    assert float(chart.changes_top) - title >= charts.LARGEST_FONT / 3
    assert chart.height >= float(chart.changes_bottom)


def summary(years, language="en"):
    with translation.override(language):
        _, tree = render("_chart.html", chart=charts.growth_chart(years))
    return " ".join(svg_of(tree).find(f"{SVG}desc").text.split())


def test_summary_says_members_stayed_rose_or_fell_with_plural_joins_and_departures():
    assert summary([Year(2017, 4, 4, 0), Year(2018, 4, 0, 0)]) == (
        "From 2017 to 2018, members at year end stayed at 4. In all: 4 joins and 0 departures."
    )
    assert summary([Year(2017, 1, 1, 0), Year(2018, 3, 2, 0)]) == (
        "From 2017 to 2018, members at year end rose from 1 to 3. In all: 3 joins and 0 departures."
    )
    assert summary([Year(2017, 2, 2, 0), Year(2018, 1, 0, 1)]) == (
        "From 2017 to 2018, members at year end fell from 2 to 1. In all: 2 joins and 1 departure."
    )
    assert summary([Year(2017, 1, 1, 0)]) == "At the end of 2017: 1 member. In all: 1 join and 0 departures."


def test_summary_is_translated_with_plurals_and_no_separator_in_years():
    french = summary([Year(2017, 4, 4, 0), Year(2018, 4, 0, 1)], "fr")
    spanish = summary([Year(2017, 1, 1, 0), Year(2018, 3, 2, 0)], "es")

    assert "2017" in french and "2018" in french and "1 départ" in french and "4 adhésions" in french
    assert "4" in french and "went" not in french and "stayed" not in french
    assert "2017" in spanish and "de 1 a 3" in spanish and "3 adhesiones" in spanish


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


MEMBERS_BY_COUNTRY = {"FR": 4, "BE": 1, "IT": 3, "IN": 2, "PR": 1}


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
        ["France", "4"],
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


def test_every_outline_is_named_by_django_countries_but_kosovo_which_has_no_iso_code():
    from django_countries import countries

    _, outlines = charts.world_outlines()
    unknown = {code for code in outlines if not countries.name(code)}

    # The Glorioso Islands (GO) and Juan de Nova (JU) are drawn as part of the French
    # Southern Territories, as ISO 3166-1 counts them.
    assert unknown == {"XK"}
    assert "GO" not in outlines and "JU" not in outlines
    assert "TF" in outlines


@pytest.mark.parametrize(
    ("language", "names"),
    [
        ("en", {"NR": "Nauru", "TF": "French Southern Territories", "XK": "Kosovo"}),
        ("fr", {"NR": "Nauru", "TF": "Terres australes et antarctiques françaises", "XK": "Kosovo"}),
        ("es", {"NR": "Nauru", "TF": "Tierras Australes y Antárticas Francesas", "XK": "Kosovo"}),
    ],
)
def test_map_tooltips_name_every_country_in_the_reader_language_never_by_its_code(language, names):
    with translation.override(language):
        _, tree = render("_map.html", map=charts.world_map({"FR": 1}))
    titles = {
        path.get("data-country"): path.find(f"{SVG}title").text for path in svg_of(tree).iter(f"{SVG}path")
    }

    assert {code: titles[code] for code in names} == names
    assert [code for code, title in titles.items() if title == code or title == "Naoero"] == []


def test_palette_classes_differ_by_at_least_1_5_to_1_in_luminance_so_they_read_in_greyscale():
    from coloraide import Color

    shades = [Color(colour) for colour in charts.MAP_BUCKET_COLOURS]
    luminances = [shade.luminance() for shade in shades]

    assert luminances == sorted(luminances, reverse=True)  # light to dark: a sequential scale
    for lighter, darker in itertools.pairwise(shades):
        assert lighter.contrast(darker, method="wcag21") >= 1.5
    # Even the lightest member country stands out from the countries without members.
    assert shades[0].contrast(Color(charts.MAP_EMPTY_COLOUR), method="wcag21") >= 3


def test_neighbours_of_one_shade_are_parted_by_a_line_of_the_sea_colour():
    _, tree = render("_map.html", map=charts.world_map({"BE": 1, "FR": 1}))
    countries = next(g for g in svg_of(tree).iter(f"{SVG}g") if g.get("class") == "map-countries")

    assert countries.get("stroke") == charts.MAP_BACKGROUND
    assert float(countries.get("stroke-width")) >= 1
    # charts.css draws the line one screen pixel wide whatever the drawing's size.
    css = (settings.BASE_DIR / "static" / "css" / "charts.css").read_text(encoding="utf-8")
    assert "vector-effect: non-scaling-stroke" in css
    assert charts.MAP_BACKGROUND in css


def test_belgium_gets_a_dot_on_the_world_map_and_is_large_enough_on_europe():
    europe = ["BE", "FR", "DE", "NL", "LU", "IT", "ES", "PT", "PL", "SE", "NO", "FI", "GB", "IE", "MT"]
    world = charts.world_map({"BE": 1, "FR": 1, "LU": 1})
    regional = charts.world_map({"BE": 1, "FR": 1, "LU": 1}, region=europe)

    assert {m.country.code for m in world.markers} == {"BE", "LU"}
    assert {m.country.code for m in regional.markers} == {"LU"}


def test_a_region_view_frames_the_region_not_the_world():
    europe = ["BE", "FR", "DE", "NL", "IT", "ES", "PT", "PL", "SE", "NO", "FI", "GB", "IE", "RU", "SJ", "IS"]
    world = charts.world_box()
    view = charts.region_view(europe)
    boxes = charts.outline_boxes()

    assert view.width < world.width / 2
    for code in ("BE", "FR", "ES", "PL", "IT"):
        mainland = boxes[code][1]
        assert view.left <= mainland.left and mainland.right <= view.right
        assert view.top <= mainland.top and mainland.bottom <= view.bottom
    assert not (view.left <= boxes["IN"][1].left and boxes["IN"][1].right <= view.right)


def test_a_region_view_still_shows_a_member_country_outside_the_region():
    europe = ["BE", "FR", "DE", "NL", "IT", "ES"]
    view = charts.region_view(europe, members=["UY"])
    uruguay = charts.outline_boxes()["UY"][1]

    assert view.left <= uruguay.left and view.bottom >= uruguay.bottom


def test_regional_map_draws_only_the_countries_in_its_frame_but_lists_every_member():
    europe = ["BE", "FR", "DE", "NL", "IT", "ES"]
    regional = charts.world_map({"BE": 1, "IN": 1}, region=europe)

    assert regional.is_regional
    assert regional.viewbox != charts.world_outlines()[0]
    drawn = {shape.code for shape in regional.shapes}
    assert "FR" in drawn and "AU" not in drawn
    assert {row.code for row in regional.rows} == {"BE", "IN"}
    assert not charts.world_map({"BE": 1}).is_regional


def test_member_countries_too_small_to_see_also_get_a_dot_in_their_shade():
    _, tree = render("_map.html", map=charts.world_map({"PR": 1, "MT": 2, "FR": 5}))
    dots = {circle.get("data-country"): circle for circle in svg_of(tree).iter(f"{SVG}circle")}
    shades = {path.get("data-country"): path.get("fill") for path in svg_of(tree).iter(f"{SVG}path")}

    assert set(dots) == {"PR", "MT"}  # France is large enough to see; non-members get no dot
    assert all(dots[code].get("fill") == shades[code] for code in dots)
    assert dots["PR"].find(f"{SVG}title").text.startswith("Puerto Rico")
