"""Generate a synthetic register, shaped like the real one, for benchmarks.

Nothing generated here can pass for real data: every organisation has a name
that says "synthétique", and every organisation, membership and declaration
rests on one Source titled "Synthetic register — not real data". `--clear`
removes exactly the records resting on that source, and the source.

The network is a layered DAG (internationals ← regional bodies and national
federations ← sub-national federations ← co-operatives): an organisation only
ever joins a federation of an earlier layer, so no cycle can arise, and the
periods of one member/federation pair are generated one after the other, so
they never overlap. The same --organisations and --seed give the same register.

On PostgreSQL the rows go in through COPY (about ten times faster than
bulk_create for a million memberships); elsewhere through bulk_create.
"""

import csv
import datetime
import io
import random
import time
from dataclasses import dataclass, field

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from members import counted, reach
from members.dates import DatePrecision, start_of_period
from members.models import (
    CountedFigures,
    CountryRegion,
    DeclaredFigures,
    Membership,
    NetworkReach,
    Organisation,
    Source,
)

SOURCE_TITLE = "Synthetic register — not real data"
SOURCE_NOTES = "Made up by the generate_synthetic command for benchmarks. Nothing in it is real."

FIRST_YEAR = 2016
LAST_YEAR = 2025  # ten years of joins, departures and declarations
FIRST_DAY = datetime.date(FIRST_YEAR, 1, 1)
DAYS = (datetime.date(LAST_YEAR, 12, 31) - FIRST_DAY).days

# Accented place words, so that names exercise search, sorting and CSV encoding.
WORDS = [
    "Ñandú",
    "Évora",
    "Łódź",
    "Øresund",
    "Žilina",
    "Ångström",
    "São Tomé",
    "Zürich",
    "Çanakkale",
    "Besançon",
    "Göteborg",
    "Kraków",
    "Jyväskylä",
    "Córdoba",
    "Brașov",
    "Šiauliai",
    "Þórshöfn",
    "Mérida",
    "Bogotá",
    "Hà Nội",
    "Curaçao",
    "Trøndelag",
    "Île-de-France",
    "Düsseldorf",
]

# Where co-operatives are numerous gets more synthetic ones; every other country
# in the CountryRegion table still appears now and then.
COUNTRY_WEIGHTS = {
    "IT": 12,
    "ES": 10,
    "FR": 9,
    "IN": 9,
    "BR": 7,
    "US": 5,
    "DE": 5,
    "JP": 4,
    "CO": 4,
    "AR": 4,
    "KR": 3,
    "PL": 3,
    "BE": 3,
    "PT": 3,
    "MX": 3,
    "KE": 3,
    "CA": 3,
    "GB": 3,
    "CN": 3,
    "ID": 3,
    "PH": 3,
    "UY": 2,
    "CL": 2,
    "TZ": 2,
    "UG": 2,
    "NG": 2,
    "ZA": 2,
    "SE": 2,
    "FI": 2,
    "MY": 2,
    "TR": 2,
    "CH": 2,
    "NL": 2,
    "CR": 2,
    "PE": 2,
    "RW": 2,
    "GH": 2,
    "SN": 2,
    "NP": 2,
    "TH": 2,
}
OTHER_COUNTRY_WEIGHT = 0.15

KIND_NAMES = {
    Organisation.Kind.INTERNATIONAL: "Organisation internationale synthétique",
    Organisation.Kind.REGIONAL: "Confédération régionale synthétique",
    Organisation.Kind.NATIONAL: "Fédération synthétique",
    Organisation.Kind.COOPERATIVE: "Coopérative synthétique",
    Organisation.Kind.BANK: "Banque coopérative synthétique",
    Organisation.Kind.SUPPORT: "Agence d'appui synthétique",
}

ORGANISATION_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "name",
    "acronym",
    "slug",
    "kind",
    "country",
    "countries_of_operation",
    "subdivision",
    "city",
    "address",
    "phone",
    "fax",
    "website",
    "email",
    "description",
    "founded",
    "source_id",
    # Not null, no database default: the language of a synthetic name or description is not known.
    "name_language",
    "description_language",
]
MEMBERSHIP_COLUMNS = [
    "created_at",
    "updated_at",
    "member_id",
    "federation_id",
    "category",
    "joined_on",
    "joined_precision",
    "left_on",
    "left_precision",
    "source_id",
    "source_note",
    # Not null, no database default: a synthetic departure has no reason or note of its own.
    "left_reason",
    "left_source_note",
]
DECLARATION_COLUMNS = [
    "created_at",
    "updated_at",
    "organisation_id",
    "year",
    "declared_on",
    "enterprises",
    "employment",
    "member_organisations",
    "countries",
    "includes_members",
    "source_id",
    "source_note",
]


