"""The CSV format: export, the import plan, its rejections, and the round trip between them."""

import csv
import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.core.validators import MaxValueValidator
from django.db import connection, transaction
from django.db.utils import ConnectionDoesNotExist
from django.template.defaultfilters import filesizeformat
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from members import csv_io
from members.csv_io.columns import folded
from members.dates import JOINED_PRECISIONS, LEFT_PRECISIONS, DatePrecision, start_of_period, stored_left_on
from members.filters import DirectoryFilter
from members.models import DeclaredFigures, Membership, Organisation
from tests.factories import DeclaredFiguresFactory, FederationFactory, MembershipFactory, OrganisationFactory


def export_text(queryset=None, **options):
    return "".join(csv_io.stream_csv(queryset, **options))


def rows_of(text, delimiter=","):
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter))


def make_file(*rows, header=None):
    """A CSV file (bytes) with the given rows as dicts; missing cells are empty."""
    header = header or csv_io.HEADERS
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def snapshot():
    return export_text(), Organisation.objects.count(), Membership.objects.count()


def import_with_command(tmp_path, data):
    path = tmp_path / "import.csv"
    path.write_bytes(data)
    err = io.StringIO()
    call_command("import_members", str(path), stdout=io.StringIO(), stderr=err)
    return err.getvalue()


# Export


def test_export_has_one_row_per_membership_and_one_per_organisation_without_any(db):
    federation = FederationFactory(slug="fed")
    member = OrganisationFactory(slug="member")
    other = FederationFactory(slug="other")
    MembershipFactory(member=member, federation=federation)
    MembershipFactory(member=member, federation=other)
    rows = rows_of(export_text())
    assert [(r["slug"], r["federation"]) for r in rows] == [
        ("fed", ""),
        ("member", "fed"),
        ("member", "other"),
        ("other", ""),
    ]


def test_export_shows_latest_declaration_of_each_organisation(db):
    organisation = OrganisationFactory(slug="org")
    DeclaredFiguresFactory(organisation=organisation, year=2015, declared_on=datetime.date(2015, 6, 1))
    DeclaredFiguresFactory(
        organisation=organisation,
        year=2016,
        declared_on=datetime.date(2016, 6, 1),
        enterprises=7,
        employment=70,
    )
    [row] = rows_of(export_text())
    assert (row["figures_year"], row["enterprises"], row["employment"]) == ("2016", "7", "70")


def test_export_options_give_bom_and_semicolons(db):
    OrganisationFactory(slug="org", name="A, B; C")
    text = export_text(**csv_io.export_options({"bom": "1", "delimiter": "semicolon"}))
    assert text.startswith("\ufeffslug;name;")
    assert rows_of(text, delimiter=";")[0]["name"] == "A, B; C"


@pytest.mark.parametrize("lead", sorted(csv_io.FORMULA_LEADS))
def test_neutralise_puts_an_apostrophe_before_every_dangerous_leading_character(lead):
    assert csv_io.neutralise(f"{lead}1+1") == f"'{lead}1+1"
    assert csv_io.unneutralise(csv_io.neutralise(f"{lead}1+1")) == f"{lead}1+1"


@pytest.mark.parametrize("text", ["'=1", "''", "'", "'a", "a=1", "", "é"])
def test_unneutralise_gives_back_any_text_neutralise_wrote(text):
    assert csv_io.unneutralise(csv_io.neutralise(text)) == text


# NUL cannot be stored on PostgreSQL and Django's forms refuse it; the unit
# test above covers it.
STORABLE_LEADS = sorted(csv_io.FORMULA_LEADS - {"\0"})


@pytest.mark.parametrize("lead", STORABLE_LEADS)
def test_every_dangerous_leading_character_is_neutralised_and_re_imports_unchanged(db, lead):
    OrganisationFactory(slug="org", name=f"{lead}cmd|' /C calc'!A0", city=f"{lead}5 workers")
    data = export_text().encode()
    [row] = rows_of(data.decode())
    assert row["name"] == f"'{lead}cmd|' /C calc'!A0"
    assert row["city"] == f"'{lead}5 workers"
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    assert not plan.has_changes


