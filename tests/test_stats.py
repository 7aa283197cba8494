"""The statistics engine: members, countries and figures as of a date, without double counting."""

import datetime

import pytest
import time_machine
from django.utils import translation

from members import sentences, stats
from members.dates import DatePrecision
from members.models import AdmissionRule, Membership, Organisation, Region

D = datetime.date
DAY = D(2017, 6, 21)
# The news item's sentence, without its "now".
SEED_SENTENCE = (
    "CICOPA affiliates 48 members in 32 countries, "
    "representing 68,000 enterprises which employ 4 million people."
)


@pytest.fixture
def federation(federation_factory):
    return federation_factory(acronym="FED")


def members_on(federation, day):
    return stats.federation_figures(federation, day).members


# --- As of a date -----------------------------------------------------------------


def test_member_who_joined_on_the_date_is_counted(federation, membership_factory):
    membership_factory(federation=federation, joined_on=DAY)
    assert members_on(federation, DAY) == 1
    assert members_on(federation, DAY - datetime.timedelta(days=1)) == 0


def test_member_who_left_on_the_date_is_not_counted(federation, membership_factory):
    membership_factory(federation=federation, joined_on=D(2010, 1, 1), left_on=DAY)
    assert members_on(federation, DAY) == 0
    assert members_on(federation, DAY - datetime.timedelta(days=1)) == 1


def test_member_who_left_and_rejoined_counts_only_while_a_member(federation, membership_factory):
    first = membership_factory(federation=federation, joined_on=D(2010, 1, 1), left_on=D(2014, 3, 1))
    membership_factory(federation=federation, member=first.member, joined_on=D(2016, 1, 1))
    assert [members_on(federation, D(year, 6, 1)) for year in (2012, 2015, 2017)] == [1, 0, 1]


def test_as_of_defaults_to_today(federation, membership_factory):
    membership_factory(federation=federation, joined_on=D(2017, 1, 1), left_on=D(2018, 1, 1))
    with time_machine.travel(datetime.datetime(2017, 6, 21, 12, tzinfo=datetime.UTC), tick=False):
        figures = stats.federation_figures(federation)
    assert (figures.as_of, figures.members) == (DAY, 1)
    with time_machine.travel(datetime.datetime(2019, 6, 21, 12, tzinfo=datetime.UTC), tick=False):
        assert stats.federation_figures(federation).members == 0


def test_a_join_known_only_to_the_month_counts_from_its_first_day(federation, organisation_factory):
    membership = Membership(
        member=organisation_factory(),
        federation=federation,
        joined_on=D(2017, 5, 17),
        joined_precision="month",
    )
    membership.full_clean()
    membership.save()
    assert members_on(federation, D(2017, 5, 1)) == 1
    assert members_on(federation, D(2017, 4, 30)) == 0


# --- Members, categories, countries and coverage ---------------------------------------


def test_members_are_counted_by_category_without_the_regional_organisation(
    federation, membership_factory, federation_factory
):
    for category in ["full", "full", "associate", "observer"]:
        membership_factory(federation=federation, category=category)
    regional = federation_factory(kind=Organisation.Kind.REGIONAL)
    membership_factory(federation=federation, member=regional, category=Membership.Category.REGIONAL)
    figures = stats.federation_figures(federation, DAY)
    assert figures.members == 4
    assert figures.members_by_category == {"full": 2, "associate": 1, "observer": 1}


def test_countries_are_the_distinct_headquarters_of_the_members(
    federation, membership_factory, organisation_factory
):
    for country in ["FR", "FR", "BE", ""]:
        membership_factory(federation=federation, member=organisation_factory(country=country))
    figures = stats.federation_figures(federation, DAY)
    assert (figures.countries, figures.country_codes) == (2, ["BE", "FR"])


def test_coverage_counts_members_that_declared_enterprises_or_employment_by_the_date(
    federation, membership_factory, declaration_factory
):
    declared, late, silent = (membership_factory(federation=federation).member for _ in range(3))
    declaration_factory(organisation=declared, declared_on=D(2016, 6, 1))
    declaration_factory(organisation=late, declared_on=D(2018, 6, 1), year=2018)
    figures = stats.federation_figures(federation, DAY)
    assert (figures.covered_members, figures.members) == (1, 3)
    assert figures.coverage == pytest.approx(1 / 3)
    assert silent.declarations.count() == 0


