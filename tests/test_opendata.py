"""The open-data JSON: valid against its committed schema, filtered like the directory, streamed."""

import datetime
import json
from pathlib import Path

import jsonschema
import pytest
from django.urls import reverse

from members.dates import DatePrecision
from members.models import Organisation
from tests.factories import (
    DeclaredFiguresFactory,
    FederationFactory,
    MembershipFactory,
    OrganisationFactory,
    SourceFactory,
)

SCHEMA = json.loads((Path(__file__).parent.parent / "members/schemas/register.schema.json").read_text())
URL = "/data/register.json"


def fetch(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(b"".join(response.streaming_content))


def test_open_data_has_a_stable_address_outside_the_language_prefix():
    assert reverse("opendata-register") == URL


def test_seeded_register_validates_against_the_committed_schema(client, seeded):
    document = fetch(client)
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert {o["id"] for o in document["organizations"]} == set(
        Organisation.objects.values_list("slug", flat=True)
    )
    ulccs = next(m for m in document["memberships"] if m["member_id"] == "ulccs")
    assert (ulccs["organization_id"], ulccs["start_date"], ulccs["start_date_precision"]) == (
        "cicopa",
        "2017-05-01",
        "month",
    )
    assert ulccs["sources"][0]["note"].startswith("CICOPA family keeps on growing")


def test_memberships_and_declared_figures_carry_dates_precision_and_sources(client, db):
    source = SourceFactory(title="Annual report", url="https://example.org/report")
    member = OrganisationFactory(slug="member", acronym="MEM", website="https://member.example/")
    MembershipFactory(
        member=member,
        federation=FederationFactory(slug="fed"),
        joined_on=datetime.date(2010, 1, 1),
        joined_precision=DatePrecision.YEAR,
        left_on=datetime.date(2016, 7, 1),
        left_precision=DatePrecision.HALF_YEAR,
        source=source,
        source_note="joined in 2010, left in the second half of 2016",
    )
    DeclaredFiguresFactory(organisation=member, enterprises=3, employment=30, source=source)
    document = fetch(client)
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    [membership] = document["memberships"]
    assert membership["end_date"] == "2016-07-01"
    assert membership["end_date_precision"] == "half"
    assert membership["sources"] == [
        {
            "note": "Annual report",
            "url": "https://example.org/report",
            "publisher": "Test publisher",
            "date": "2020-01-01",
            "quote": "joined in 2010, left in the second half of 2016",
        }
    ]
    [declaration] = document["declared_figures"]
    assert (declaration["organization_id"], declaration["enterprises"], declaration["employment"]) == (
        "member",
        3,
        30,
    )
    organisation = next(o for o in document["organizations"] if o["id"] == "member")
    assert organisation["other_names"] == [{"name": "MEM", "note": "acronym"}]
    assert organisation["links"] == [{"url": "https://member.example/", "note": "website"}]


def test_directory_filters_select_the_organisations_and_keep_their_federations(client, db):
    federation = FederationFactory(slug="fed")
    MembershipFactory(member=OrganisationFactory(slug="in-belgium", country="BE"), federation=federation)
    MembershipFactory(member=OrganisationFactory(slug="in-france", country="FR"), federation=federation)
    document = fetch(client, country="BE")
    jsonschema.validate(document, SCHEMA)
    assert [o["id"] for o in document["organizations"]] == ["fed", "in-belgium"]
    assert [m["member_id"] for m in document["memberships"]] == ["in-belgium"]


def test_open_data_runs_the_same_queries_for_small_and_larger_registers(
    client, db, django_assert_num_queries
):
    def populate(count):
        federation = FederationFactory()
        for _ in range(count):
            organisation = OrganisationFactory()
            MembershipFactory(member=organisation, federation=federation)
            DeclaredFiguresFactory(organisation=organisation)

    populate(2)
    # One query per list: organisations, memberships, declared figures.
    with django_assert_num_queries(3):
        small = fetch(client)
    populate(50)
    with django_assert_num_queries(3):
        large = fetch(client)
    assert (len(small["memberships"]), len(large["memberships"])) == (2, 52)


@pytest.mark.parametrize("name", ["=cmd|' /C calc'!A0", 'Coop, "quoted"\nnew line'])
def test_text_is_carried_verbatim_in_json(client, db, name):
    OrganisationFactory(slug="org", name=name)
    [organisation] = fetch(client)["organizations"]
    assert organisation["name"] == name


def test_the_schema_lists_the_models_kinds_categories_precisions_and_year_bounds():
    from members import rules
    from members.models import Membership

    definitions = SCHEMA["$defs"]
    assert definitions["organization"]["properties"]["classification"]["enum"] == Organisation.Kind.values
    assert definitions["membership"]["properties"]["role"]["enum"] == Membership.Category.values
    assert definitions["precision"]["enum"] == DatePrecision.values
    year = definitions["declared_figures"]["properties"]["year"]
    assert (year["minimum"], year["maximum"]) == (rules.YEAR_MIN, rules.YEAR_MAX)


MARKUP = '<img src=x onerror=alert(1)><a href="//evil.example/">Log in</a><iframe src="//evil.example/">'


def test_markup_in_names_sources_and_notes_is_carried_as_json_text_no_browser_renders(client, db):
    source = SourceFactory(title=f"Report {MARKUP}")
    MembershipFactory(member__name=MARKUP, member__slug="org", source=source, source_note=MARKUP)

    response = client.get(URL)
    document = json.loads(b"".join(response.streaming_content))

    # JSON strings are text: the characters as typed, and no browser sniffs the file as HTML.
    assert response["X-Content-Type-Options"] == "nosniff"
    assert next(o for o in document["organizations"] if o["id"] == "org")["name"] == MARKUP
    [membership] = document["memberships"]
    assert membership["sources"][0]["note"] == f"Report {MARKUP}"
    assert membership["sources"][0]["quote"] == MARKUP