def test_numbers_and_dates_are_not_neutralised(db):
    organisation = OrganisationFactory(slug="org")
    MembershipFactory(member=organisation, joined_on=datetime.date(2017, 6, 21))
    DeclaredFiguresFactory(organisation=organisation, enterprises=0, employment=5)
    row = next(r for r in rows_of(export_text()) if r["slug"] == "org")
    assert (row["joined_on"], row["enterprises"], row["employment"]) == ("2017-06-21", "0", "5")


def test_export_runs_one_query_whatever_the_number_of_rows(db, django_assert_num_queries):
    def populate(count):
        federation = FederationFactory()
        for _ in range(count):
            organisation = OrganisationFactory()
            MembershipFactory(member=organisation, federation=federation)
            DeclaredFiguresFactory(organisation=organisation)

    populate(3)
    # One SELECT: organisations LEFT JOIN memberships and federations, with
    # the latest declaration's year, enterprises and employment as subqueries.
    with django_assert_num_queries(1):
        small = export_text()
    populate(60)
    with django_assert_num_queries(1):
        large = export_text()
    assert len(rows_of(small)) == 4
    assert len(rows_of(large)) == 4 + 61


def test_exported_seed_re_imports_with_no_change(seeded):
    plan = csv_io.plan_import(export_text().encode())
    assert plan.errors == []
    assert not plan.has_changes
    assert plan.counts()["memberships_unchanged"] == Membership.objects.count()


def test_seed_exported_and_imported_into_an_empty_register_exports_the_same_file(seeded):
    before = export_text()
    with transaction.atomic():
        Organisation.objects.update(source=None)
        from members.models import AdmissionRule, DeclaredFigures

        AdmissionRule.objects.all().delete()
        DeclaredFigures.objects.all().delete()
        Membership.objects.all().delete()
        Organisation.objects.all().delete()
        plan = csv_io.plan_import(before.encode())
        assert plan.errors == []
        csv_io.apply_import(plan)
        after = export_text()
        transaction.set_rollback(True)
    declaration_columns = [c.header for c in csv_io.COLUMNS if c.model == csv_io.DECLARATION]
    strip = lambda text: [{k: v for k, v in r.items() if k not in declaration_columns} for r in rows_of(text)]  # noqa: E731
    assert strip(after) == strip(before)


# The round trip, as a property

_texts = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40),
    st.sampled_from(
        [
            "Crédit Coopératif",
            'say "hi", then go',
            "line one\nline two",
            "a;b",
            "=1+1",
            "-5 workers",
            "a\u2028b",
            "a\rb",
            "a\r\nb",
        ]
    ),
).map(str.strip)
_organisations = st.lists(
    st.fixed_dictionaries(
        {
            "slug": st.from_regex(r"[a-z0-9][a-z0-9_-]{0,15}", fullmatch=True),
            "name": _texts.filter(bool).map(lambda t: t[:300]),
            "acronym": _texts.map(lambda t: t[:50].strip()),
            "city": _texts.map(lambda t: t[:100].strip()),
            "kind": st.sampled_from(Organisation.Kind.values),
            "country": st.sampled_from(["", "BE", "FR", "ES", "PR", "IN"]),
            "countries_of_operation": st.lists(st.sampled_from(["BE", "FR", "DE", "IT"]), unique=True).map(
                sorted
            ),
            "website": st.sampled_from(["", "https://example.coop/", "https://example.org/a?b=c"]),
        }
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda o: o["slug"],
)
_memberships = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.integers(0, 5),
        st.sampled_from(Membership.Category.values),
        st.dates(datetime.date(1950, 1, 1), datetime.date(2030, 12, 31)),
        st.sampled_from([value for value, _label in JOINED_PRECISIONS]),
        st.one_of(st.none(), st.integers(1, 5000)),
        # Departures "at the end of" a period too: stored the day after, written as its last day.
        st.sampled_from([value for value, _label in LEFT_PRECISIONS]),
    ),
    max_size=8,
)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(organisations=_organisations, memberships=_memberships)
def test_any_exported_register_re_imports_unchanged_and_rebuilds_the_same_file(organisations, memberships):
    with transaction.atomic():
        created = Organisation.objects.bulk_create(
            [Organisation(**{k: v for k, v in o.items() if v or k == "name"}) for o in organisations]
        )
        pairs = set()
        links = []
        for member, federation, category, joined, precision, days, left_precision in memberships:
            # Members only join federations earlier in the list: no cycles, one period per pair.
            if not federation < member < len(created) or (member, federation) in pairs:
                continue
            pairs.add((member, federation))
            joined = start_of_period(joined, precision)
            left = stored_left_on(joined + datetime.timedelta(days=days), left_precision) if days else None
            if left is not None and left <= joined:
                left = None
            links.append(
                Membership(
                    member=created[member],
                    federation=created[federation],
                    category=category,
                    joined_on=joined,
                    joined_precision=precision,
                    left_on=left,
                    left_precision=left_precision if left else DatePrecision.DAY,
                )
            )
        Membership.objects.bulk_create(links)
        exported = export_text().encode()

        plan = csv_io.plan_import(exported)
        assert plan.errors == []
        assert not plan.has_changes

        Membership.objects.all().delete()
        Organisation.objects.all().delete()
        plan = csv_io.plan_import(exported)
        assert plan.errors == []
        csv_io.apply_import(plan)
        assert export_text().encode() == exported
        transaction.set_rollback(True)