def test_coverage_is_unknown_without_members(federation):
    assert stats.federation_figures(federation, DAY).coverage is None


# --- Enterprises and employment: no double counting ---------------------------------------


def test_figures_are_the_latest_declaration_on_or_before_the_date(
    federation, membership_factory, declaration_factory
):
    member = membership_factory(federation=federation, joined_on=D(2010, 1, 1)).member
    declaration_factory(
        organisation=member, declared_on=D(2015, 6, 1), year=2015, enterprises=5, employment=50
    )
    declaration_factory(
        organisation=member, declared_on=D(2017, 6, 21), year=2017, enterprises=7, employment=70
    )

    def totals(day):
        figures = stats.federation_figures(federation, day)
        return figures.enterprises, figures.employment

    # Before any declaration there is nothing to add up: not declared, which is not 0.
    assert totals(D(2015, 5, 31)) == (None, None)
    assert totals(D(2017, 6, 20)) == (5, 50)
    assert totals(DAY) == (7, 70)


def test_organisation_reachable_through_two_member_federations_counts_once(
    federation, federation_factory, membership_factory, declaration_factory, organisation_factory
):
    north, south = federation_factory.create_batch(2)
    shared = organisation_factory()
    for member_federation in (north, south):
        membership_factory(federation=federation, member=member_federation)
        membership_factory(federation=member_federation, member=shared)
    declaration_factory(organisation=shared, enterprises=3, employment=300)
    figures = stats.federation_figures(federation, DAY)
    assert (figures.enterprises, figures.employment) == (3, 300)
    assert [node.organisation for node in stats.network(federation, DAY)].count(shared) == 1


def test_member_federation_declaration_covering_its_members_is_not_added_to_theirs(
    federation, federation_factory, membership_factory, declaration_factory
):
    national = membership_factory(federation=federation, member=federation_factory()).member
    cooperative = membership_factory(federation=national, joined_on=D(2010, 1, 1)).member
    declaration_factory(organisation=national, enterprises=40, employment=4000, includes_members=True)
    declaration_factory(organisation=cooperative, enterprises=1, employment=100)
    figures = stats.federation_figures(federation, DAY)
    assert (figures.enterprises, figures.employment) == (40, 4000)


def test_member_federation_declaration_without_its_members_is_added_to_theirs(
    federation, federation_factory, membership_factory, declaration_factory
):
    national = membership_factory(federation=federation, member=federation_factory()).member
    cooperative = membership_factory(federation=national).member
    declaration_factory(organisation=national, enterprises=1, employment=12, includes_members=False)
    declaration_factory(organisation=cooperative, enterprises=1, employment=100)
    figures = stats.federation_figures(federation, DAY)
    assert (figures.enterprises, figures.employment) == (2, 112)


def test_a_declaration_covers_only_the_figures_it_gives(
    federation, federation_factory, membership_factory, declaration_factory
):
    national = membership_factory(federation=federation, member=federation_factory()).member
    cooperative = membership_factory(federation=national).member
    declaration_factory(organisation=national, enterprises=40, employment=None, member_organisations=40)
    declaration_factory(organisation=cooperative, enterprises=1, employment=100)
    figures = stats.federation_figures(federation, DAY)
    assert (figures.enterprises, figures.employment) == (40, 100)


def test_a_declaration_does_not_cover_a_member_that_joined_after_it(
    federation, federation_factory, membership_factory, declaration_factory
):
    national = membership_factory(federation=federation, member=federation_factory()).member
    newcomer = membership_factory(federation=national, joined_on=D(2017, 1, 1)).member
    declaration_factory(organisation=national, declared_on=D(2016, 6, 1), enterprises=40, employment=4000)
    declaration_factory(
        organisation=newcomer, declared_on=D(2017, 2, 1), year=2017, enterprises=1, employment=9
    )
    figures = stats.federation_figures(federation, DAY)
    assert (figures.enterprises, figures.employment) == (41, 4009)


