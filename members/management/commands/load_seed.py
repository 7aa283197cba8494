"""Load the facts of CICOPA's news item of 21 June 2017, and the one later fact the register was given.

That fact is ULCCS leaving CICOPA at the end of 2022. No published text of it
is at hand: it rests on the secretariat's own record, a source with no address
and no date of publication, which says so in its notes.

Running it again changes nothing: every record is found by its natural key
(slug; member, federation and start; organisation and date) and brought back
to the values below. Each fact carries the words of the source it rests on.
"""

import datetime
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from members.dates import DatePrecision, stored_left_on
from members.models import (
    AdmissionRule,
    DeclaredFigures,
    Membership,
    Organisation,
    Region,
    Sector,
    Source,
)

NEWS_DATE = datetime.date(2017, 6, 21)
START_OF_2017 = datetime.date(2017, 1, 1)

SOURCE = {
    "title": "CICOPA family keeps on growing: 4 new members have joined in 2017!",
    "publisher": "CICOPA",
    "published_on": NEWS_DATE,
    # The item is in English: its title and the words quoted from it are marked so on other pages.
    "language": "en",
}
# The language the sectors' names are written in.
SECTORS_LANGUAGE = "en"
# The descriptions below are written in English.
DESCRIPTIONS_LANGUAGE = "en"

SECTORS = {
    "industry": "Industry",
    "services": "Services",
    "crafts": "Crafts",
    "construction": "Construction",
    "banking": "Banking",
    "culture": "Arts and culture",
}

ORGANISATIONS: list[dict[str, Any]] = [
    {
        "slug": "cicopa",
        "name_language": "en",
        "name": "International Organisation of Industrial, Artisanal and Service Producers' Cooperatives",
        "acronym": "CICOPA",
        "kind": Organisation.Kind.INTERNATIONAL,
        "country": "BE",
        "city": "Brussels",
        "address": "C/O European Cooperative House\navenue Milcamps 105\n1030 Brussels\nBelgium",
        "phone": "+32 2 543 1033",
        "fax": "+32 2 543 1037",
        # "As we celebrate the 70th anniversary of CICOPA" (2017).
        "founded": 1947,
        "sectors": ["industry", "crafts", "services"],
    },
    {
        "slug": "cecop",
        "name_language": "en",
        "name": "European confederation of cooperatives in industry and services",
        "acronym": "CECOP",
        "kind": Organisation.Kind.REGIONAL,
        "description": "CICOPA's European regional organisation.",
        "sectors": ["industry", "services"],
    },
    {
        "slug": "ligacoop",
        "name_language": "es",
        "name": "Liga de Cooperativas de Puerto Rico",
        "acronym": "LIGACOOP",
        "kind": Organisation.Kind.NATIONAL,
        "country": "PR",
        "description": (
            "Under the General Law of Cooperative Societies of Puerto Rico of 2004, it focuses "
            "special attention on co-operatives in industry and services."
        ),
        "sectors": ["industry", "services"],
    },
    {
        "slug": "ulccs",
        # Only the acronym is known: the register does not say which language it stands in.
        "name_language": "",
        "name": "ULCCS",
        "acronym": "ULCCS",
        "kind": Organisation.Kind.COOPERATIVE,
        "country": "IN",
        "subdivision": "Kerala",
        "description": (
            "The biggest labour contract co-operative society in the Kerala State: civil "
            "construction work in infrastructure development in the North Kerala region — "
            "roads, bridges and allied infrastructures."
        ),
        "sectors": ["construction"],
    },
    {
        "slug": "credit-cooperatif",
        "name_language": "fr",
        "name": "Crédit Coopératif",
        "acronym": "",
        "kind": Organisation.Kind.BANK,
        "country": "FR",
        "description": (
            "A French co-operative bank, by vocation the bank of the social and solidarity economy."
        ),
        "sectors": ["banking"],
    },
    {
        "slug": "smart",
        "name_language": "fr",
        "name": "Société Mutuelle pour artistes",
        "acronym": "SMart",
        "kind": Organisation.Kind.COOPERATIVE,
        "country": "BE",
        "countries_of_operation": ["BE"],
        "unnamed_countries_of_operation": 8,
        "description": (
            "A Belgian co-operative of autonomous workers: advice, production support, training, "
            "financing, crowdfunding, management, legal and financial tools."
        ),
        "sectors": ["culture"],
    },
]

FIRST_SEMESTER = "a total of 4 members joining in the first semester of 2017"
CECOP_WELCOME = "These new arrivals have received a particularly warm welcome from CECOP"

MEMBERSHIPS = [
    (
        "ligacoop",
        "cicopa",
        Membership.Category.FULL,
        START_OF_2017,
        DatePrecision.HALF_YEAR,
        "At the beginning of the year, we welcomed the Liga de Cooperativas de Puerto Rico (LIGACOOP)",
    ),
    (
        "ulccs",
        "cicopa",
        Membership.Category.FULL,
        datetime.date(2017, 5, 1),
        DatePrecision.MONTH,
        "Last May, ULCCS, the biggest Labour Contract Cooperative Society in the Kerala State, also joined!",
    ),
    (
        "credit-cooperatif",
        "cicopa",
        Membership.Category.FULL,
        START_OF_2017,
        DatePrecision.HALF_YEAR,
        FIRST_SEMESTER,
    ),
    ("smart", "cicopa", Membership.Category.FULL, START_OF_2017, DatePrecision.HALF_YEAR, FIRST_SEMESTER),
    (
        "credit-cooperatif",
        "cecop",
        Membership.Category.FULL,
        START_OF_2017,
        DatePrecision.HALF_YEAR,
        CECOP_WELCOME,
    ),
    ("smart", "cecop", Membership.Category.FULL, START_OF_2017, DatePrecision.HALF_YEAR, CECOP_WELCOME),
    # The item does not say since when CECOP has been CICOPA's European body,
    # only that it is by the date of publication.
    (
        "cecop",
        "cicopa",
        Membership.Category.REGIONAL,
        NEWS_DATE,
        DatePrecision.BY,
        "CECOP, the European confederation of cooperatives in industry and services",
    ),
]