# Import: what a valid file does


def org_row(**cells):
    return {"slug": "new-coop", "name": "New Co-op", "kind": "cooperative", **cells}


def test_import_creates_organisations_and_their_memberships(db):
    FederationFactory(slug="cicopa")
    data = make_file(
        org_row(
            country="Belgique",
            countries_of_operation="FR; Alemania",
            federation="cicopa",
            joined_on="2017-05-15",
            joined_precision="month",
        ),
    )
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    assert [row.action for row in plan.rows] == ["create"]
    assert [c.column for c in plan.rows[0].changes] == [
        "slug",
        "name",
        "kind",
        "country",
        "countries_of_operation",
        "category",
        "joined_on",
        "joined_precision",
    ]
    csv_io.apply_import(plan)
    organisation = Organisation.objects.get(slug="new-coop")
    assert organisation.country == "BE"
    assert [c.code for c in organisation.countries_of_operation] == ["DE", "FR"]
    membership = organisation.memberships.get()
    assert (membership.federation.slug, membership.joined_on) == ("cicopa", datetime.date(2017, 5, 1))


def test_import_plan_lists_the_differences_and_writes_nothing(db):
    OrganisationFactory(slug="new-coop", name="Old name", kind="cooperative", city="Lyon")
    before = snapshot()
    plan = csv_io.plan_import(make_file(org_row(city="Paris"), header=["slug", "name", "kind", "city"]))
    assert plan.errors == []
    [row] = plan.rows
    assert row.action == "update"
    assert [(c.column, c.old, c.new) for c in row.changes] == [
        ("name", "Old name", "New Co-op"),
        ("city", "Lyon", "Paris"),
    ]
    assert snapshot() == before


def test_columns_left_out_of_the_file_are_left_unchanged(db):
    OrganisationFactory(slug="new-coop", name="New Co-op", kind="cooperative", city="Lyon", country="FR")
    plan = csv_io.plan_import(make_file(org_row(), header=["slug", "name", "kind"]))
    assert not plan.has_changes


def test_import_reads_semicolons_and_a_byte_order_mark(db):
    data = "\ufeffslug;name;kind;country\nnew-coop;Coop, with comma;cooperative;España\n".encode()
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    csv_io.apply_import(plan)
    organisation = Organisation.objects.get(slug="new-coop")
    assert (organisation.name, organisation.country.code) == ("Coop, with comma", "ES")


