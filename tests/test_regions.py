from django_countries import countries

from members.models import CountryRegion, Region


def test_the_four_ica_regions_are_seeded(db):
    assert sorted(Region.objects.values_list("name", flat=True)) == [
        "Africa",
        "Americas",
        "Asia-Pacific",
        "Europe",
    ]


def test_every_country_django_countries_knows_has_a_region(db):
    mapped = set(CountryRegion.objects.values_list("country", flat=True))
    assert {country.code for country in countries} - mapped == set()
    assert CountryRegion.objects.count() == len(countries)


def test_the_seed_documents_countries_sit_in_their_ica_regions(db):
    region_of = dict(CountryRegion.objects.values_list("country", "region__name"))
    assert region_of["PR"] == "Americas"
    assert region_of["IN"] == "Asia-Pacific"
    assert region_of["FR"] == "Europe"
    assert region_of["BE"] == "Europe"
    assert region_of["CY"] == "Europe"
    assert region_of["ZA"] == "Africa"