@dataclass
class Layers:
    """Organisation ids by layer; a member only joins federations of earlier layers."""

    internationals: list = field(default_factory=list)
    regionals: list = field(default_factory=list)  # (id, international id, region id)
    national: list = field(default_factory=lambda: [[], [], []])  # three nesting levels
    national_by_country: list = field(default_factory=lambda: [{}, {}, {}])
    others: list = field(default_factory=list)


@dataclass
class Result:
    organisations: int = 0
    memberships: int = 0
    declarations: int = 0
    seconds: float = 0.0
    method: str = ""


def synthetic_source():
    source, _created = Source.objects.get_or_create(
        title=SOURCE_TITLE, published_on=None, defaults={"notes": SOURCE_NOTES}
    )
    return source


def synthetic_sources():
    """The source the generator made, known by all it wrote: title, no date, and its notes."""
    return Source.objects.filter(title=SOURCE_TITLE, published_on__isnull=True, notes=SOURCE_NOTES)


def synthetic_organisations():
    """The organisations of the synthetic register: those resting on its source."""
    return Organisation.objects.filter(source__in=synthetic_sources())


def clear_synthetic():
    """Delete what rests on the synthetic source, and the source; return how many organisations went."""
    org = Organisation._meta.db_table
    sources = list(synthetic_sources().values_list("pk", flat=True))
    if not sources:
        return 0
    on_source = f"source_id IN ({', '.join(str(int(pk)) for pk in sources)})"
    synthetic = f"SELECT id FROM {org} WHERE {on_source}"  # noqa: S608 — constant identifiers and ids only
    # Raw SQL on purpose: a million Membership.delete() calls would take an hour,
    # and the ORM's collector would load every row to send signals. What rests on
    # a synthetic organisation goes with it, or the organisation could not.
    statements = [
        f"DELETE FROM {Membership._meta.db_table} WHERE {on_source} "  # noqa: S608
        f"OR member_id IN ({synthetic}) OR federation_id IN ({synthetic})",
        f"DELETE FROM {DeclaredFigures._meta.db_table} WHERE {on_source} "  # noqa: S608
        f"OR organisation_id IN ({synthetic})",
        f"DELETE FROM {Organisation.sectors.through._meta.db_table} "  # noqa: S608
        f"WHERE organisation_id IN ({synthetic})",
        f"DELETE FROM members_admissionrule WHERE federation_id IN ({synthetic}) "  # noqa: S608
        f"OR requires_id IN ({synthetic})",
    ]
    reached = NetworkReach._meta.db_table
    statements.append(
        f"DELETE FROM {reached} WHERE root_id IN ({synthetic}) OR organisation_id IN ({synthetic})"  # noqa: S608
    )
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
        cursor.execute(f"DELETE FROM {org} WHERE {on_source}")  # noqa: S608
        removed = cursor.rowcount
        Source.objects.filter(pk__in=sources).delete()
        # Memberships of real organisations into synthetic ones went too.
        reach.rebuild()
        counted.rebuild()
    _register_changed()
    return removed


def _register_changed():
    # Bulk inserts and raw deletes send no signals; tell the cache ourselves.
    from members import cache

    cache.register_changed()