def test_import_updates_a_membership_found_by_member_federation_and_start(db):
    membership = MembershipFactory(joined_on=datetime.date(2015, 1, 1))
    member = membership.member
    data = make_file(
        {
            "slug": member.slug,
            "name": member.name,
            "kind": member.kind,
            "country": "FR",
            "federation": membership.federation.slug,
            "joined_on": "2015-01-01",
            "left_on": "2018-03-01",
        }
    )
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    assert plan.counts()["memberships_updated"] == 1
    csv_io.apply_import(plan)
    membership.refresh_from_db()
    assert membership.left_on == datetime.date(2018, 3, 1)


def test_import_is_recorded_in_the_history_as_the_importing_user(db, django_user_model):
    user = django_user_model.objects.create_user("importer")
    csv_io.apply_import(csv_io.plan_import(make_file(org_row())), user=user)
    organisation = Organisation.objects.get(slug="new-coop")
    if not hasattr(organisation, "history"):
        pytest.skip("change history is not installed")
    assert organisation.history.get().history_user == user


def test_dry_run_command_writes_nothing(db, tmp_path):
    path = tmp_path / "import.csv"
    path.write_bytes(make_file(org_row()))
    out = io.StringIO()
    call_command("import_members", str(path), "--dry-run", stdout=out)
    assert "organisations created: 1" in out.getvalue()
    assert not Organisation.objects.exists()


def test_plan_runs_the_same_number_of_queries_for_few_and_many_rows(db, django_assert_num_queries):
    federation = FederationFactory(slug="fed")
    for number in range(40):
        MembershipFactory(member=OrganisationFactory(slug=f"org-{number}"), federation=federation)

    def file_of(count):
        return make_file(
            *(org_row(slug=f"org-{n}", federation="fed", joined_on="2016-01-01") for n in range(count))
        )

    # 1. the organisations by slug, name or acronym; 2. their memberships; 3. the stored
    # periods of the file's (member, federation) pairs, for the overlap check; 4. the network
    # above the file's federations, for the cycle check (members/validation.py's two queries);
    # 5. the federations' admission rules (none here, so no query for the countries' regions).
    with django_assert_num_queries(5):
        csv_io.plan_import(file_of(3))
    with django_assert_num_queries(5):
        csv_io.plan_import(file_of(40))


# Import: each rejection names the row and column, and changes nothing

REJECTIONS = [
    ("unknown country", [org_row(country="Atlantis")], 2, "country", "Unknown country “Atlantis”"),
    (
        "unknown federation",
        [org_row(federation="nowhere", joined_on="2017-01-01")],
        2,
        "federation",
        "Unknown federation “nowhere”",
    ),
    (
        "bad date",
        [org_row(federation="fed", joined_on="sometime in 2017")],
        2,
        "joined_on",
        "“sometime in 2017” is not a date the import reads",
    ),
    (
        "negative count",
        [org_row(employment="-5")],
        2,
        "employment",
        "“-5” is not a whole number of zero or more",
    ),
    ("duplicate row", [org_row(), org_row()], 3, "", "Duplicates row 2"),
    ("bad kind", [org_row(kind="club")], 2, "kind", "“club” is not one of the accepted values"),
    (
        "end before start",
        [org_row(federation="fed", joined_on="2017-01-01", left_on="2016-01-01")],
        2,
        "left_on",
        "must end after the day it starts",
    ),
    (
        "membership of itself",
        [org_row(slug="fed", name="Fed", federation="fed", joined_on="2017-01-01")],
        2,
        "federation",
        "cannot be a member of itself",
    ),
    ("required cell empty", [org_row(name="")], 2, "name", "This cell is required"),
    (
        "same organisation described twice differently",
        [org_row(city="Lyon"), org_row(city="Paris", federation="fed", joined_on="2017-01-01")],
        3,
        "city",
        "Differs from row 2",
    ),
    (
        "overlapping periods",
        [org_row(slug="member", federation="fed", joined_on="2010-01-01")],
        2,
        "joined_on",
        "two periods of the same membership cannot overlap",
    ),
    (
        "cycle",
        [org_row(slug="fed", name="Fed", kind="national", federation="member", joined_on="2017-01-01")],
        2,
        "federation",
        "is already a member of",
    ),
]