def test_a_covering_declaration_also_covers_members_of_members(
    federation, federation_factory, membership_factory, declaration_factory
):
    national = membership_factory(federation=federation, member=federation_factory()).member
    local = membership_factory(federation=national, member=federation_factory()).member
    cooperative = membership_factory(federation=local).member
    declaration_factory(organisation=national, enterprises=40, employment=4000)
    declaration_factory(organisation=cooperative, enterprises=1, employment=100)
    figures = stats.federation_figures(federation, DAY)
    assert (figures.enterprises, figures.employment) == (40, 4000)


def test_the_federations_own_declaration_is_shown_beside_the_computed_figures(
    federation, membership_factory, declaration_factory
):
    member = membership_factory(federation=federation).member
    own = declaration_factory(organisation=federation, enterprises=500, employment=9000)
    declaration_factory(organisation=member, enterprises=2, employment=20)
    figures = stats.federation_figures(federation, DAY)
    assert figures.declaration == own
    assert (figures.enterprises, figures.employment) == (2, 20)


def test_a_regional_organisations_members_are_in_the_network_but_not_among_the_members(
    federation, federation_factory, membership_factory, declaration_factory
):
    regional = federation_factory(kind=Organisation.Kind.REGIONAL)
    membership_factory(federation=federation, member=regional, category=Membership.Category.REGIONAL)
    cooperative = membership_factory(federation=regional).member
    declaration_factory(organisation=cooperative, enterprises=1, employment=100)
    figures = stats.federation_figures(federation, DAY)
    assert (figures.members, figures.employment) == (0, 100)
    assert {(n.organisation, n.depth) for n in stats.network(federation, DAY)} == {
        (regional, 1),
        (cooperative, 2),
    }


def test_organisations_below_a_member_that_left_are_out_of_the_network(
    federation, federation_factory, membership_factory, declaration_factory
):
    national = membership_factory(
        federation=federation, member=federation_factory(), left_on=D(2016, 1, 1)
    ).member
    cooperative = membership_factory(federation=national).member
    declaration_factory(organisation=cooperative, enterprises=1, employment=100)
    assert stats.network(federation, DAY) == []
    assert stats.federation_figures(federation, DAY).employment is None
    assert {(n.organisation, n.depth) for n in stats.network(federation, D(2015, 6, 1))} == {
        (national, 1),
        (cooperative, 2),
    }


def test_an_organisation_that_left_a_member_federation_on_the_date_is_out_of_the_network(
    federation, federation_factory, membership_factory, declaration_factory
):
    national = membership_factory(federation=federation, member=federation_factory()).member
    cooperative = membership_factory(federation=national, joined_on=D(2012, 1, 1), left_on=DAY).member
    declaration_factory(organisation=cooperative, enterprises=1, employment=100)
    the_day_before = DAY - datetime.timedelta(days=1)
    assert [n.organisation for n in stats.network(federation, DAY)] == [national]
    assert [n.organisation for n in stats.network(federation, the_day_before)] == [national, cooperative]
    assert stats.federation_figures(federation, DAY).employment is None
    assert stats.federation_figures(federation, the_day_before).employment == 100


def test_network_gives_each_organisation_at_its_shortest_depth(
    federation, federation_factory, membership_factory
):
    national = membership_factory(federation=federation, member=federation_factory()).member
    cooperative = membership_factory(federation=national).member
    membership_factory(federation=federation, member=cooperative)
    assert [(n.organisation, n.depth) for n in stats.network(federation, DAY)] == sorted(
        [(national, 1), (cooperative, 1)], key=lambda pair: pair[0].name
    )


def test_network_keeps_only_the_kinds_asked_for_at_any_depth(
    federation, federation_factory, membership_factory
):
    national = membership_factory(federation=federation, member=federation_factory()).member
    membership_factory(federation=national)  # a co-operative below it
    deeper = membership_factory(federation=national, member=federation_factory()).member
    kinds = [Organisation.Kind.NATIONAL]
    found = [(n.organisation, n.depth) for n in stats.network(federation, DAY, kinds=kinds)]
    assert found == [(national, 1), (deeper, 2)]
    assert stats.network(federation, DAY, kinds=[]) == []


