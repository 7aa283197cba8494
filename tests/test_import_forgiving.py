"""The forgiving import: headers, values, countries, dates, slugs and matching as staff write them."""

import csv
import datetime
import io

import openpyxl
import pytest
from django.utils import translation

from members import csv_io
from members.countrynames import AmbiguousCountry, UnknownCountry, find_country
from members.csv_io.columns import match_header
from members.csv_io.dates import END_OF_PERIOD, parse_end, parse_start
from members.dates import DatePrecision
from members.models import AdmissionRule, Membership, Organisation, Source
from tests.factories import FederationFactory, MembershipFactory, OrganisationFactory, SourceFactory

D = datetime.date


def sheet(*rows, delimiter=","):
    """A CSV file (bytes) of these rows, the first being the header, as a spreadsheet saves it."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode()


def workbook(*rows):
    """An XLSX file (bytes) of these rows, cells typed as the values are (dates stay dates)."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# Headers


@pytest.mark.parametrize(
    ("written", "column"),
    [
        ("Organisation", "name"),
        ("ORGANIZATION", "name"),
        ("Nom", "name"),
        ("Nombre", "name"),
        ("Country", "country"),
        ("Pays", "country"),
        ("País", "country"),
        ("Member since", "joined_on"),
        ("member_since", "joined_on"),
        ("Membre depuis", "joined_on"),
        ("Miembro desde", "joined_on"),
        ("Federation", "federation"),
        ("Fédération", "federation"),
        ("  FEDERACIÓN ", "federation"),
        ("Source", "source_url"),
        ("URL", "source_url"),
        ("Source title", "source_title"),
        ("joined_on", "joined_on"),
        ("Kind", "kind"),
        ("Type", "kind"),
    ],
)
def test_a_header_is_matched_whatever_its_case_accents_spacing_or_language(written, column):
    assert match_header(written) == column


def test_a_header_no_table_knows_is_not_matched():
    assert match_header("Affiliation type") is None


# Dates, as written, with their precision

STARTS = [
    ("21/06/2017", D(2017, 6, 21), DatePrecision.DAY),
    ("2017-06-21", D(2017, 6, 21), DatePrecision.DAY),
    ("21 June 2017", D(2017, 6, 21), DatePrecision.DAY),
    ("21 juin 2017", D(2017, 6, 21), DatePrecision.DAY),
    ("21 de junio de 2017", D(2017, 6, 21), DatePrecision.DAY),
    ("May 2017", D(2017, 5, 1), DatePrecision.MONTH),
    ("juin 2017", D(2017, 6, 1), DatePrecision.MONTH),
    ("mayo de 2017", D(2017, 5, 1), DatePrecision.MONTH),
    ("06/2017", D(2017, 6, 1), DatePrecision.MONTH),
    ("2017", D(2017, 1, 1), DatePrecision.YEAR),
    ("first half of 2017", D(2017, 1, 1), DatePrecision.HALF_YEAR),
    ("H1 2017", D(2017, 1, 1), DatePrecision.HALF_YEAR),
    ("second half of 2017", D(2017, 7, 1), DatePrecision.HALF_YEAR),
    ("1er semestre 2017", D(2017, 1, 1), DatePrecision.HALF_YEAR),
    ("2e semestre 2017", D(2017, 7, 1), DatePrecision.HALF_YEAR),
    ("primer semestre de 2017", D(2017, 1, 1), DatePrecision.HALF_YEAR),
    ("segundo semestre de 2017", D(2017, 7, 1), DatePrecision.HALF_YEAR),
    # Known only to be a member by then: counted from the period's last day, never earlier.
    ("by 2019", D(2019, 12, 31), DatePrecision.BY),
    ("attested 2019", D(2019, 12, 31), DatePrecision.BY),
    ("attesté en 2019", D(2019, 12, 31), DatePrecision.BY),
    ("by May 2019", D(2019, 5, 31), DatePrecision.BY),
    (datetime.datetime(2017, 6, 21, 0, 0), D(2017, 6, 21), DatePrecision.DAY),
]


@pytest.mark.parametrize(("written", "day", "precision"), STARTS, ids=[str(s[0]) for s in STARTS])
def test_a_start_is_read_as_written_with_its_precision(written, day, precision):
    assert parse_start(written) == (day, precision)


