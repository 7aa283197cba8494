"""Seed the four ICA regions and the region of every ISO 3166 country.

Reference followed: the UN Statistics Division's M49 standard ("Standard
country or area codes for statistical use"), continental level, mapped onto
the ICA's four regions: Africa → Africa; Americas → Americas; Europe → Europe;
Asia and Oceania → Asia-Pacific (the ICA's Asia and Pacific region). Two
adjustments, both named here: Cyprus, an EU member state whose co-operatives
belong to Cooperatives Europe, is placed in Europe; Antarctica, which M49
leaves without a region, is placed in Asia-Pacific. Staff can edit the table.
"""

from django.db import migrations

REGIONS = {
    "africa": "Africa",
    "americas": "Americas",
    "asia-pacific": "Asia-Pacific",
    "europe": "Europe",
}

COUNTRIES = {
    "africa": (
        # Northern Africa
        "DZ EG LY MA SD TN EH "
        # Eastern Africa
        "BI KM DJ ER ET IO KE MG MW MU YT MZ RE RW SC SO SS TF TZ UG ZM ZW "
        # Middle Africa
        "AO CM CF TD CG CD GQ GA ST "
        # Southern Africa
        "BW SZ LS NA ZA "
        # Western Africa
        "BJ BF CV CI GM GH GN GW LR ML MR NE NG SH SN SL TG"
    ),
    "americas": (
        # Caribbean
        "AI AG AW BS BB BQ VG KY CU CW DM DO GD GP HT JM MQ MS PR BL KN LC MF VC SX TT TC VI "
        # Central America
        "BZ CR SV GT HN MX NI PA "
        # South America
        "AR BO BV BR CL CO EC FK GF GY PY PE GS SR UY VE "
        # Northern America
        "BM CA GL PM US"
    ),
    "europe": (
        # Eastern Europe
        "BY BG CZ HU PL MD RO RU SK UA "
        # Northern Europe
        "AX DK EE FO FI GG IS IE IM JE LV LT NO SJ SE GB "
        # Southern Europe
        "AL AD BA HR GI GR VA IT MT ME MK PT SM RS SI ES "
        # Western Europe
        "AT BE FR DE LI LU MC NL CH "
        # Adjustment: Cyprus
        "CY"
    ),
    "asia-pacific": (
        # Central, Eastern, South-eastern, Southern and Western Asia
        "KZ KG TJ TM UZ CN HK MO KP JP MN KR TW BN KH ID LA MY MM PH SG TH TL VN "
        "AF BD BT IN IR MV NP PK LK AM AZ BH GE IQ IL JO KW LB OM PS QA SA SY TR AE YE "
        # Oceania
        "AU NZ NF HM CX CC FJ NC PG SB VU GU KI MH FM NR MP PW UM AS CK PF NU PN WS TK TO TV WF "
        # Adjustment: Antarctica
        "AQ"
    ),
}


def seed(apps, schema_editor):
    Region = apps.get_model("members", "Region")
    CountryRegion = apps.get_model("members", "CountryRegion")
    for slug, name in REGIONS.items():
        region, _ = Region.objects.get_or_create(slug=slug, defaults={"name": name})
        CountryRegion.objects.bulk_create(
            [CountryRegion(country=code, region=region) for code in COUNTRIES[slug].split()],
            ignore_conflicts=True,
        )


def unseed(apps, schema_editor):
    apps.get_model("members", "CountryRegion").objects.all().delete()
    apps.get_model("members", "Region").objects.filter(slug__in=REGIONS).delete()


class Migration(migrations.Migration):
    dependencies = [("members", "0002_membership_no_overlap_postgresql")]

    operations = [migrations.RunPython(seed, unseed)]