def test_figures_for_many_federations_match_each_federations_figures(
    federation_factory, membership_factory, declaration_factory
):
    first, second = federation_factory.create_batch(2)
    for index, member_federation in enumerate([first, second, second]):
        member = membership_factory(federation=member_federation).member
        declaration_factory(organisation=member, employment=10 * (index + 1))
    together = stats.figures_for_federations([first, second], DAY)
    assert together == {f.pk: stats.federation_figures(f, DAY) for f in (first, second)}
    assert (together[first.pk].employment, together[second.pk].employment) == (10, 50)


# --- Breakdown and growth ------------------------------------------------------------------


def test_breakdown_by_region_and_country_adds_up_to_the_totals(
    federation, federation_factory, membership_factory, organisation_factory, declaration_factory
):
    for country, employment in [("FR", 10), ("FR", 20), ("BE", 30), ("IN", 40), ("", 50)]:
        member = membership_factory(
            federation=federation, member=organisation_factory(country=country)
        ).member
        declaration_factory(organisation=member, enterprises=1, employment=employment)
    regions = stats.breakdown(federation, DAY)
    figures = stats.federation_figures(federation, DAY)
    assert [str(r.region) for r in regions] == ["Asia-Pacific", "Europe", "None"]
    europe = regions[1]
    assert [(c.country.code, c.members, c.employment) for c in europe.countries] == [
        ("BE", 1, 30),
        ("FR", 2, 30),
    ]
    assert (europe.members, europe.enterprises, europe.employment) == (3, 3, 60)
    assert sum(r.members for r in regions) == figures.members
    assert sum(r.employment for r in regions) == figures.employment
    assert sum(r.enterprises for r in regions) == figures.enterprises


def test_growth_gives_members_at_year_end_joins_and_departures_per_year(federation, membership_factory):
    stayer = membership_factory(federation=federation, joined_on=D(2014, 3, 1)).member
    leaver = membership_factory(
        federation=federation, joined_on=D(2014, 9, 1), left_on=D(2015, 12, 31)
    ).member
    membership_factory(federation=federation, member=leaver, joined_on=D(2017, 2, 1))
    membership_factory(federation=federation, joined_on=D(2016, 1, 1), category=Membership.Category.REGIONAL)
    assert stayer != leaver
    assert [
        (g.year, g.members_at_year_end, g.joins, g.departures) for g in stats.growth(federation, until=2018)
    ] == [
        (2014, 2, 2, 0),
        (2015, 1, 0, 1),
        (2016, 1, 0, 0),
        (2017, 2, 1, 0),
        (2018, 2, 0, 0),
    ]


def test_growth_members_at_year_end_agree_with_figures_on_31_december(federation, membership_factory):
    membership_factory(federation=federation, joined_on=D(2014, 3, 1), left_on=D(2016, 12, 31))
    membership_factory(federation=federation, joined_on=D(2015, 12, 31))
    for year in stats.growth(federation, until=2017):
        assert year.members_at_year_end == members_on(federation, D(year.year, 12, 31))


def test_growth_counts_a_start_attested_by_a_source_among_members_but_never_as_a_join(
    federation, membership_factory
):
    membership_factory(federation=federation, joined_on=D(2015, 3, 1))
    membership_factory(federation=federation, joined_on=D(2016, 5, 1), joined_precision=DatePrecision.BY)
    assert [
        (g.year, g.members_at_year_end, g.joins, g.departures) for g in stats.growth(federation, until=2017)
    ] == [(2015, 1, 1, 0), (2016, 2, 0, 0), (2017, 2, 0, 0)]
    assert stats.growth(federation, until=2017)[-1].members_at_year_end == members_on(
        federation, D(2017, 12, 31)
    )


def test_growth_runs_until_this_year_by_default(federation, membership_factory):
    membership_factory(federation=federation, joined_on=D(2015, 3, 1))
    with time_machine.travel(datetime.datetime(2017, 6, 21, 12, tzinfo=datetime.UTC), tick=False):
        assert [g.year for g in stats.growth(federation)] == [2015, 2016, 2017]


def test_growth_of_a_federation_without_members_is_empty(federation):
    assert stats.growth(federation, until=2020) == []


