"""`load_seed` loads the news item's facts, exactly and only once."""

import datetime
import io

import pytest
from django.core.management import call_command

from members.dates import DatePrecision
from members.models import AdmissionRule, DeclaredFigures, Membership, Organisation, Source

D = datetime.date
MODELS = (Organisation, Membership, DeclaredFigures, Source, AdmissionRule)


def snapshot():
    return {
        "organisations": sorted(
            Organisation.objects.values_list(
                "slug", "name", "acronym", "kind", "country", "subdivision", "founded"
            )
        ),
        "memberships": sorted(
            Membership.objects.values_list(
                "member__slug", "federation__slug", "category", "joined_on", "joined_precision", "left_on"
            )
        ),
        "declarations": sorted(
            DeclaredFigures.objects.values_list(
                "organisation__slug",
                "declared_on",
                "member_organisations",
                "countries",
                "enterprises",
                "employment",
            )
        ),
    }


def test_loading_the_seed_twice_duplicates_nothing(seeded):
    counts = {model: model.objects.count() for model in MODELS}
    first = snapshot()
    call_command("load_seed", stdout=io.StringIO())
    assert {model: model.objects.count() for model in MODELS} == counts
    assert snapshot() == first


def test_the_seed_holds_the_six_organisations_of_the_news_item(seeded):
    assert sorted(Organisation.objects.values_list("slug", "country")) == [
        ("cecop", ""),
        ("cicopa", "BE"),
        ("credit-cooperatif", "FR"),
        ("ligacoop", "PR"),
        ("smart", "BE"),
        ("ulccs", "IN"),
    ]


def test_the_four_2017_joiners_carry_the_precision_the_text_gives(seeded):
    joins = {
        member: (joined_on, precision)
        for member, joined_on, precision in Membership.objects.filter(federation__slug="cicopa")
        .exclude(category=Membership.Category.REGIONAL)
        .values_list("member__slug", "joined_on", "joined_precision")
    }
    assert joins == {
        "ligacoop": (D(2017, 1, 1), DatePrecision.HALF_YEAR),
        "ulccs": (D(2017, 5, 1), DatePrecision.MONTH),
        "credit-cooperatif": (D(2017, 1, 1), DatePrecision.HALF_YEAR),
        "smart": (D(2017, 1, 1), DatePrecision.HALF_YEAR),
    }


def test_cecop_is_linked_to_cicopa_as_its_regional_organisation(seeded):
    link = Membership.objects.get(member__slug="cecop", federation__slug="cicopa")
    assert link.category == Membership.Category.REGIONAL
    assert (link.joined_on, link.joined_precision) == (D(2017, 6, 21), DatePrecision.BY)


def test_cicopas_declaration_of_21_june_2017_is_loaded_with_its_source(seeded):
    declaration = DeclaredFigures.objects.get(organisation__slug="cicopa")
    assert (
        declaration.declared_on,
        declaration.member_organisations,
        declaration.countries,
        declaration.enterprises,
        declaration.employment,
    ) == (D(2017, 6, 21), 48, 32, 68_000, 4_000_000)
    assert declaration.source.published_on == D(2017, 6, 21)
    assert "48 members in 32 countries" in declaration.source_note


def test_smart_records_its_unnamed_countries_without_inventing_them(seeded):
    smart = Organisation.objects.get(slug="smart")
    assert [country.code for country in smart.countries_of_operation] == ["BE"]
    assert smart.unnamed_countries_of_operation == 8


def test_cicopas_secretariat_address_is_loaded(seeded):
    cicopa = Organisation.objects.get(slug="cicopa")
    assert "avenue Milcamps 105" in cicopa.address
    assert cicopa.phone == "+32 2 543 1033"
    assert cicopa.email == ""  # the news item's address is cut off; nothing is guessed


@pytest.mark.parametrize("model", [Membership, DeclaredFigures, Organisation])
def test_every_seeded_fact_names_its_source(seeded, model):
    assert model.objects.filter(source__isnull=True).count() == 0


def test_the_admission_rules_between_cicopa_and_cecop_are_data(seeded):
    rules = sorted(
        AdmissionRule.objects.values_list("federation__slug", "region__slug", "requires__slug"),
        key=str,
    )
    assert rules == sorted([("cecop", None, "cicopa"), ("cicopa", "europe", "cecop")], key=str)