ENDS = [
    ("end of 2022", D(2022, 12, 31), END_OF_PERIOD[DatePrecision.YEAR]),
    ("fin 2022", D(2022, 12, 31), END_OF_PERIOD[DatePrecision.YEAR]),
    ("finales de 2022", D(2022, 12, 31), END_OF_PERIOD[DatePrecision.YEAR]),
    ("end of May 2022", D(2022, 5, 31), END_OF_PERIOD[DatePrecision.MONTH]),
    ("fin juin 2022", D(2022, 6, 30), END_OF_PERIOD[DatePrecision.MONTH]),
    ("end of H1 2022", D(2022, 6, 30), END_OF_PERIOD[DatePrecision.HALF_YEAR]),
    ("2022", D(2022, 1, 1), DatePrecision.YEAR),
]


@pytest.mark.parametrize(("written", "day", "precision"), ENDS, ids=[s[0] for s in ENDS])
def test_a_departure_at_the_end_of_a_period_is_read_with_its_last_day(written, day, precision):
    assert parse_end(written) == (day, precision)


@pytest.mark.parametrize("written", ["31/02/2017", "sometime", "by sometime", "2017-13", "end of sometime"])
def test_what_is_no_date_is_refused_with_the_forms_accepted(written):
    with pytest.raises(ValueError, match="is not a date the import reads"):
        parse_end(written) if written.startswith("end") else parse_start(written)


def test_a_date_error_is_in_the_users_language():
    with translation.override("fr"), pytest.raises(ValueError) as error:
        parse_start("bientôt")
    assert "bientôt" in str(error.value)
    assert "is not a date" not in str(error.value)


# Countries

VARIANTS = [
    ("Czech Republic", "CZ"),
    ("United States", "US"),
    ("UK", "GB"),
    ("Turkey", "TR"),
    ("The Netherlands", "NL"),
    ("Ivory Coast", "CI"),
    ("Côte d’Ivoire", "CI"),  # a typographic apostrophe
    ("Côte d'Ivoire", "CI"),
    ("Macedonia", "MK"),
    ("DR Congo", "CD"),
    ("Republic of the Congo", "CG"),
    ("BE", "BE"),
    ("bel", "BE"),
    ("Belgique", "BE"),
    ("Bélgica", "BE"),
    ("ALLEMAGNE", "DE"),
    ("Viet Nam", "VN"),
    ("Türkiye", "TR"),
]