@pytest.mark.parametrize(
    ("rows", "row", "column", "message"), [r[1:] for r in REJECTIONS], ids=[r[0] for r in REJECTIONS]
)
def test_invalid_row_is_rejected_with_its_row_column_and_message_and_nothing_changes(
    db, tmp_path, rows, row, column, message
):
    federation = FederationFactory(slug="fed", name="Fed", kind="national")
    MembershipFactory(
        member=OrganisationFactory(slug="member"), federation=federation, joined_on=datetime.date(2009, 1, 1)
    )
    before = snapshot()
    plan = csv_io.plan_import(make_file(*rows))
    assert [(e.row, e.column) for e in plan.errors] == [(row, column)]
    assert message in plan.errors[0].message
    with pytest.raises(CommandError, match="nothing was imported"):
        import_with_command(tmp_path, make_file(*rows))
    assert snapshot() == before


@pytest.mark.parametrize("column", ["enterprises", "employment"])
def test_a_count_larger_than_its_field_stores_is_refused_with_its_row_and_column(db, tmp_path, column):
    field = DeclaredFigures._meta.get_field(column)
    largest = min(v.limit_value for v in field.validators if isinstance(v, MaxValueValidator))
    assert csv_io.plan_import(make_file(org_row(**{column: str(largest)}))).errors == []
    for too_large in (str(largest + 1), "9" * 40, "9" * 5000):
        plan = csv_io.plan_import(make_file(org_row(**{column: too_large})))
        assert [(e.row, e.column) for e in plan.errors] == [(2, column)]
        assert plan.errors[0].message == f"Is larger than {largest}, the largest number this column can hold."
    with pytest.raises(CommandError, match="nothing was imported"):
        import_with_command(tmp_path, make_file(org_row(), org_row(slug="big", **{column: "9" * 40})))
    with translation.override("fr"):
        message = csv_io.plan_import(make_file(org_row(**{column: "9" * 40}))).errors[0].message
    assert message.startswith(f"Est supérieur à {largest}")


# Import and Membership.clean() refuse the same membership with the same message
# (members/validation.py is the one home of the rules).


def refusal_by_clean(**fields):
    """The errors Membership.full_clean() raises for a membership with these fields."""
    with pytest.raises(ValidationError) as refused:
        Membership(**fields).full_clean()
    return refused.value.message_dict


def row_of(organisation, **cells):
    return org_row(slug=organisation.slug, name=organisation.name, kind=organisation.kind, **cells)


def test_an_overlap_with_a_stored_period_is_refused_with_the_message_clean_gives(db):
    federation = FederationFactory(slug="fed", name="Federation", acronym="FED")
    member = OrganisationFactory(slug="member", name="Member co-op")
    MembershipFactory(
        member=member,
        federation=federation,
        joined_on=datetime.date(2009, 1, 1),
        left_on=datetime.date(2012, 1, 1),
    )
    plan = csv_io.plan_import(make_file(row_of(member, federation="fed", joined_on="2010-06-01")))
    [error] = plan.errors
    assert (error.row, error.column) == (2, "joined_on")
    expected = refusal_by_clean(member=member, federation=federation, joined_on=datetime.date(2010, 6, 1))
    assert expected == {"__all__": [error.message]}


def test_a_cycle_is_refused_with_the_message_clean_gives(db):
    federation = FederationFactory(slug="fed", name="Federation", acronym="FED")
    member = FederationFactory(slug="member", name="Member federation", acronym="")
    MembershipFactory(member=member, federation=federation)
    plan = csv_io.plan_import(make_file(row_of(federation, federation="member", joined_on="2017-01-01")))
    [error] = plan.errors
    assert (error.row, error.column) == (2, "federation")
    expected = refusal_by_clean(member=federation, federation=member, joined_on=datetime.date(2017, 1, 1))
    assert expected == {"federation": [error.message]}


def test_an_end_before_the_start_is_refused_with_the_message_clean_gives(db):
    federation = FederationFactory(slug="fed")
    member = OrganisationFactory(slug="member")
    plan = csv_io.plan_import(
        make_file(row_of(member, federation="fed", joined_on="2017-01-01", left_on="2016-01-01"))
    )
    [error] = plan.errors
    assert (error.row, error.column) == (2, "left_on")
    expected = refusal_by_clean(
        member=member,
        federation=federation,
        joined_on=datetime.date(2017, 1, 1),
        left_on=datetime.date(2016, 1, 1),
    )
    assert expected == {"left_on": [error.message]}


