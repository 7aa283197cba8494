"""The open-data JSON: valid against Popolo's schemas and its own, filtered like the directory, streamed."""

import datetime
import json
import secrets
from pathlib import Path

import jsonschema
import pytest
from django.urls import reverse

from members.dates import DatePrecision
from members.models import Organisation
from tests import popolo
from tests.devtools.management.commands.generate_synthetic import generate
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
    ulccs = next(m for m in document["memberships"] if m["member"]["id"] == "ulccs")
    assert (ulccs["organization_id"], ulccs["start_date"], ulccs["start_date_precision"]) == (
        "cicopa",
        "2017-05",
        "month",
    )
    assert ulccs["citations"][0]["title"].startswith("CICOPA family keeps on growing")


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
    assert (membership["start_date"], membership["start_date_precision"]) == ("2010", "year")
    assert (membership["end_date"], membership["end_date_precision"], membership["end_date_half"]) == (
        "2016",
        "half",
        2,
    )
    assert membership["sources"] == [{"url": "https://example.org/report", "note": "Annual report"}]
    assert membership["citations"] == [
        {
            "title": "Annual report",
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
    assert [m["member"]["id"] for m in document["memberships"]] == ["in-belgium"]


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
    # "by" is no precision of a Popolo date: such a day is written as attested_on or ended_by.
    assert definitions["precision"]["enum"] == [p for p in DatePrecision.values if p != DatePrecision.BY]
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
    assert membership["citations"][0]["title"] == f"Report {MARKUP}"
    assert membership["citations"][0]["quote"] == MARKUP


# --- Popolo's own schemas -------------------------------------------------------


def assert_popolo(document, label="register"):
    """Every organisation and membership validates against Popolo's schema, and names both sides."""
    problems = []
    for kind, items in (("organization", document["organizations"]), ("membership", document["memberships"])):
        for item in items:
            problems += [f"{kind} {item['id']}: {error}" for error in popolo.errors(kind, item)]
    assert problems == [], label
    for membership in document["memberships"]:
        # Popolo 4. Serialization: a member (an organisation here: `member`) and an organization.
        assert membership["member"]["@type"] == "Organization"
        assert membership["organization_id"]
        assert "member_id" not in membership and "person_id" not in membership
    assert document["organizations"] and document["memberships"]


@popolo.needs_popolo_schemas
def test_every_organisation_and_membership_of_the_seed_validates_against_popolo(client, seeded):
    assert_popolo(fetch(client))


@popolo.needs_popolo_schemas
def test_every_organisation_and_membership_of_a_random_synthetic_register_validates_against_popolo(
    client, db
):
    seed = secrets.randbelow(1_000_000)  # printed on failure, to replay it
    generate(150, seed=seed, method="bulk")
    document = fetch(client)
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert_popolo(document, f"synthetic register of seed {seed}")


@popolo.needs_popolo_schemas
def test_popolo_schemas_refuse_what_the_register_used_to_write():
    """The check can fail: a source without an address, a member_id and a date with its day invented."""
    assert popolo.errors("organization", {"id": "x", "sources": [{"note": "Annual report"}]}) == [
        "sources/0/url: 'url' is a required property"
    ]
    assert popolo.errors("membership", {"member": "x", "start_date": "2017-1"})


def every_precision():
    source = SourceFactory(title="Minutes", url="")
    federation = FederationFactory(slug="fed")
    dates = {
        "day": datetime.date(2017, 6, 21),
        "month": datetime.date(2017, 5, 1),
        "half": datetime.date(2017, 7, 1),
        "year": datetime.date(2017, 1, 1),
        "by": datetime.date(2017, 6, 21),
    }
    for precision, day in dates.items():
        MembershipFactory(
            member=OrganisationFactory(slug=f"joined-{precision}"),
            federation=federation,
            joined_on=day,
            joined_precision=precision,
            left_on=datetime.date(2019, 1, 1) if precision == "by" else None,
            left_precision="by" if precision == "by" else "day",
            source=source,
            source_note=f"a {precision} date",
        )


def test_imprecise_dates_are_reduced_iso_dates_with_their_precision_beside_them(client, db):
    every_precision()
    document = fetch(client)
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    starts = {
        m["member"]["id"]: (m.get("start_date"), m.get("start_date_precision"), m.get("start_date_half"))
        for m in document["memberships"]
    }
    assert starts == {
        "joined-day": ("2017-06-21", "day", None),
        "joined-month": ("2017-05", "month", None),
        "joined-half": ("2017", "half", 2),
        "joined-year": ("2017", "year", None),
        "joined-by": (None, None, None),
    }


def test_a_date_known_only_by_a_source_is_no_start_or_end_date(client, db):
    every_precision()
    [by] = [m for m in fetch(client)["memberships"] if m["member"]["id"] == "joined-by"]
    assert "start_date" not in by and "end_date" not in by
    assert (by["attested_on"], by["ended_by"]) == ("2017-06-21", "2019-01-01")


def test_a_source_without_an_address_is_a_citation_not_a_link(client, db):
    every_precision()
    membership = fetch(client)["memberships"][0]
    assert membership["sources"] == []
    assert membership["citations"][0]["title"] == "Minutes"
    assert "url" not in membership["citations"][0]


@popolo.needs_popolo_schemas
def test_every_precision_validates_against_popolo(client, db):
    every_precision()
    assert_popolo(fetch(client))