# --- Consistency check: admission rules -------------------------------------------------------


@pytest.fixture
def parent_and_child(federation_factory, membership_factory):
    parent = federation_factory(acronym="PARENT", kind=Organisation.Kind.INTERNATIONAL)
    child = federation_factory(acronym="CHILD", kind=Organisation.Kind.REGIONAL)
    membership_factory(federation=parent, member=child, category=Membership.Category.REGIONAL)
    return parent, child


def test_member_of_a_federation_missing_the_required_membership_is_a_breach(
    parent_and_child, membership_factory, organisation_factory
):
    parent, child = parent_and_child
    rule = AdmissionRule.objects.create(federation=child, requires=parent)
    compliant, lapsed, outsider = organisation_factory.create_batch(3)
    for member in (compliant, lapsed, outsider):
        membership_factory(federation=child, member=member)
    membership_factory(federation=parent, member=compliant, category=Membership.Category.OBSERVER)
    membership_factory(federation=parent, member=lapsed, left_on=DAY)
    breaches = stats.admission_breaches(DAY)
    assert [(b.organisation, b.rule) for b in breaches] == sorted(
        [(lapsed, rule), (outsider, rule)], key=lambda pair: pair[0].name
    )
    assert [b.organisation for b in stats.admission_breaches(DAY - datetime.timedelta(days=1))] == [outsider]


def test_a_rule_limited_to_a_region_applies_only_to_members_headquartered_there(
    parent_and_child, membership_factory, organisation_factory
):
    parent, child = parent_and_child
    AdmissionRule.objects.create(federation=parent, requires=child, region=Region.objects.get(slug="europe"))
    european = membership_factory(federation=parent, member=organisation_factory(country="BE")).member
    membership_factory(federation=parent, member=organisation_factory(country="IN"))
    assert [b.organisation for b in stats.admission_breaches(DAY)] == [european]
    assert stats.admission_breaches(DAY, federation=child) == []
    assert [b.organisation for b in stats.admission_breaches(DAY, federation=parent)] == [european]


def test_each_of_two_rules_on_one_federation_is_checked_with_its_own_region_and_requirement(
    parent_and_child, federation_factory, membership_factory, organisation_factory
):
    parent, child = parent_and_child
    other = federation_factory(acronym="OTHER")
    europe_only = AdmissionRule.objects.create(
        federation=parent, requires=child, region=Region.objects.get(slug="europe")
    )
    everywhere = AdmissionRule.objects.create(federation=parent, requires=other)
    # Outside Europe and in OTHER: the European rule does not apply and the other rule is kept.
    indian = membership_factory(federation=parent, member=organisation_factory(country="IN")).member
    membership_factory(federation=other, member=indian)
    # In Europe, in neither: breaks both.
    belgian = membership_factory(federation=parent, member=organisation_factory(country="BE")).member
    breaches = {(b.organisation, b.rule) for b in stats.admission_breaches(DAY)}
    assert breaches == {(belgian, europe_only), (belgian, everywhere)}


# --- Humanised numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [(999, "999"), (68_000, "68,000"), (4_000_000, "4 million"), (1_500_000, "1.5 million")],
)
def test_numbers_are_written_the_way_a_press_release_writes_them(value, text):
    with translation.override("en"):
        assert sentences.humanise_number(value) == text


@pytest.mark.parametrize(
    ("language", "value", "text"),
    [
        ("fr", 68_000, "68\N{NO-BREAK SPACE}000"),
        ("fr", 4_000_000, "4 millions"),
        ("fr", 1_000_000, "1 million"),
        ("es", 1_500_000, "1,5 millones"),
        ("es", 1_000_000, "1 millón"),
    ],
)
def test_numbers_are_written_the_french_and_spanish_way(language, value, text):
    with translation.override(language):
        assert sentences.humanise_number(value) == text


def test_headline_says_no_member_declared_enterprises_or_employment_rather_than_zero(
    federation, membership_factory
):
    membership_factory(federation=federation, member__country="FR")
    with translation.override("en"):
        headline = sentences.headline(federation, DAY)
    assert [s.provenance for s in headline.sentences] == ["computed"]
    assert headline.text == (
        "On 21 June 2017 the register holds 1 member of FED in 1 country; "
        "no organisation among them has declared enterprises or employment."
    )
    assert (headline.enterprises.value, headline.employment.value) == (None, None)