class Generator:
    """Builds the rows of a synthetic register from a seed, deterministically."""

    def __init__(self, organisations, seed):
        if organisations < 10:
            raise CommandError("--organisations must be at least 10 to make a network.")
        self.n = organisations
        self.random = random.Random(seed)  # noqa: S311 — reproducible data, not secrets
        self.now = timezone.now().isoformat()
        regions = dict(CountryRegion.objects.values_list("country", "region_id"))
        if not regions:
            raise CommandError("No country→region data: run `manage.py migrate` first.")
        self.region_of = regions
        self.countries = sorted(regions)
        self.weights = [COUNTRY_WEIGHTS.get(c, OTHER_COUNTRY_WEIGHT) for c in self.countries]
        self.region_ids = sorted(set(regions.values()))

    def country(self):
        return self.random.choices(self.countries, cum_weights=self._cum_weights())[0]

    def _cum_weights(self):
        if not hasattr(self, "_cum"):
            total, self._cum = 0, []
            for w in self.weights:
                total += w
                self._cum.append(total)
        return self._cum

    # Organisations -------------------------------------------------------

    def organisations(self, first_id):
        """Yield (row, kind, country) and fill self.layers; ids start at first_id."""
        self.layers = Layers()
        plan = self._plan_kinds()
        others = self.n - len(plan)
        for number, (kind, level) in enumerate(plan + [(None, None)] * others, start=1):
            if kind is None:
                draw = self.random.random()
                kind = (
                    Organisation.Kind.BANK
                    if draw < 0.03
                    else Organisation.Kind.SUPPORT
                    if draw < 0.06
                    else Organisation.Kind.COOPERATIVE
                )
            pk = first_id + number - 1
            country = self._place(pk, kind, level, self.country())
            yield self._organisation_row(pk, number, kind, country)

    def _plan_kinds(self):
        """Return [(kind, national level or None)] for the federations; the rest are drawn."""
        n = self.n
        internationals = 1 if n < 300 else 3
        regionals = min(len(self.region_ids) * internationals, max(1, n // 40))
        national = [max(1, n * 15 // 1000), max(1, n * 30 // 1000), max(1, n * 50 // 1000)]
        self.internationals = internationals
        plan = [(Organisation.Kind.INTERNATIONAL, None)] * internationals
        plan += [(Organisation.Kind.REGIONAL, None)] * regionals
        for level, count in enumerate(national):
            plan += [(Organisation.Kind.NATIONAL, level)] * count
        return plan

    def _place(self, pk, kind, level, country):
        """Put the organisation in its layer; return its country (a regional body's is in its region)."""
        if kind == Organisation.Kind.INTERNATIONAL:
            self.layers.internationals.append(pk)
        elif kind == Organisation.Kind.REGIONAL:
            index = len(self.layers.regionals)
            parent = self.layers.internationals[index // len(self.region_ids) % self.internationals]
            region = self.region_ids[index % len(self.region_ids)]
            country = self._country_in(region)
            self.layers.regionals.append((pk, parent, region))
        elif level is not None:
            self.layers.national[level].append(pk)
            self.layers.national_by_country[level].setdefault(country, []).append(pk)
        else:
            self.layers.others.append((pk, country))
        if kind == Organisation.Kind.NATIONAL:
            self.layers.national_country = getattr(self.layers, "national_country", {})
            self.layers.national_country[pk] = country
        return country

    def _organisation_row(self, pk, number, kind, country):
        word = WORDS[number % len(WORDS)]
        is_federation = kind in Organisation.FEDERATION_KINDS
        operation = ""
        if kind == Organisation.Kind.COOPERATIVE and self.random.random() < 0.05:
            operation = ",".join(sorted({country, self.country()}))
        return {
            "id": pk,
            "created_at": self.now,
            "updated_at": self.now,
            "name": f"{KIND_NAMES[kind]} Nº {number} — {word}",
            "acronym": f"SYN{number}" if is_federation else "",
            "slug": f"synthetique-{number}",
            "kind": kind,
            "country": country,
            "countries_of_operation": operation,
            "subdivision": "",
            "city": word,
            "address": "",
            "phone": "",
            "fax": "",
            "website": "",
            "email": "",
            "description": "Synthetic record for benchmarks; not a real organisation.",
            "founded": self.random.randint(1900, 2015),
            "source_id": self.source_id,
            "name_language": "",
            "description_language": "",
        }

    def _country_in(self, region):
        candidates = [c for c in self.countries if self.region_of[c] == region]
        return self.random.choice(candidates)

    # Memberships ---------------------------------------------------------

    def periods(self, earliest=0):
        """Return non-overlapping [(joined_on, left_on or None)] for one pair, in order."""
        rnd = self.random
        out = []
        day = earliest + int(rnd.random() * (DAYS - earliest) * 0.8)
        while day < DAYS:
            joined = FIRST_DAY + datetime.timedelta(days=day)
            if rnd.random() < 0.6 and len(out) < 4:
                stay = rnd.randint(90, 1200)
                if day + stay >= DAYS:
                    out.append((joined, None))
                    break
                out.append((joined, joined + datetime.timedelta(days=stay)))
                day += stay + rnd.randint(30, 700)
            else:
                out.append((joined, None))
                break
        return out

    def memberships(self):
        """Yield membership rows: each organisation joins federations of earlier layers."""
        rnd, layers = self.random, self.layers
        categories = [Membership.Category.FULL] * 16 + [Membership.Category.ASSOCIATE] * 3
        categories.append(Membership.Category.OBSERVER)
        precisions = [DatePrecision.DAY] * 8 + [DatePrecision.MONTH, DatePrecision.YEAR]
        regional_of = {(parent, region): pk for pk, parent, region in layers.regionals}

        def rows(member, federation, category=None, always_current=False):
            spans = [(FIRST_DAY, None)] if always_current else self.periods()
            previous_left = FIRST_DAY
            for day, left in spans:
                # A date known to the month or year is stored as its first day;
                # only where that cannot reach back into the previous period.
                precision = rnd.choice(precisions)
                joined = start_of_period(day, precision)
                if joined < previous_left:
                    joined, precision = day, DatePrecision.DAY
                previous_left = left
                yield (
                    self.now,
                    self.now,
                    member,
                    federation,
                    category or rnd.choice(categories),
                    joined.isoformat(),
                    precision,
                    left.isoformat() if left else None,
                    DatePrecision.DAY,
                    self.source_id,
                    "",
                    "",
                    "",
                )

        for pk, parent, _region in layers.regionals:
            yield from rows(pk, parent, Membership.Category.REGIONAL, always_current=True)
        for level, ids in enumerate(layers.national):
            for pk in ids:
                country = layers.national_country[pk]
                feds = self._pick_federations(level, country, rnd.randint(2, 4))
                if level == 0:
                    intl = rnd.sample(layers.internationals, k=min(2, len(layers.internationals)))
                    feds = set(intl)
                    for parent in intl:
                        regional = regional_of.get((parent, self.region_of[country]))
                        if regional:
                            feds.add(regional)
                for federation in sorted(feds):
                    yield from rows(pk, federation)
        for pk, country in layers.others:
            feds = self._pick_federations(3, country, rnd.randint(4, 8))
            if rnd.random() < 0.05:
                feds.add(rnd.choice(layers.internationals))
            for federation in sorted(feds):
                yield from rows(pk, federation)

    def _pick_federations(self, level, country, count):
        """Pick distinct national federations above `level`, mostly of the same country."""
        rnd, layers = self.random, self.layers
        levels = range(level) if level else range(0)
        picked = set()
        for _attempt in range(count * 3):
            if len(picked) >= count or not levels:
                break
            chosen_level = rnd.choice(levels)
            same = layers.national_by_country[chosen_level].get(country)
            pool = same if same and rnd.random() < 0.75 else layers.national[chosen_level]
            picked.add(rnd.choice(pool))
        return picked

    # Declarations --------------------------------------------------------

    def declarations(self, organisations):
        """Yield yearly declaration rows: federations every year, others now and then."""
        rnd = self.random
        for pk, kind in organisations:
            is_federation = kind in (
                Organisation.Kind.INTERNATIONAL,
                Organisation.Kind.REGIONAL,
                Organisation.Kind.NATIONAL,
            )
            size = rnd.lognormvariate(3, 1.2)
            for year in range(FIRST_YEAR, LAST_YEAR + 1):
                if not is_federation and rnd.random() > 0.4:
                    continue
                declared = datetime.date(year + 1, rnd.randint(2, 6), rnd.randint(1, 28))
                growth = 1 + (year - FIRST_YEAR) * 0.03
                if is_federation:
                    enterprises = int(size * 40 * growth) + 1
                    employment = enterprises * rnd.randint(5, 60)
                    member_organisations = int(size * 3) + 1
                    countries = rnd.randint(1, 40) if kind != Organisation.Kind.NATIONAL else 1
                else:
                    enterprises, member_organisations, countries = 1, None, None
                    employment = int(size * growth) + 1
                yield (
                    self.now,
                    self.now,
                    pk,
                    year,
                    declared.isoformat(),
                    enterprises,
                    employment,
                    member_organisations,
                    countries,
                    is_federation,
                    self.source_id,
                    "",
                )


def generate(organisations, seed, method="auto", log=None):
    """Create a synthetic register of `organisations` organisations; return what it made."""
    if method == "auto":
        method = "copy" if connection.vendor == "postgresql" else "bulk"
    if method == "copy" and connection.vendor != "postgresql":
        raise CommandError("COPY needs PostgreSQL; use --method bulk on this database.")
    if synthetic_organisations().exists():
        raise CommandError("The database already holds synthetic data; run with --clear first.")
    started = time.perf_counter()
    result = Result(method=method)
    say = log or (lambda message: None)
    with transaction.atomic():
        generator = Generator(organisations, seed)
        generator.source_id = synthetic_source().pk
        first_id = _reserve_ids(organisations)
        # Streamed to the writer as they are drawn, keeping only (id, kind) for the declarations:
        # a list of every row's dict took 3 GB at a million organisations.
        kinds = []

        def organisation_rows():
            for row in generator.organisations(first_id):
                kinds.append((row["id"], row["kind"]))
                yield [row[c] for c in ORGANISATION_COLUMNS]

        writer = _copy if method == "copy" else _bulk
        result.organisations = writer(Organisation, ORGANISATION_COLUMNS, organisation_rows())
        say(f"organisations: {result.organisations} in {time.perf_counter() - started:.1f} s")
        result.memberships = writer(Membership, MEMBERSHIP_COLUMNS, generator.memberships())
        say(f"memberships: {result.memberships} in {time.perf_counter() - started:.1f} s")
        result.declarations = writer(DeclaredFigures, DECLARATION_COLUMNS, generator.declarations(kinds))
        say(f"declarations: {result.declarations} in {time.perf_counter() - started:.1f} s")
        # COPY and bulk_create bypass the model: the materialised network is computed again once.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Membership._meta.db_table}")
        reach.rebuild()
        say(f"network reach: in {time.perf_counter() - started:.1f} s")
        counted.rebuild()
        say(f"counted figures: in {time.perf_counter() - started:.1f} s")
    if connection.vendor == "postgresql" and connection.get_autocommit():
        # What autovacuum would do a minute later: statistics for the planner, and the
        # visibility map that lets index-only scans skip the heap (30× faster lookups
        # in the directory's federation filter right after a bulk load).
        with connection.cursor() as cursor:
            for model in (Organisation, Membership, DeclaredFigures, NetworkReach, CountedFigures):
                cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    _register_changed()
    result.seconds = time.perf_counter() - started
    return result


def _reserve_ids(count):
    """Return the first of `count` consecutive free organisation ids."""
    table = Organisation._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Move the identity sequence past the block, so later inserts never collide.
            cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
            first = cursor.fetchone()[0] + 1
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, first + count - 1])
            return first
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
        return cursor.fetchone()[0] + 1


TEXT_TYPES = {"CharField", "TextField", "SlugField"}


def _copy(model, columns, rows, chunk=100_000):
    """Stream rows into the model's table with COPY, a chunk at a time; return the count."""
    table = model._meta.db_table
    not_null_text = [
        f.column
        for f in model._meta.concrete_fields
        if f.column in columns
        and not f.null
        and f.get_internal_type() in {"CharField", "TextField", "SlugField"}
    ]
    sql = (
        f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, "
        f"FORCE_NOT_NULL ({', '.join(not_null_text)}))"
    )
    total = 0
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg2's own cursor, for copy_expert
        for row in rows:
            out.writerow(row)
            total += 1
            if total % chunk == 0:
                buffer.seek(0)
                raw.copy_expert(sql, buffer)
                buffer.seek(0)
                buffer.truncate()
        buffer.seek(0)
        raw.copy_expert(sql, buffer)
    return total


def _bulk(model, columns, rows, batch=2000):
    """Insert rows with bulk_create in batches; return the count."""
    attnames = [_attname(model, c) for c in columns]
    total, pending = 0, []
    for row in rows:
        values = dict(zip(attnames, row, strict=True))
        values.pop("created_at", None)
        values.pop("updated_at", None)
        pending.append(model(**values))
        if len(pending) >= batch:
            model.objects.bulk_create(pending)
            total += len(pending)
            pending = []
    model.objects.bulk_create(pending)
    return total + len(pending)


def _attname(model, column):
    for f in model._meta.concrete_fields:
        if f.column == column:
            return f.attname
    raise CommandError(f"No column {column} on {model.__name__}.")


class Command(BaseCommand):
    help = "Generate a deterministic synthetic register for benchmarks, or remove it (--clear)."

    def add_arguments(self, parser):
        parser.add_argument("--organisations", type=int, default=None, help="How many (default 1000).")
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same register.")
        parser.add_argument(
            "--clear",
            action="store_true",
            help="Remove every synthetic record first; alone, only remove.",
        )
        parser.add_argument(
            "--method",
            choices=["auto", "copy", "bulk"],
            default="auto",
            help="COPY (PostgreSQL only) or bulk_create; auto picks COPY where it can.",
        )

    def handle(self, *args, organisations, seed, clear, method, **options):
        if clear:
            removed = clear_synthetic()
            self.stdout.write(f"Removed {removed} synthetic organisations and their records.")
            if organisations is None:
                return
        result = generate(organisations or 1000, seed, method, log=self.stdout.write)
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {result.organisations} organisations, {result.memberships} memberships and "
                f"{result.declarations} declarations with {result.method} in {result.seconds:.1f} s "
                f"(all on the source {SOURCE_TITLE!r})."
            )
        )
