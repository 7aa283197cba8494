"""The register's schema and reference data as migrations 0001 to 0011 left them, in one migration.

Squashed from 0001_initial … 0011_organisation_kind_index (listed in `replaces`),
which every deployment had applied: there Django records this migration as
applied without running it. A new database runs it from the start.

The operations are those of the eleven migrations, in their order. Their data
and database-specific steps are copied below, not imported: a migration must
not change when live code (or another file) does. In order:

- 0002: on PostgreSQL, the btree_gist extension and the exclusion constraint
  refusing overlapping periods of the same member/federation pair;
- 0003: the four ICA regions and the region of every ISO 3166 country;
- 0006: the three staff roles as groups, and on PostgreSQL the unaccent
  extension for accent-insensitive admin search;
- 0007: on PostgreSQL, pg_trgm and the indexes over the folded names the
  member directory sorts and searches on;
- 0009: on PostgreSQL, with a superuser, the planner's cost of TRANSLATE().

None is elidable: the register needs its regions, roles, extensions, constraint
and indexes whatever later migrations do.
"""

import django.db.models.deletion
import django_countries.fields
import simple_history.models
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

# 0002 — On PostgreSQL, refuse overlapping periods of the same member/federation pair.
#
# An exclusion constraint over daterange(joined_on, left_on, '[)') needs the
# btree_gist extension for the equality parts. SQLite has no equivalent; there
# Membership.clean() is the guard (it runs on every database).

NO_OVERLAP_CONSTRAINT = "members_membership_no_overlap"


def add_membership_no_overlap(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        f"ALTER TABLE members_membership ADD CONSTRAINT {NO_OVERLAP_CONSTRAINT} EXCLUDE USING gist "
        "(member_id WITH =, federation_id WITH =, daterange(joined_on, left_on, '[)') WITH &&)"
    )