def test_headline_writes_millions_and_agrees_with_one_enterprise_in_the_federations_declaration(
    federation, declaration_factory
):
    declaration_factory(
        organisation=federation,
        declared_on=DAY,
        member_organisations=1,
        countries=1,
        enterprises=1,
        employment=1_500_000,
    )
    with translation.override("en"):
        headline = sentences.headline(federation, DAY)
    assert headline.sentences[0].text == (
        "According to its declaration of 21 June 2017, FED affiliates 1 member in 1 country, "
        "representing 1 enterprise which employs 1.5 million people."
    )
    assert headline.sentences[1].text == "The register holds no membership of FED on 21 June 2017."


def test_computed_headline_adds_up_what_the_members_employ_with_its_date(
    federation, membership_factory, declaration_factory
):
    for _ in range(2):
        member = membership_factory(federation=federation, member__country="BE").member
        declaration_factory(organisation=member, enterprises=None, employment=40_000)
    with translation.override("en"):
        assert sentences.headline(federation, DAY).text == (
            "On 21 June 2017 the register holds 2 members of FED in 1 country; "
            "from the declarations it holds, it computes 80,000 people employed."
        )


def test_a_declaration_without_members_and_countries_is_listed_with_its_date(
    federation, membership_factory, declaration_factory
):
    membership_factory(federation=federation, member__country="BE")
    declaration_factory(organisation=federation, declared_on=DAY, enterprises=None, employment=1)
    with translation.override("en"):
        headline = sentences.headline(federation, DAY)
    # The federation declared employment: the computed sentence does not repeat it.
    assert [s.text for s in headline.sentences] == [
        "On 21 June 2017, FED declared 1 person employed.",
        "On 21 June 2017 the register holds 1 member of FED in 1 country.",
    ]


# --- The seed: CICOPA on 21 June 2017 ---------------------------------------------------------


def test_cicopas_headline_on_21_june_2017_reproduces_the_news_item(seeded):
    cicopa = Organisation.objects.get(slug="cicopa")
    with translation.override("en"):
        headline = sentences.headline(cicopa, DAY)
    assert [s.provenance for s in headline.sentences] == ["declared", "computed"]
    assert headline.sentences[0].text == f"According to its declaration of 21 June 2017, {SEED_SENTENCE}"
    assert headline.sentences[1].text == (
        "On 21 June 2017 the register holds 4 members of CICOPA in 4 countries."
    )
    assert all(f.declared and f.date == DAY for f in (headline.members, headline.employment))
    assert headline.enterprises.source.title.startswith("CICOPA family keeps on growing")
    assert "68,000 enterprises" in headline.enterprises.source_note


def test_cicopas_computed_figures_on_21_june_2017_stand_beside_the_declared_ones(seeded):
    figures = stats.federation_figures(Organisation.objects.get(slug="cicopa"), DAY)
    # The four organisations the item names; CECOP is CICOPA's regional organisation, not a member.
    assert (figures.members, figures.countries, figures.country_codes) == (4, 4, ["BE", "FR", "IN", "PR"])
    # ULCCS's 6,000 workers and SMart's 75,000; CECOP declared no employment, so covers nobody.
    assert (figures.enterprises, figures.employment) == (None, 81_000)
    assert (figures.covered_members, figures.coverage) == (2, 0.5)
    assert (figures.declaration.member_organisations, figures.declaration.employment) == (48, 4_000_000)


def test_cecop_had_no_members_in_the_register_the_day_before_smart_and_credit_cooperatif_joined(seeded):
    cecop = Organisation.objects.get(slug="cecop")
    assert stats.federation_figures(cecop, D(2016, 12, 31)).members == 0
    assert stats.federation_figures(cecop, DAY).members == 2