# The secretariat's word for the departure, as the register was told it; no address, no date published.
DEPARTURE_SOURCE = {
    "title": "Secretariat record",
    "publisher": "CICOPA",
    "notes": "A staff note of the secretariat, not a published document.",
}
# (member, federation): (a day of the period, its precision, reason, the source's words).
DEPARTURES = {
    ("ulccs", "cicopa"): (
        datetime.date(2022, 12, 31),
        DatePrecision.END_YEAR,
        Membership.LeftReason.LEFT,
        "ULCCS left at the end of 2022.",
    ),
}

DECLARATIONS = [
    (
        "cicopa",
        {"member_organisations": 48, "countries": 32, "enterprises": 68_000, "employment": 4_000_000},
        "CICOPA now affiliates 48 members in 32 countries, representing 68,000 enterprises which "
        "employ 4 million people.",
    ),
    (
        "cecop",
        {"member_organisations": 27, "countries": 15},
        "CECOP, the European confederation of cooperatives in industry and services, which affiliates "
        "27 members in 15 European countries.",
    ),
    ("ulccs", {"employment": 6_000}, "by providing direct employment to over 6,000 workers from rural areas"),
    (
        "smart",
        {"employment": 75_000},
        "a Belgian cooperative grouping today 75,000 autonomous workers in Belgium and in 8 other "
        "European countries",
    ),
]

ADMISSION_RULES = [
    ("cecop", None, "cicopa", "CECOP admits only CICOPA members."),
    ("cicopa", "europe", "cecop", "CICOPA's members in Europe also join CECOP, its regional organisation."),
]


def _load_organisations(source: Source) -> dict[str, Organisation]:
    """Bring the sectors and organisations to the values above; return the organisations by slug."""
    sectors = {
        slug: Sector.objects.update_or_create(
            slug=slug, defaults={"name": name, "language": SECTORS_LANGUAGE}
        )[0]
        for slug, name in SECTORS.items()
    }
    organisations: dict[str, Organisation] = {}
    for fields in ORGANISATIONS:
        fields = dict(fields)
        sector_slugs = fields.pop("sectors")
        organisation = Organisation.objects.filter(slug=fields["slug"]).first() or Organisation()
        if fields.get("description"):
            fields.setdefault("description_language", DESCRIPTIONS_LANGUAGE)
        for name, value in {"source": source, **fields}.items():
            setattr(organisation, name, value)
        organisation.full_clean()
        organisation.save()
        organisation.sectors.set([sectors[slug] for slug in sector_slugs])
        organisations[organisation.slug] = organisation
    return organisations


def _load_memberships(
    organisations: dict[str, Organisation], source: Source, departure_source: Source
) -> None:
    for member, federation, category, joined_on, precision, note in MEMBERSHIPS:
        membership = Membership.objects.filter(
            member=organisations[member], federation=organisations[federation], joined_on=joined_on
        ).first() or Membership(
            member=organisations[member], federation=organisations[federation], joined_on=joined_on
        )
        membership.category = category
        membership.joined_precision = precision
        membership.source = source
        membership.source_note = note
        departure = DEPARTURES.get((member, federation), (None, DatePrecision.DAY, "", ""))
        left_on, left_precision, reason, left_note = departure
        membership.left_on = stored_left_on(left_on, left_precision)
        membership.left_precision = left_precision
        membership.left_reason = reason
        membership.left_source = departure_source if left_on else None
        membership.left_source_note = left_note
        membership.full_clean()
        membership.save()


def _load_declarations(organisations: dict[str, Organisation], source: Source) -> None:
    for slug, figures, note in DECLARATIONS:
        declaration = DeclaredFigures.objects.filter(
            organisation=organisations[slug], declared_on=NEWS_DATE
        ).first() or DeclaredFigures(organisation=organisations[slug], declared_on=NEWS_DATE)
        declaration.year = NEWS_DATE.year
        declaration.source = source
        declaration.source_note = note
        for name, value in figures.items():
            setattr(declaration, name, value)
        declaration.full_clean()
        declaration.save()


def _load_admission_rules(organisations: dict[str, Organisation]) -> None:
    for federation, region, requires, description in ADMISSION_RULES:
        AdmissionRule.objects.update_or_create(
            federation=organisations[federation],
            requires=organisations[requires],
            region=Region.objects.get(slug=region) if region else None,
            defaults={"description": description},
        )


class Command(BaseCommand):
    help = "Load the facts of CICOPA's news item of 21 June 2017 (idempotent)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        source, _ = Source.objects.update_or_create(
            title=SOURCE["title"], published_on=SOURCE["published_on"], defaults=SOURCE
        )
        departure_source, _ = Source.objects.update_or_create(
            title=DEPARTURE_SOURCE["title"], published_on=None, defaults=DEPARTURE_SOURCE
        )
        organisations = _load_organisations(source)
        _load_memberships(organisations, source, departure_source)
        _load_declarations(organisations, source)
        _load_admission_rules(organisations)
        self.stdout.write(
            self.style.SUCCESS(
                f"Seed loaded: {len(organisations)} organisations, {len(MEMBERSHIPS)} memberships, "
                f"{len(DECLARATIONS)} declarations, from “{source.title}”."
            )
        )