def drop_membership_no_overlap(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE members_membership DROP CONSTRAINT IF EXISTS {NO_OVERLAP_CONSTRAINT}")


# 0003 — Seed the four ICA regions and the region of every ISO 3166 country.
#
# Reference followed: the UN Statistics Division's M49 standard ("Standard
# country or area codes for statistical use"), continental level, mapped onto
# the ICA's four regions: Africa → Africa; Americas → Americas; Europe → Europe;
# Asia and Oceania → Asia-Pacific (the ICA's Asia and Pacific region). Two
# adjustments, both named here: Cyprus, an EU member state whose co-operatives
# belong to Cooperatives Europe, is placed in Europe; Antarctica, which M49
# leaves without a region, is placed in Asia-Pacific. Staff can edit the table.

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


def seed_regions(apps, schema_editor):
    Region = apps.get_model("members", "Region")
    CountryRegion = apps.get_model("members", "CountryRegion")
    for slug, name in REGIONS.items():
        region, _ = Region.objects.get_or_create(slug=slug, defaults={"name": name})
        CountryRegion.objects.bulk_create(
            [CountryRegion(country=code, region=region) for code in COUNTRIES[slug].split()],
            ignore_conflicts=True,
        )


def unseed_regions(apps, schema_editor):
    apps.get_model("members", "CountryRegion").objects.all().delete()
    apps.get_model("members", "Region").objects.filter(slug__in=REGIONS).delete()
    if schema_editor.connection.vendor == "postgresql":
        # Check the deleted rows' foreign keys now: going back, the tables are dropped
        # next in the same transaction (0003 had one of its own), and PostgreSQL refuses
        # to drop a table with deferred constraint checks pending.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


# 0006 — The three staff roles as groups, and accent-insensitive admin search on PostgreSQL.
#
# Groups carry Django's model permissions; the federation scope of editors
# (which memberships and declarations they may touch) is applied on top by
# members/permissions.py from the FederationEditor table.
#
# The permissions of a model added later must be given to these groups by a
# later migration.

REGISTRY_ADMINISTRATORS = "Registry administrators"
FEDERATION_EDITORS = "Federation editors"
READ_ONLY_STAFF = "Read-only staff"

MEMBERS_MODELS = [
    "organisation",
    "membership",
    "declaredfigures",
    "source",
    "region",
    "countryregion",
    "sector",
    "admissionrule",
    "federationeditor",
    "historicalorganisation",
    "historicalmembership",
    "historicaldeclaredfigures",
]

ROLES = {
    # Everything in the register, staff accounts, and unlocking locked-out sign-ins.
    REGISTRY_ADMINISTRATORS: [
        *(
            f"members.{action}_{model}"
            for model in MEMBERS_MODELS
            for action in ("add", "change", "delete", "view")
        ),
        *(
            f"auth.{action}_{model}"
            for model in ("user", "group")
            for action in ("add", "change", "delete", "view")
        ),
        *(
            f"axes.{action}_{model}"
            for model in ("accessattempt", "accesslog", "accessfailurelog")
            for action in ("delete", "view")
        ),
    ],
    # Scoped to their federations by members/permissions.py.
    FEDERATION_EDITORS: [
        *(f"members.view_{model}" for model in MEMBERS_MODELS if model != "federationeditor"),
        *(f"members.{action}_membership" for action in ("add", "change", "delete")),
        *(f"members.{action}_declaredfigures" for action in ("add", "change", "delete")),
        "members.add_source",
    ],
    READ_ONLY_STAFF: [f"members.view_{model}" for model in MEMBERS_MODELS if model != "federationeditor"],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.add(*wanted)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


def create_unaccent(apps, schema_editor):
    # Only PostgreSQL has the extension; SQLite's admin search stays accent-sensitive.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")


# 0007 — On PostgreSQL, index the folded names the member directory sorts and searches on.
#
# The directory (members.filters) sorts by, and searches with LIKE '%…%' in,
# LOWER(TRANSLATE(name, <accented letters>, <plain letters>)) and the same over
# the acronym. Without these indexes every directory page folds every name in
# the register (about 80 µs a row: 8 s at 100,000 organisations).
#
# The expressions must be exactly those the filter emits; tests/test_bench.py
# checks with EXPLAIN that the planner uses them. SQLite has no TRANSLATE() and
# no trigram index; there the register stays small.

# The folding table of members.filters (Folded) as it stood when this migration was
# written, frozen here so that a later change to the live code cannot change what the
# migration creates. If the live table changes, the directory's expressions no longer
# match these indexes (the EXPLAIN test fails): add a migration that rebuilds them.
_FOLD_FROM = (
    "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞàáâãäåçèéê"
    "ëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĐĒēĔĕĖė"
    "ĘęĚěĜĝĞğĠġĢģĤĥĦĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŁŃńŅņŇ"
    "ňŊŌōŎŏŐőŒŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŦŨũŪūŬŭŮůŰűŲų"
    "ŴŵŶŷŸŹźŻżŽžſƁƂƄƆƇƉƊƋƎƏƐƑƓƔƖƗƘƜƝƟƠơƢƤƦƧƩƬ"
    "ƮƯưƱƲƳƵƷƸƼǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǢǣǤǦǧǨǩǪǫǬ"
    "ǭǮǯǰǴǵǶǷǸǹǺǻǼǽǾǿȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗ"
    "ȘșȚțȜȞȟȠȢȤȦȧȨȩȪȫȬȭȮȯȰȱȲȳȺȻȽȾɁɃɄɅɆɈɊɌɎ"
)
_FOLD_TO = (
    "aaaaaaæceeeeiiiiðnoooooøuuuuyþaaaaaaceee"
    "eiiiinooooouuuuyyaaaaaaccccccccddđeeeeee"
    "eeeegggggggghhħiiiiiiiiijjkkllllllłnnnnn"
    "nŋooooooœrrrrrrssssssssttttŧuuuuuuuuuuuu"
    "wwyyyzzzzzzsɓƃƅɔƈɖɗƌǝəɛƒɠɣɩɨƙɯɲɵooƣƥʀƨʃƭ"
    "ʈuuʊʋƴƶʒƹƽaaiioouuuuuuuuuuaaaaææǥggkkooo"
    "oʒʒjggƕƿnnaaææøøaaaaeeeeiiiioooorrrruuuu"
    "ssttȝhhƞȣȥaaeeooooooooyyⱥȼƚⱦɂƀʉʌɇɉɋɍɏ"
)

FOLDED_INDEXES = {
    # Directory order: ORDER BY LOWER(TRANSLATE(name, …)) LIMIT 25 walks this index.
    "members_org_name_folded_idx": "btree ({name})",
    # Directory search: LOWER(TRANSLATE(name, …)) LIKE '%needle%'.
    "members_org_name_folded_trgm": "gin ({name} gin_trgm_ops)",
    # Directory search: LOWER(TRANSLATE(acronym, …)) LIKE '%needle%'.
    "members_org_acronym_folded_trgm": "gin ({acronym} gin_trgm_ops)",
}


def _folded(column, quote):
    return f"LOWER(TRANSLATE({column}, {quote(_FOLD_FROM)}, {quote(_FOLD_TO)}))"


def create_folded_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    quote = schema_editor.quote_value
    for name, definition in FOLDED_INDEXES.items():
        expression = definition.format(name=_folded('"name"', quote), acronym=_folded('"acronym"', quote))
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON members_organisation USING {expression}")


def drop_folded_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in FOLDED_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


# 0009 — On PostgreSQL, tell the planner what the directory's folding really costs.
#
# The directory folds names with TRANSLATE() over some 400 accented letters
# (members.filters), about 65 µs a row, while the planner prices every built-in
# function at one operator. Believing a sequential scan cheap, it ignored the
# trigram indexes of the directory (0007 above): a search took 0.7 s at 10,000
# organisations instead of 12 ms. Only the planner's estimate changes; results do not.
#
# Changing a built-in function needs a superuser; without one the step is
# skipped (the indexes still serve the directory's order).

TRANSLATE_SIGNATURE = "pg_catalog.translate(text, text, text)"


def _is_superuser(schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
    return bool(row and row[0])


def raise_translate_cost(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql" and _is_superuser(schema_editor):
        schema_editor.execute(f"ALTER FUNCTION {TRANSLATE_SIGNATURE} COST 1000")


def restore_translate_cost(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql" and _is_superuser(schema_editor):
        schema_editor.execute(f"ALTER FUNCTION {TRANSLATE_SIGNATURE} COST 1")


class Migration(migrations.Migration):
    replaces = [
        ("members", "0001_initial"),
        ("members", "0002_membership_no_overlap_postgresql"),
        ("members", "0003_seed_regions"),
        ("members", "0004_organisation_is_synthetic"),
        ("members", "0005_history_and_federation_editors"),
        ("members", "0006_staff_roles_and_unaccent"),
        ("members", "0007_directory_search_indexes"),
        ("members", "0008_membership_counted_federation_index"),
        ("members", "0009_translate_cost"),
        ("members", "0010_network_covering_indexes"),
        ("members", "0011_organisation_kind_index"),
    ]

    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("axes", "0010_accessattemptexpiration"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # 0001_initial
        migrations.CreateModel(
            name="Region",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("slug", models.SlugField(max_length=40, unique=True, verbose_name="code")),
                ("name", models.CharField(max_length=100, unique=True, verbose_name="name")),
            ],
            options={
                "verbose_name": "region",
                "verbose_name_plural": "regions",
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="Sector",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100, unique=True, verbose_name="name")),
                ("slug", models.SlugField(max_length=100, unique=True, verbose_name="slug")),
            ],
            options={
                "verbose_name": "sector",
                "verbose_name_plural": "sectors",
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="CountryRegion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "country",
                    django_countries.fields.CountryField(max_length=2, unique=True, verbose_name="country"),
                ),
                (
                    "region",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="countries",
                        to="members.region",
                        verbose_name="region",
                    ),
                ),
            ],
            options={
                "verbose_name": "country's region",
                "verbose_name_plural": "countries' regions",
                "ordering": ["country"],
            },
        ),
        migrations.CreateModel(
            name="Source",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("title", models.CharField(max_length=300, verbose_name="title")),
                ("publisher", models.CharField(blank=True, max_length=200, verbose_name="publisher")),
                ("published_on", models.DateField(blank=True, null=True, verbose_name="published on")),
                ("url", models.URLField(blank=True, max_length=500, verbose_name="address")),
                ("notes", models.TextField(blank=True, verbose_name="notes")),
            ],
            options={
                "verbose_name": "source",
                "verbose_name_plural": "sources",
                "ordering": ["-published_on", "title"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("title", "published_on"), name="members_source_unique_title_date"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="Organisation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "name",
                    models.CharField(help_text="Never translated.", max_length=300, verbose_name="name"),
                ),
                ("acronym", models.CharField(blank=True, max_length=50, verbose_name="acronym")),
                (
                    "slug",
                    models.SlugField(
                        help_text="Used in the organisation's address.",
                        max_length=120,
                        unique=True,
                        verbose_name="slug",
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("international", "International federation"),
                            ("regional", "Regional federation"),
                            ("national", "National federation"),
                            ("cooperative", "Co-operative"),
                            ("bank", "Co-operative bank"),
                            ("support", "Support organisation"),
                        ],
                        max_length=20,
                        verbose_name="kind",
                    ),
                ),
                (
                    "country",
                    django_countries.fields.CountryField(
                        blank=True,
                        help_text="Where the headquarters are; the country counted in the statistics.",
                        max_length=2,
                        verbose_name="country",
                    ),
                ),
                (
                    "countries_of_operation",
                    django_countries.fields.CountryField(
                        blank=True,
                        help_text="Countries where it works, when the source names them.",
                        max_length=746,
                        multiple=True,
                        verbose_name="countries of operation",
                    ),
                ),
                (
                    "unnamed_countries_of_operation",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        help_text="How many further countries the source says it works in without naming them (“in Belgium and 8 other European countries” → 8).",
                        null=True,
                        verbose_name="unnamed countries of operation",
                    ),
                ),
                (
                    "subdivision",
                    models.CharField(
                        blank=True,
                        help_text="For example Kerala.",
                        max_length=100,
                        verbose_name="state or province",
                    ),
                ),
                ("city", models.CharField(blank=True, max_length=100, verbose_name="city")),
                ("address", models.TextField(blank=True, verbose_name="postal address")),
                ("phone", models.CharField(blank=True, max_length=50, verbose_name="telephone")),
                ("fax", models.CharField(blank=True, max_length=50, verbose_name="fax")),
                ("website", models.URLField(blank=True, max_length=300, verbose_name="website")),
                (
                    "email",
                    models.EmailField(
                        blank=True,
                        help_text="Shown publicly, in a form that address harvesters cannot read.",
                        max_length=254,
                        verbose_name="public e-mail",
                    ),
                ),
                ("description", models.TextField(blank=True, verbose_name="description")),
                (
                    "founded",
                    models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="year founded"),
                ),
                (
                    "sectors",
                    models.ManyToManyField(
                        blank=True, related_name="organisations", to="members.sector", verbose_name="sectors"
                    ),
                ),
                (
                    "source",
                    models.ForeignKey(
                        blank=True,
                        help_text="Where the facts on this record come from.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="organisations",
                        to="members.source",
                        verbose_name="source",
                    ),
                ),
            ],
            options={
                "verbose_name": "organisation",
                "verbose_name_plural": "organisations",
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="Membership",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "category",
                    models.CharField(
                        choices=[
                            ("full", "Full member"),
                            ("associate", "Associate member"),
                            ("observer", "Observer"),
                            ("regional", "Regional organisation"),
                        ],
                        default="full",
                        help_text="A regional organisation (CECOP for CICOPA) is linked to its parent by this category and is never counted among the parent's members.",
                        max_length=20,
                        verbose_name="category",
                    ),
                ),
                (
                    "joined_on",
                    models.DateField(
                        help_text="A date known only to the month, half-year or year is stored as its first day.",
                        verbose_name="joined on",
                    ),
                ),
                (
                    "joined_precision",
                    models.CharField(
                        choices=[
                            ("day", "Exact day"),
                            ("month", "Known to the month"),
                            ("half", "Known to the half-year"),
                            ("year", "Known to the year"),
                            ("by", "Known only to have happened by this date"),
                        ],
                        default="day",
                        max_length=10,
                        verbose_name="joined: precision",
                    ),
                ),
                (
                    "left_on",
                    models.DateField(
                        blank=True,
                        help_text="Empty while the membership is current. The member no longer counts on this day.",
                        null=True,
                        verbose_name="left on",
                    ),
                ),
                (
                    "left_precision",
                    models.CharField(
                        choices=[
                            ("day", "Exact day"),
                            ("month", "Known to the month"),
                            ("half", "Known to the half-year"),
                            ("year", "Known to the year"),
                            ("by", "Known only to have happened by this date"),
                        ],
                        default="day",
                        max_length=10,
                        verbose_name="left: precision",
                    ),
                ),
                (
                    "source_note",
                    models.TextField(
                        blank=True,
                        help_text="The words the dates are taken from.",
                        verbose_name="what the source says",
                    ),
                ),
                (
                    "federation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="affiliations",
                        to="members.organisation",
                        verbose_name="federation",
                    ),
                ),
                (
                    "member",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="memberships",
                        to="members.organisation",
                        verbose_name="member",
                    ),
                ),
                (
                    "source",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="memberships",
                        to="members.source",
                        verbose_name="source",
                    ),
                ),
            ],
            options={
                "verbose_name": "membership",
                "verbose_name_plural": "memberships",
                "ordering": ["federation__name", "member__name", "joined_on"],
            },
        ),
        migrations.CreateModel(
            name="DeclaredFigures",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "year",
                    models.PositiveSmallIntegerField(
                        help_text="The year the figures describe.", verbose_name="year"
                    ),
                ),
                (
                    "declared_on",
                    models.DateField(
                        help_text="When the figures were published; “as of” uses this date.",
                        verbose_name="declared on",
                    ),
                ),
                (
                    "enterprises",
                    models.PositiveIntegerField(
                        blank=True, null=True, verbose_name="enterprises represented"
                    ),
                ),
                (
                    "employment",
                    models.PositiveIntegerField(blank=True, null=True, verbose_name="people employed"),
                ),
                (
                    "member_organisations",
                    models.PositiveIntegerField(blank=True, null=True, verbose_name="member organisations"),
                ),
                (
                    "countries",
                    models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="countries"),
                ),
                (
                    "includes_members",
                    models.BooleanField(
                        default=True,
                        help_text="Tick when the enterprises and employment declared already include those of the organisation's own members, so the statistics do not add them again.",
                        verbose_name="includes its members' figures",
                    ),
                ),
                (
                    "source_note",
                    models.TextField(
                        blank=True,
                        help_text="The words the figures are taken from.",
                        verbose_name="what the source says",
                    ),
                ),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="declarations",
                        to="members.organisation",
                        verbose_name="organisation",
                    ),
                ),
                (
                    "source",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="declarations",
                        to="members.source",
                        verbose_name="source",
                    ),
                ),
            ],
            options={
                "verbose_name": "declared figures",
                "verbose_name_plural": "declared figures",
                "ordering": ["organisation__name", "-declared_on"],
            },
        ),
        migrations.CreateModel(
            name="AdmissionRule",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("description", models.CharField(blank=True, max_length=300, verbose_name="description")),
                (
                    "federation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="admission_rules",
                        to="members.organisation",
                        verbose_name="federation",
                    ),
                ),
                (
                    "requires",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="members.organisation",
                        verbose_name="members must also belong to",
                    ),
                ),
                (
                    "region",
                    models.ForeignKey(
                        blank=True,
                        help_text="Leave empty when the rule applies to members everywhere.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="members.region",
                        verbose_name="only for members in",
                    ),
                ),
            ],
            options={
                "verbose_name": "admission rule",
                "verbose_name_plural": "admission rules",
                "ordering": ["federation__name", "requires__name"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("federation", models.F("requires")), _negated=True),
                        name="members_admissionrule_not_self",
                        violation_error_message="A federation cannot require membership of itself.",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("region__isnull", False)),
                        fields=("federation", "requires", "region"),
                        name="members_admissionrule_unique_in_region",
                        violation_error_message="This rule exists already.",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("region__isnull", True)),
                        fields=("federation", "requires"),
                        name="members_admissionrule_unique_everywhere",
                        violation_error_message="This rule exists already.",
                    ),
                ],
            },
        ),
        migrations.AddConstraint(
            model_name="organisation",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("founded__isnull", True),
                    models.Q(("founded__gte", 1800), ("founded__lte", 2100)),
                    _connector="OR",
                ),
                name="members_organisation_founded_plausible",
                violation_error_message="The year founded must be between 1800 and 2100.",
            ),
        ),
        migrations.AddIndex(
            model_name="membership",
            index=models.Index(fields=["federation", "joined_on"], name="members_mship_fed_joined_idx"),
        ),
        migrations.AddConstraint(
            model_name="membership",
            constraint=models.CheckConstraint(
                condition=models.Q(("member", models.F("federation")), _negated=True),
                name="members_membership_not_self",
                violation_error_message="An organisation cannot be a member of itself.",
            ),
        ),
        migrations.AddConstraint(
            model_name="membership",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("left_on__isnull", True), ("left_on__gt", models.F("joined_on")), _connector="OR"
                ),
                name="members_membership_ends_after_start",
                violation_error_message="A membership must end after the day it starts.",
            ),
        ),
        migrations.AddConstraint(
            model_name="declaredfigures",
            constraint=models.UniqueConstraint(
                fields=("organisation", "declared_on"),
                name="members_declaredfigures_one_per_day",
                violation_error_message="This organisation already has a declaration on that date.",
            ),
        ),
        migrations.AddConstraint(
            model_name="declaredfigures",
            constraint=models.CheckConstraint(
                condition=models.Q(("year__gte", 1800), ("year__lte", 2100)),
                name="members_declaredfigures_year_plausible",
                violation_error_message="The year must be between 1800 and 2100.",
            ),
        ),
        migrations.AddConstraint(
            model_name="declaredfigures",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("enterprises__isnull", False),
                    ("employment__isnull", False),
                    ("member_organisations__isnull", False),
                    ("countries__isnull", False),
                    _connector="OR",
                ),
                name="members_declaredfigures_not_empty",
                violation_error_message="Enter at least one figure.",
            ),
        ),
        # 0002_membership_no_overlap_postgresql
        migrations.RunPython(
            code=add_membership_no_overlap,
            reverse_code=drop_membership_no_overlap,
            elidable=False,
        ),
        # 0003_seed_regions
        migrations.RunPython(
            code=seed_regions,
            reverse_code=unseed_regions,
            elidable=False,
        ),
        # 0004_organisation_is_synthetic
        migrations.AddField(
            model_name="organisation",
            name="is_synthetic",
            field=models.BooleanField(
                default=False,
                editable=False,
                help_text="Made up by generate_synthetic for benchmarks; never real data.",
                verbose_name="synthetic",
            ),
        ),
        # 0005_history_and_federation_editors
        migrations.CreateModel(
            name="HistoricalDeclaredFigures",
            fields=[
                (
                    "id",
                    models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID"),
                ),
                ("created_at", models.DateTimeField(blank=True, editable=False)),
                ("updated_at", models.DateTimeField(blank=True, editable=False)),
                (
                    "year",
                    models.PositiveSmallIntegerField(
                        help_text="The year the figures describe.", verbose_name="year"
                    ),
                ),
                (
                    "declared_on",
                    models.DateField(
                        help_text="When the figures were published; “as of” uses this date.",
                        verbose_name="declared on",
                    ),
                ),
                (
                    "enterprises",
                    models.PositiveIntegerField(
                        blank=True, null=True, verbose_name="enterprises represented"
                    ),
                ),
                (
                    "employment",
                    models.PositiveIntegerField(blank=True, null=True, verbose_name="people employed"),
                ),
                (
                    "member_organisations",
                    models.PositiveIntegerField(blank=True, null=True, verbose_name="member organisations"),
                ),
                (
                    "countries",
                    models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="countries"),
                ),
                (
                    "includes_members",
                    models.BooleanField(
                        default=True,
                        help_text="Tick when the enterprises and employment declared already include those of the organisation's own members, so the statistics do not add them again.",
                        verbose_name="includes its members' figures",
                    ),
                ),
                (
                    "source_note",
                    models.TextField(
                        blank=True,
                        help_text="The words the figures are taken from.",
                        verbose_name="what the source says",
                    ),
                ),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "organisation",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="members.organisation",
                        verbose_name="organisation",
                    ),
                ),
                (
                    "source",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="members.source",
                        verbose_name="source",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical declared figures",
                "verbose_name_plural": "historical declared figures",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalMembership",
            fields=[
                (
                    "id",
                    models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID"),
                ),
                ("created_at", models.DateTimeField(blank=True, editable=False)),
                ("updated_at", models.DateTimeField(blank=True, editable=False)),
                (
                    "category",
                    models.CharField(
                        choices=[
                            ("full", "Full member"),
                            ("associate", "Associate member"),
                            ("observer", "Observer"),
                            ("regional", "Regional organisation"),
                        ],
                        default="full",
                        help_text="A regional organisation (CECOP for CICOPA) is linked to its parent by this category and is never counted among the parent's members.",
                        max_length=20,
                        verbose_name="category",
                    ),
                ),
                (
                    "joined_on",
                    models.DateField(
                        help_text="A date known only to the month, half-year or year is stored as its first day.",
                        verbose_name="joined on",
                    ),
                ),
                (
                    "joined_precision",
                    models.CharField(
                        choices=[
                            ("day", "Exact day"),
                            ("month", "Known to the month"),
                            ("half", "Known to the half-year"),
                            ("year", "Known to the year"),
                            ("by", "Known only to have happened by this date"),
                        ],
                        default="day",
                        max_length=10,
                        verbose_name="joined: precision",
                    ),
                ),
                (
                    "left_on",
                    models.DateField(
                        blank=True,
                        help_text="Empty while the membership is current. The member no longer counts on this day.",
                        null=True,
                        verbose_name="left on",
                    ),
                ),
                (
                    "left_precision",
                    models.CharField(
                        choices=[
                            ("day", "Exact day"),
                            ("month", "Known to the month"),
                            ("half", "Known to the half-year"),
                            ("year", "Known to the year"),
                            ("by", "Known only to have happened by this date"),
                        ],
                        default="day",
                        max_length=10,
                        verbose_name="left: precision",
                    ),
                ),
                (
                    "source_note",
                    models.TextField(
                        blank=True,
                        help_text="The words the dates are taken from.",
                        verbose_name="what the source says",
                    ),
                ),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
                (
                    "federation",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="members.organisation",
                        verbose_name="federation",
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "member",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="members.organisation",
                        verbose_name="member",
                    ),
                ),
                (
                    "source",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="members.source",
                        verbose_name="source",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical membership",
                "verbose_name_plural": "historical memberships",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="HistoricalOrganisation",
            fields=[
                (
                    "id",
                    models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID"),
                ),
                ("created_at", models.DateTimeField(blank=True, editable=False)),
                ("updated_at", models.DateTimeField(blank=True, editable=False)),
                (
                    "name",
                    models.CharField(help_text="Never translated.", max_length=300, verbose_name="name"),
                ),
                ("acronym", models.CharField(blank=True, max_length=50, verbose_name="acronym")),
                (
                    "slug",
                    models.SlugField(
                        help_text="Used in the organisation's address.", max_length=120, verbose_name="slug"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("international", "International federation"),
                            ("regional", "Regional federation"),
                            ("national", "National federation"),
                            ("cooperative", "Co-operative"),
                            ("bank", "Co-operative bank"),
                            ("support", "Support organisation"),
                        ],
                        max_length=20,
                        verbose_name="kind",
                    ),
                ),
                (
                    "country",
                    django_countries.fields.CountryField(
                        blank=True,
                        help_text="Where the headquarters are; the country counted in the statistics.",
                        max_length=2,
                        verbose_name="country",
                    ),
                ),
                (
                    "countries_of_operation",
                    django_countries.fields.CountryField(
                        blank=True,
                        help_text="Countries where it works, when the source names them.",
                        max_length=746,
                        multiple=True,
                        verbose_name="countries of operation",
                    ),
                ),
                (
                    "unnamed_countries_of_operation",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        help_text="How many further countries the source says it works in without naming them (“in Belgium and 8 other European countries” → 8).",
                        null=True,
                        verbose_name="unnamed countries of operation",
                    ),
                ),
                (
                    "subdivision",
                    models.CharField(
                        blank=True,
                        help_text="For example Kerala.",
                        max_length=100,
                        verbose_name="state or province",
                    ),
                ),
                ("city", models.CharField(blank=True, max_length=100, verbose_name="city")),
                ("address", models.TextField(blank=True, verbose_name="postal address")),
                ("phone", models.CharField(blank=True, max_length=50, verbose_name="telephone")),
                ("fax", models.CharField(blank=True, max_length=50, verbose_name="fax")),
                ("website", models.URLField(blank=True, max_length=300, verbose_name="website")),
                (
                    "email",
                    models.EmailField(
                        blank=True,
                        help_text="Shown publicly, in a form that address harvesters cannot read.",
                        max_length=254,
                        verbose_name="public e-mail",
                    ),
                ),
                ("description", models.TextField(blank=True, verbose_name="description")),
                (
                    "founded",
                    models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="year founded"),
                ),
                (
                    "is_synthetic",
                    models.BooleanField(
                        default=False,
                        editable=False,
                        help_text="Made up by generate_synthetic for benchmarks; never real data.",
                        verbose_name="synthetic",
                    ),
                ),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "source",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        help_text="Where the facts on this record come from.",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="members.source",
                        verbose_name="source",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical organisation",
                "verbose_name_plural": "historical organisations",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="FederationEditor",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "federation",
                    models.ForeignKey(
                        help_text="The editor may add, change and end this federation's memberships, and edit the declared figures of the federation and of its present and past members.",
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="editors",
                        to="members.organisation",
                        verbose_name="federation",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="federation_editorships",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="member of staff",
                    ),
                ),
            ],
            options={
                "verbose_name": "federation editor",
                "verbose_name_plural": "federation editors",
                "ordering": ["federation__name", "user__username"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("user", "federation"),
                        name="members_federationeditor_unique",
                        violation_error_message="This person already edits this federation.",
                    )
                ],
            },
        ),
        # 0006_staff_roles_and_unaccent
        migrations.RunPython(
            code=create_roles,
            reverse_code=remove_roles,
            elidable=False,
        ),
        # The extension is left in place on reversal: other databases objects may use it.
        migrations.RunPython(
            code=create_unaccent,
            reverse_code=migrations.RunPython.noop,
            elidable=False,
        ),
        # 0007_directory_search_indexes
        migrations.RunPython(
            code=create_folded_indexes,
            reverse_code=drop_folded_indexes,
            elidable=False,
        ),
        # 0008_membership_counted_federation_index
        migrations.AddIndex(
            model_name="membership",
            index=models.Index(
                condition=models.Q(("category", "regional"), _negated=True),
                fields=["federation", "member"],
                name="members_mship_counted_fed_idx",
            ),
        ),
        # 0009_translate_cost
        migrations.RunPython(
            code=raise_translate_cost,
            reverse_code=restore_translate_cost,
            elidable=False,
        ),
        # 0010_network_covering_indexes
        migrations.RemoveIndex(
            model_name="membership",
            name="members_mship_fed_joined_idx",
        ),
        migrations.AddIndex(
            model_name="declaredfigures",
            index=models.Index(
                fields=["organisation", "-declared_on"],
                include=("enterprises", "employment", "includes_members"),
                name="members_decl_latest_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="membership",
            index=models.Index(
                fields=["federation", "joined_on"],
                include=("left_on", "member"),
                name="members_mship_fed_current_idx",
            ),
        ),
        # 0011_organisation_kind_index
        migrations.AddIndex(
            model_name="organisation",
            index=models.Index(fields=["kind"], name="members_org_kind_idx"),
        ),
    ]