def test_an_overlap_between_two_rows_names_the_other_row_after_the_message_clean_gives(db):
    federation = FederationFactory(slug="fed", name="Federation", acronym="FED")
    rows = [
        org_row(acronym="NEW", federation="fed", joined_on="2010-01-01", left_on="2015-01-01"),
        org_row(acronym="NEW", federation="fed", joined_on="2014-01-01"),
    ]
    plan = csv_io.plan_import(make_file(*rows))
    [error] = plan.errors
    assert (error.row, error.column) == (3, "joined_on")
    # As clean() words it once the organisation the file creates, and row 2, are saved.
    member = OrganisationFactory(slug="new-coop", name="New Co-op", acronym="NEW")
    MembershipFactory(
        member=member,
        federation=federation,
        joined_on=datetime.date(2010, 1, 1),
        left_on=datetime.date(2015, 1, 1),
    )
    expected = refusal_by_clean(member=member, federation=federation, joined_on=datetime.date(2014, 1, 1))
    assert error.message.endswith(" (row 2)")
    assert expected == {"__all__": [error.message.removesuffix(" (row 2)")]}


@pytest.mark.parametrize(
    ("stored", "typed", "same"),
    [
        ("Bélgica", "BÉLGICA", True),
        ("Bélgica", "belgica", True),
        ("Côte d’Ivoire", "COTE D’IVOIRE", True),
        # Lower-cased, not case-folded: "ß" is not "ss" for the search, nor for the import.
        ("Straße", "STRASSE", False),
    ],
)
def test_the_import_and_the_directory_search_fold_a_name_the_same_way(db, stored, typed, same):
    OrganisationFactory(slug="named", name=stored)
    found_by_search = list(DirectoryFilter({"q": typed}).qs.values_list("slug", flat=True)) == ["named"]
    assert found_by_search is same
    assert (folded(typed) == folded(stored)) is same


def test_a_country_name_is_looked_up_folded_as_the_directory_search_folds_it(db):
    data = make_file(
        org_row(slug="a", country="  BÉLGICA "),
        org_row(slug="b", country="côte  d'ivoire"),
        org_row(slug="c", country="ESPAÑA"),
    )
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    assert [v["country"] for v in plan.organisations_to_create.values()] == ["BE", "CI", "ES"]


class ReadsElsewhere:
    """A router that sends reads to a database that does not exist, and writes to the primary."""

    def db_for_read(self, model, **hints):
        return "elsewhere"

    def db_for_write(self, model, **hints):
        return "default"


@override_settings(DATABASE_ROUTERS=[f"{__name__}.ReadsElsewhere"])
def test_export_reads_the_database_the_router_picks_and_import_checks_read_the_primary(db):
    FederationFactory(slug="fed")
    with pytest.raises(ConnectionDoesNotExist):
        export_text()
    plan = csv_io.plan_import(make_file(org_row(federation="fed", joined_on="2017-01-01")))
    assert plan.errors == []
    assert plan.counts()["memberships_created"] == 1


FILE_REJECTIONS = [
    (
        "missing required column",
        make_file({"slug": "a", "name": "A"}, header=["slug", "name"]),
        "kind",
        "A new organisation needs its kind",
    ),
    (
        "unknown column",
        make_file(org_row(colour="red"), header=[*csv_io.HEADERS, "colour"]),
        "colour",
        "Unknown column",
    ),
    ("not utf-8", "slug,name,kind\ncoop,Crédit,bank\n".encode("cp1252"), "name", "The file is not in UTF-8"),
    ("utf-16", "slug,name,kind\n".encode("utf-16"), "", "The file is in UTF-16"),
    ("ragged row", b"slug,name,kind\ncoop,Coop\n", "", "This row has 2 cells; the header has 3"),
    ("nul character", b"slug,name,kind\ncoop,Co\x00op,bank\n", "name", "Contains a NUL character"),
    ("empty file", b"", "", "The file is empty"),
]