def test_the_seed_breaks_no_admission_rule(seeded):
    assert stats.admission_breaches(DAY) == []


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        (
            "fr",
            "CICOPA fédère 48 membres dans 32 pays, représentant 68\N{NO-BREAK SPACE}000 entreprises "
            "qui emploient 4 millions de personnes.",
        ),
        (
            "es",
            "CICOPA agrupa a 48 miembros en 32 países, que representan 68\N{NO-BREAK SPACE}000 empresas "
            "que emplean a 4 millones de personas.",
        ),
    ],
)
def test_cicopas_headline_reads_naturally_in_french_and_spanish(seeded, language, sentence):
    cicopa = Organisation.objects.get(slug="cicopa")
    with translation.override(language):
        assert sentence in sentences.headline(cicopa, DAY).sentences[0].text


# --- Cost: a fixed number of queries whatever the size and depth ------------------------------


def build_network(
    federation_factory, membership_factory, declaration_factory, organisation_factory, levels, width
):
    """A federation with `width` members per federation over `levels` levels, each declaring figures."""
    top = federation_factory(acronym="TOP")
    AdmissionRule.objects.create(federation=top, requires=federation_factory())
    parents = [top]
    for level in range(levels):
        children = []
        for parent in parents:
            for index in range(width):
                is_last_level = level == levels - 1
                child = organisation_factory(country=["FR", "BE", "IN", "PR"][index % 4])
                if not is_last_level:
                    child.kind = Organisation.Kind.NATIONAL
                    child.save()
                membership_factory(federation=parent, member=child, category=["full", "associate"][index % 2])
                declaration_factory(organisation=child, includes_members=index % 2 == 0)
                children.append(child)
        parents = children
    return top


@pytest.fixture(params=[(1, 2), (3, 4)], ids=["small", "three-level"])
def any_network(request, federation_factory, membership_factory, declaration_factory, organisation_factory):
    levels, width = request.param
    return build_network(
        federation_factory, membership_factory, declaration_factory, organisation_factory, levels, width
    )


def test_federation_figures_runs_four_queries_whatever_the_network(any_network, django_assert_num_queries):
    # 1 members by category with coverage, 2 countries, 3 network CTE totals, 4 own declaration.
    with django_assert_num_queries(4):
        stats.federation_figures(any_network, DAY)


def test_figures_for_many_federations_run_four_queries(
    any_network, federation_factory, django_assert_num_queries
):
    federations = [any_network, *federation_factory.create_batch(3)]
    # The same four queries, each for all the federations at once.
    with django_assert_num_queries(4):
        stats.figures_for_federations(federations, DAY)


def test_headline_runs_four_queries_whatever_the_network(any_network, django_assert_num_queries):
    # The four queries of federation_figures; the sentence is built from them.
    with django_assert_num_queries(4):
        sentences.headline(any_network, DAY)


def test_headline_from_figures_already_computed_runs_no_query(any_network, django_assert_num_queries):
    figures = stats.figures_for_federations([any_network], DAY)[any_network.pk]
    with django_assert_num_queries(0):
        text = sentences.headline(any_network, DAY, figures=figures).text
    assert text == sentences.headline(any_network, DAY).text


def test_network_runs_one_query_whatever_the_depth(any_network, django_assert_num_queries):
    # 1 the recursive CTE joined to the organisations.
    with django_assert_num_queries(1):
        nodes = stats.network(any_network, DAY)
    assert nodes


def test_breakdown_runs_three_queries_whatever_the_network(any_network, django_assert_num_queries):
    # 1 members by country, 2 network CTE totals by country, 3 those countries' regions.
    with django_assert_num_queries(3):
        stats.breakdown(any_network, DAY)


def test_growth_runs_two_queries_whatever_the_history(any_network, django_assert_num_queries):
    # 1 starts and joins by year, 2 departures by year.
    with django_assert_num_queries(2):
        stats.growth(any_network, until=2020)


def test_admission_breaches_run_three_queries_whatever_the_network(any_network, django_assert_num_queries):
    # 1 (rule, member) pairs in breach, 2 those rules, 3 those organisations.
    with django_assert_num_queries(3):
        breaches = stats.admission_breaches(DAY)
    # No member of the network's top belongs to the federation its rule requires.
    assert len(breaches) == stats.federation_figures(any_network, DAY).members