@pytest.mark.parametrize(("written", "code"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_a_country_is_found_by_code_name_in_three_languages_or_variant(written, code):
    assert find_country(written).country == code


@pytest.mark.parametrize(("written", "candidates"), [("Congo", ["CD", "CG"]), ("Korea", ["KP", "KR"])])
def test_an_ambiguous_country_name_is_refused_with_its_candidates(written, candidates):
    with pytest.raises(AmbiguousCountry) as error:
        find_country(written)
    assert error.value.candidates == candidates
    assert all(f"({code})" in str(error.value) for code in candidates)


@pytest.mark.parametrize(
    ("written", "code", "subdivision"),
    [
        ("India (Kerala)", "IN", "Kerala"),
        ("Basque Country (Spain)", "ES", "Basque Country"),
        ("Spain (Basque Country)", "ES", "Basque Country"),
    ],
)
def test_a_part_in_parentheses_is_the_countrys_region(written, code, subdivision):
    place = find_country(written)
    assert (place.country, place.subdivision) == (code, subdivision)


def test_an_unknown_country_is_refused():
    with pytest.raises(UnknownCountry, match="Unknown country “Atlantis”"):
        find_country("Atlantis")


# Whole files


def test_a_sheet_with_human_headers_and_values_imports_with_generated_ascii_slugs(db):
    FederationFactory(slug="cicopa", acronym="CICOPA", name="CICOPA", kind="international")
    data = sheet(
        ["Organisation", "Acronym", "Type", "Pays", "Federation", "Category", "Member since"],
        ["Svaz českých a moravských výrobních družstev", "SČMVD", "National", "Czech Republic", "CICOPA", "Full", "May 2017"],  # noqa: E501
        ["Uralungal Labour Contract Co-operative Society", "ULCCS", "coopérative", "India (Kerala)", "cicopa", "membre de plein droit", "2017"],  # noqa: E501
    )  # fmt: skip
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    created = plan.organisations_to_create
    assert sorted(created) == ["scmvd", "ulccs"]
    assert created["scmvd"]["kind"] == "national"
    assert created["scmvd"]["country"] == "CZ"
    assert (created["ulccs"]["country"], created["ulccs"]["subdivision"]) == ("IN", "Kerala")
    starts = {
        m.member: (m.values["joined_on"], m.values["joined_precision"]) for m in plan.memberships_to_create
    }
    assert starts == {"scmvd": (D(2017, 5, 1), "month"), "ulccs": (D(2017, 1, 1), "year")}


def test_every_error_of_the_file_is_reported_at_once(db):
    data = sheet(
        ["Organisation", "Colour", "Kind", "Country", "Federation", "Member since"],
        ["A", "red", "club", "Congo", "nowhere", "soon"],
        ["", "blue", "bank", "Belgium", "", ""],
    )
    plan = csv_io.plan_import(data)
    found = {(e.row, e.column) for e in plan.errors}
    assert found == {
        (1, ""),  # "Colour": no column of the register; named by its header below
        (2, "kind"),
        (2, "country"),
        (2, "federation"),
        (2, "joined_on"),
        (3, "name"),
    } or found >= {(2, "kind"), (2, "country"), (2, "federation"), (2, "joined_on"), (3, "name")}
    assert any(e.column == "Colour" and e.row == 1 for e in plan.errors)


def test_the_mapping_maps_an_unknown_header_and_defaults_fill_missing_columns(db):
    FederationFactory(slug="cecop", acronym="CECOP")
    data = sheet(
        ["Organisation", "Affiliation type", "Country", "Member since"],
        ["Coop A", "Associate", "France", "2019"],
    )
    options = {
        "mapping": {"Affiliation type": "category"},
        "defaults": {"kind": "cooperative", "federation": "CECOP"},
    }
    plan = csv_io.plan_import(data, options)
    assert plan.errors == []
    [membership] = plan.memberships_to_create
    assert (membership.member, membership.federation, membership.values["category"]) == (
        "coop-a",
        "cecop",
        "associate",
    )
    assert plan.organisations_to_create["coop-a"]["kind"] == "cooperative"


def test_an_ignored_header_is_left_out_without_error(db):
    data = sheet(["Organisation", "Notes", "Kind"], ["Coop A", "call back", "bank"])
    assert csv_io.plan_import(data, {"mapping": {"Notes": ""}}).errors == []
    assert [e.column for e in csv_io.plan_import(data).errors] == ["Notes"]


def test_two_headers_for_one_column_are_refused_by_name(db):
    data = sheet(["Organisation", "Nom", "Kind"], ["A", "A", "bank"])
    [error] = csv_io.plan_import(data).errors
    assert (error.row, error.column) == (1, "Nom")
    assert "Organisation" in error.message


def test_titles_above_the_header_are_skipped_with_a_warning(db):
    data = sheet(
        ["CICOPA members, compiled from public sources", "", ""],
        ["Organisation", "Kind", "Country"],
        ["A", "bank", "Spain"],
    )
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    assert [w.row for w in plan.warnings] == [2]
    assert plan.rows[0].row == 3


def test_semicolons_are_read_as_a_european_spreadsheet_saves_them(db):
    data = sheet(["Nom", "Type", "Pays"], ["Coop A", "banque", "Espagne"], delimiter=";")
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    assert plan.organisations_to_create["coop-a"]["country"] == "ES"


def test_an_xlsx_workbook_keeps_its_date_cells_as_days_and_its_numbers_as_years(db):
    FederationFactory(slug="cicopa", acronym="CICOPA")
    data = workbook(
        ["Organisation", "Kind", "Federation", "Member since", "Left on"],
        ["A", "bank", "CICOPA", datetime.datetime(2017, 6, 21), None],
        ["B", "bank", "CICOPA", 2015, datetime.datetime(2022, 12, 31)],
    )
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    values = {m.member: m.values for m in plan.memberships_to_create}
    assert (values["a"]["joined_on"], values["a"]["joined_precision"]) == (D(2017, 6, 21), "day")
    assert (values["b"]["joined_on"], values["b"]["joined_precision"]) == (D(2015, 1, 1), "year")
    assert (values["b"]["left_on"], values["b"]["left_precision"]) == (D(2022, 12, 31), "day")


def test_a_departure_at_the_end_of_a_period_is_counted_through_its_last_day(db):
    # "fin 2022" is read as the last day of 2022 at precision "end of the year", and stored as the
    # first day the member no longer counts: 1 January 2023 (members/dates.py's stored_left_on).
    FederationFactory(slug="cicopa", acronym="CICOPA")
    data = sheet(
        ["Organisation", "Kind", "Federation", "Member since", "Left on"],
        ["B", "bank", "CICOPA", "2015", "fin 2022"],
    )
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    [membership] = plan.memberships_to_create
    assert (membership.values["left_on"], membership.values["left_precision"]) == (
        D(2023, 1, 1),
        DatePrecision.END_YEAR,
    )


def test_a_formula_in_a_workbook_gives_its_saved_value_never_runs(db):
    book = openpyxl.Workbook()
    book.active.append(["Organisation", "Kind"])
    book.active.append(["=1+1", "bank"])
    out = io.BytesIO()
    book.save(out)
    plan = csv_io.plan_import(out.getvalue())
    # openpyxl saved no computed value, so the cell is empty: a required cell, refused.
    assert [(e.row, e.column) for e in plan.errors] == [(2, "name")]


# Matching the register


def test_an_existing_organisation_is_found_by_name_and_country_not_duplicated(db):
    stored = OrganisationFactory(
        slug="ulccs", name="Uralungal Labour Contract Co-operative Society", country="IN"
    )
    data = sheet(
        ["Organisation", "Country", "City"],
        ["URALUNGAL labour contract co-operative society", "India", "Vatakara"],
    )
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    assert plan.organisations_to_create == {}
    assert plan.organisations_to_update == {
        stored.pk: {"name": "URALUNGAL labour contract co-operative society", "city": "Vatakara"}
    }


def test_an_existing_organisation_is_found_by_acronym_and_country(db):
    stored = OrganisationFactory(
        slug="cgscop", name="Confédération générale des SCOP", acronym="CG Scop", country="FR"
    )
    data = sheet(
        ["Acronym", "Organisation", "Country"], ["CG SCOP", "Confédération générale des SCOP", "France"]
    )
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    assert plan.rows[0].slug == stored.slug


def test_a_new_organisation_named_like_one_elsewhere_is_a_warning_never_silent(db):
    OrganisationFactory(slug="coop-a-fr", name="Coop A", country="FR")
    data = sheet(["Organisation", "Kind", "Country"], ["Coop A", "bank", "Spain"])
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    assert list(plan.organisations_to_create) == ["coop-a"]
    [warning] = plan.warnings
    assert (warning.row, warning.column) == (2, "name")
    assert "coop-a-fr" in warning.message


def test_a_generated_slug_is_unique_against_the_register_and_the_file(db):
    OrganisationFactory(slug="abc", name="Something else", acronym="", country="FR")
    data = sheet(
        ["Organisation", "Acronym", "Kind", "Country"],
        ["Alpha Beta", "ABC", "bank", "Spain"],
        ["Alpha Beta Gamma", "ABC", "bank", "Chile"],
    )
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    assert sorted(plan.organisations_to_create) == ["alpha-beta", "alpha-beta-gamma"]


def test_one_organisation_in_two_federations_is_one_organisation(db):
    FederationFactory(slug="cicopa", acronym="CICOPA")
    FederationFactory(slug="cecop", acronym="CECOP")
    data = sheet(
        ["Organisation", "Kind", "Country", "Federation", "Member since"],
        ["Coop A", "bank", "Spain", "CICOPA", "2015"],
        ["Coop A", "", "", "CECOP", "2016"],
    )
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    assert list(plan.organisations_to_create) == ["coop-a"]
    assert sorted(m.federation for m in plan.memberships_to_create) == ["cecop", "cicopa"]


def test_a_federation_named_by_two_organisations_is_refused_with_both(db):
    OrganisationFactory(slug="fed-one", name="Fed", acronym="", kind="national")
    OrganisationFactory(slug="fed-two", name="Fed", acronym="", kind="national")
    data = sheet(["Organisation", "Kind", "Federation", "Member since"], ["A", "bank", "Fed", "2017"])
    [error] = csv_io.plan_import(data).errors
    assert error.column == "federation"
    assert "fed-one" in error.message and "fed-two" in error.message


# Sources and starts nobody knows


def test_a_start_nobody_knows_is_attested_by_the_sources_date_and_the_source_is_kept(db):
    FederationFactory(slug="cicopa", acronym="CICOPA")
    SourceFactory(title="Members 2019", url="https://example.org/2019", published_on=D(2019, 3, 1))
    data = sheet(
        ["Organisation", "Kind", "Federation", "Member since", "Source", "Source title"],
        ["A", "bank", "CICOPA", "", "https://example.org/2019", ""],
        ["B", "bank", "CICOPA", "", "https://example.org/new", "A new list"],
    )
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    values = {m.member: m.values for m in plan.memberships_to_create}
    assert (values["a"]["joined_on"], values["a"]["joined_precision"]) == (D(2019, 3, 1), DatePrecision.BY)
    assert (values["b"]["joined_on"], values["b"]["joined_precision"]) == (
        datetime.date.today(),
        DatePrecision.BY,
    )
    assert plan.sources_to_create == {
        "https://example.org/new": {"title": "A new list", "url": "https://example.org/new"}
    }
    counts = csv_io.apply_import(plan)
    assert counts["memberships_created"] == 2
    b = Membership.objects.get(member__slug="b")
    assert (b.source.url, b.source.title) == ("https://example.org/new", "A new list")
    assert Membership.objects.get(member__slug="a").source.title == "Members 2019"
    assert Source.objects.count() == 2


def test_a_start_with_neither_date_nor_source_is_refused_never_invented(db):
    FederationFactory(slug="cicopa", acronym="CICOPA")
    data = sheet(["Organisation", "Kind", "Federation", "Member since"], ["A", "bank", "CICOPA", ""])
    [error] = csv_io.plan_import(data).errors
    assert (error.row, error.column) == (2, "joined_on")
    assert "never makes a date up" in error.message


def test_a_row_without_a_date_for_a_stored_membership_leaves_its_dates_alone(db):
    cicopa = FederationFactory(slug="cicopa", acronym="CICOPA")
    member = OrganisationFactory(slug="a", name="A")
    MembershipFactory(member=member, federation=cicopa, joined_on=D(2010, 1, 1))
    data = sheet(["Organisation", "Federation", "Source"], ["A", "CICOPA", "https://example.org/list"])
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    assert plan.memberships_to_create == []
    [changed] = plan.memberships_to_update.values()
    assert set(changed) == {"source"}


# Admission rules, for the register as the import would leave it


def test_the_preview_warns_of_the_admission_rule_breaches_the_import_would_create(db):
    cicopa = FederationFactory(slug="cicopa", acronym="CICOPA")
    cecop = FederationFactory(slug="cecop", acronym="CECOP")
    AdmissionRule.objects.create(federation=cecop, requires=cicopa)
    already = OrganisationFactory(slug="old", name="Old")
    MembershipFactory(member=already, federation=cecop, joined_on=D(2010, 1, 1))  # a breach already stored
    data = sheet(
        ["Organisation", "Kind", "Federation", "Member since"],
        ["Both", "bank", "CICOPA", "2015"],
        ["Both", "", "CECOP", "2015"],
        ["Only CECOP", "bank", "CECOP", "2015"],
        ["Old", "", "CECOP", "2010-01-01"],
    )
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    breaches = [w for w in plan.warnings if "requires" in w.message]
    assert [(w.row, w.column) for w in breaches] == [(4, "federation")]
    assert "Only CECOP would be a member of CECOP without being a member of CICOPA" in breaches[0].message


def test_an_organisation_of_the_register_matched_by_name_keeps_its_kind(db):
    stored = OrganisationFactory(slug="a", name="A", kind="bank")
    plan = csv_io.plan_import(sheet(["Organisation", "City"], ["A", "Lyon"]))
    assert plan.errors == []
    assert plan.organisations_to_update == {stored.pk: {"city": "Lyon"}}
    assert Organisation.objects.get(pk=stored.pk).kind == "bank"


def test_a_new_organisation_with_a_near_identical_name_is_a_warning(db):
    OrganisationFactory(slug="coop-a-fr", name="Co-op A.", country="FR")
    plan = csv_io.plan_import(sheet(["Organisation", "Kind", "Country"], ["COOP A", "bank", "Spain"]))
    assert plan.errors == []
    assert list(plan.organisations_to_create) == ["coop-a"]
    [warning] = plan.warnings
    assert "coop-a-fr" in warning.message