@pytest.mark.parametrize(
    ("data", "column", "message"), [r[1:] for r in FILE_REJECTIONS], ids=[r[0] for r in FILE_REJECTIONS]
)
def test_invalid_file_is_rejected_with_a_clear_message_and_nothing_changes(
    db, tmp_path, data, column, message
):
    before = snapshot()
    plan = csv_io.plan_import(data)
    assert [e.column for e in plan.errors] == [column]
    assert message in plan.errors[0].message
    with pytest.raises(CommandError):
        import_with_command(tmp_path, data)
    assert snapshot() == before


@override_settings(MEMBERS_IMPORT_MAX_BYTES=1000)
def test_file_over_the_size_limit_is_rejected_and_nothing_changes(db, tmp_path):
    data = make_file(*(org_row(slug=f"coop-{n}") for n in range(50)))
    plan = csv_io.plan_import(data)
    assert f"the largest file accepted is {filesizeformat(1000)}" in plan.errors[0].message
    with pytest.raises(CommandError):
        import_with_command(tmp_path, data)
    assert not Organisation.objects.exists()


def test_one_bad_row_among_good_ones_blocks_the_whole_file(db, tmp_path):
    data = make_file(org_row(slug="good-1"), org_row(slug="bad", country="Narnia"), org_row(slug="good-2"))
    with pytest.raises(CommandError):
        import_with_command(tmp_path, data)
    assert not Organisation.objects.exists()


def test_countries_are_read_from_codes_and_english_french_or_spanish_names(db):
    data = make_file(
        org_row(slug="a", country="be"),
        org_row(slug="b", country="Germany"),
        org_row(slug="c", country="Allemagne"),
        org_row(slug="d", country="alemania"),
        org_row(slug="e", country="Bélgica"),
    )
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    assert [v["country"] for v in plan.organisations_to_create.values()] == ["BE", "DE", "DE", "DE", "BE"]


def test_unknown_federations_are_named_alongside_other_errors_in_one_pass(db):
    data = make_file(org_row(country="Atlantis", federation="nowhere", joined_on="2017-01-01"))
    plan = csv_io.plan_import(data)
    assert [(e.row, e.column) for e in plan.errors] == [(2, "country"), (2, "federation")]


def test_a_leading_nul_is_neutralised_where_the_database_can_store_it(db):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL cannot store NUL in text")
    OrganisationFactory(slug="org", name="\0cmd")
    [row] = rows_of(export_text())
    assert row["name"] == "'\0cmd"


@pytest.mark.parametrize(
    "text", ["=1", "'=1", "''", "'", "'a", "a=1", "é=", "-", "'-5", "@x", "+", "'\t", "x'"]
)
def test_the_export_query_neutralises_exactly_as_neutralise_does(db, text):
    OrganisationFactory(slug="org", name="Name", city=text)
    [row] = rows_of(export_text())
    assert row["city"] == csv_io.neutralise(text)


def test_applying_an_import_runs_the_same_number_of_queries_for_few_and_many_rows(
    db, django_assert_num_queries
):
    FederationFactory(slug="fed")

    def plan_of(prefix, count):
        rows = [org_row(slug=f"{prefix}-{n}", federation="fed", joined_on="2016-01-01") for n in range(count)]
        return csv_io.plan_import(make_file(*rows))

    # 30 rows fit one INSERT even on SQLite, whose limit of 999 parameters
    # splits the widest table (history) every 35 rows: queries grow by batch,
    # never by row.
    small, large = plan_of("small", 3), plan_of("large", 30)
    with CaptureQueriesContext(connection) as captured:
        csv_io.apply_import(small)
    # Bulk inserts of organisations and memberships (and their history rows,
    # where history is installed), and the lookup of the federation's id:
    # as many queries for 30 rows as for 3.
    with django_assert_num_queries(len(captured)):
        csv_io.apply_import(large)
    assert Membership.objects.filter(member__slug__startswith="large-").count() == 30
