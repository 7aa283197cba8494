"""The import's writes at bulk speed (members/bulk.py): fields, ids and history as a save makes them.

On PostgreSQL the rows and their history go through COPY with ids taken from
the sequence first; elsewhere through multi-row INSERT ... RETURNING. Either
way the result must be what the ORM's save and django-simple-history store,
in one transaction that a failure anywhere undoes whole. The cycle check
before the writes reads only the network above the file's federations.
"""

import csv
import datetime
import io
import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.test.utils import CaptureQueriesContext

from members import csv_io, reach
from members.csv_io import applying
from members.csv_io.applying import StalePlanError, writes
from members.models import Membership, Organisation, Source
from members.validation import cycle_error
from tests.factories import FederationFactory, MembershipFactory, OrganisationFactory, SourceFactory

HistoricalOrganisation = Organisation.history.model
HistoricalMembership = Membership.history.model

# Every field the import writes on a new organisation, and those it leaves to their defaults.
ORGANISATION_FIELDS = [f.attname for f in Organisation._meta.concrete_fields if f.attname != "id"]
MEMBERSHIP_FIELDS = [f.attname for f in Membership._meta.concrete_fields if f.attname != "id"]
# What the history keeps of an organisation: every field but those the database computes (the folded names).
TRACKED_ORGANISATION_FIELDS = [f.attname for f in Organisation._meta.concrete_fields if not f.generated]


def make_file(*rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=csv_io.HEADERS, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def planned(*rows):
    plan = csv_io.plan_import(make_file(*rows))
    assert plan.errors == [], plan.errors
    return plan


def counts():
    """How many organisations, memberships, their history records and sources the register holds."""
    return (
        Organisation.objects.count(),
        Membership.objects.count(),
        HistoricalOrganisation.objects.count(),
        HistoricalMembership.objects.count(),
        Source.objects.count(),
    )


@pytest.fixture
def importer(django_user_model):
    return django_user_model.objects.create_user("importer", is_staff=True, is_superuser=True)


def many(count, federation="fed", **cells):
    return [
        {
            "slug": f"coop-{n}",
            "name": f"Co-op {n}",
            "kind": "cooperative",
            "federation": federation,
            "joined_on": "2017-05-01",
            **cells,
        }
        for n in range(count)
    ]


# Every field, as the ORM's save stores it


def test_a_new_organisation_stores_every_field_as_the_orms_save_of_the_same_values(db, importer):
    FederationFactory(slug="cicopa")
    plan = planned(
        {
            "name": "Société coopérative “Ação”\tTab\\Backslash",
            "acronym": "SČMVD",
            "kind": "national",
            "country": "Belgique",
            "subdivision": "Kerala",
            "countries_of_operation": "FR; Alemania; BE",
            "city": "Liège\nNord",
            "website": "https://example.org/a?b=1",
            "federation": "cicopa",
            "joined_on": "May 2017",
        },
        {"name": "Bare", "kind": "cooperative"},
    )
    values = list(plan.organisations_to_create.values())

    applying.apply_import(plan, user=importer)

    for given in values:
        imported = Organisation.objects.get(slug=given["slug"])
        # The reference: the same values saved by the ORM (then undone), read back from the database.
        with transaction.atomic():
            reference = Organisation(**{**given, "slug": "reference"})
            reference.save()
            reference = Organisation.objects.get(pk=reference.pk)
            transaction.set_rollback(True)
        for name in ORGANISATION_FIELDS:
            if name in ("slug", "created_at", "updated_at"):
                continue
            assert getattr(imported, name) == getattr(reference, name), name
        assert imported.slug == given["slug"]
        assert imported.created_at == imported.updated_at
    bare = Organisation.objects.get(slug="bare")
    # Not-null text fields are empty strings, never NULL; unknown numbers stay unknown.
    assert (bare.address, bare.phone, bare.name_language, bare.countries_of_operation) == ("", "", "", [])
    assert (bare.founded, bare.unnamed_countries_of_operation, bare.source_id) == (None, None, None)
    scmvd = Organisation.objects.get(acronym="SČMVD")
    assert scmvd.slug == "scmvd"
    assert [c.code for c in scmvd.countries_of_operation] == ["BE", "DE", "FR"]
    assert scmvd.name == "Société coopérative “Ação”\tTab\\Backslash"
    assert scmvd.city == "Liège\nNord"


def test_the_file_exported_after_the_import_is_the_file_imported(db, importer):
    FederationFactory(slug="cicopa", name="CICOPA")
    rows = [
        {
            "slug": "coop-a",
            "name": "Coopérative A, “quoted”",
            "kind": "cooperative",
            "country": "FR",
            "countries_of_operation": "BE FR",
            "city": "Lyon",
            "federation": "cicopa",
            "category": "associate",
            "joined_on": "2017-05-01",
            "joined_precision": "month",
            "left_on": "2022-12-31",
            "left_precision": "end_year",
            "source_url": "https://example.org/report",
            "source_title": "Report",
        },
        {"slug": "coop-b", "name": "B", "kind": "bank", "country": "ES"},
    ]
    applying.apply_import(planned(*rows), user=importer)
    exported = "".join(csv_io.stream_csv(Organisation.objects.filter(slug__startswith="coop-")))
    again = list(csv.DictReader(io.StringIO(exported)))
    for row, back in zip(rows, again, strict=True):
        assert {k: v for k, v in back.items() if k in row} == row


# Ids, memberships and sources


def test_memberships_point_at_the_ids_of_the_organisations_created_with_them(db, importer):
    stored = FederationFactory(slug="fed")
    plan = planned(
        {
            "slug": "new-fed",
            "name": "New federation",
            "kind": "national",
            "federation": "fed",
            "joined_on": "2016",
        },
        *many(3, federation="new-fed"),
    )
    applying.apply_import(plan, user=importer)

    new_fed = Organisation.objects.get(slug="new-fed")
    assert new_fed.memberships.get().federation == stored
    assert sorted(Membership.objects.filter(federation=new_fed).values_list("member__slug", flat=True)) == [
        "coop-0",
        "coop-1",
        "coop-2",
    ]
    # Ids are distinct and the table's own sequence has moved past them: the next save takes a new one.
    ids = list(Organisation.objects.values_list("pk", flat=True))
    assert len(ids) == len(set(ids))
    after = OrganisationFactory(slug="after")
    assert after.pk > Organisation.objects.exclude(pk=after.pk).aggregate(Max("pk"))["pk__max"]
    membership = MembershipFactory(member=after, federation=new_fed)
    assert membership.pk > max(m.pk for m in Membership.objects.exclude(pk=membership.pk))


def test_memberships_store_every_field_as_the_orms_save_of_the_same_values(db, importer):
    FederationFactory(slug="fed")
    report = SourceFactory(title="Stored report", url="https://example.org/stored")
    plan = planned(
        *many(
            2,
            category="observer",
            joined_on="first half of 2017",
            left_on="end of 2022",
            source_url="https://example.org/stored",
        ),
        {
            "slug": "coop-new-source",
            "name": "N",
            "kind": "cooperative",
            "federation": "fed",
            "joined_on": "2018-03-04",
            "source_url": "https://example.org/new",
            "source_title": "New report",
        },
    )
    news = list(plan.memberships_to_create)
    applying.apply_import(plan, user=importer)

    new_source = Source.objects.get(url="https://example.org/new")
    assert new_source.title == "New report"
    for new in news:
        imported = Membership.objects.get(member__slug=new.member)
        with transaction.atomic():
            values = dict(new.values)
            source = values.pop("source", None)
            values["source_id"] = new_source.pk if isinstance(source, str) else source
            # Another member: the same pair would overlap the imported period.
            reference = Membership(member=OrganisationFactory(), federation=imported.federation, **values)
            reference.save()
            reference = Membership.objects.get(pk=reference.pk)
            transaction.set_rollback(True)
        for name in MEMBERSHIP_FIELDS:
            if name not in ("created_at", "updated_at", "member_id"):
                assert getattr(imported, name) == getattr(reference, name), name
    assert Membership.objects.get(member__slug="coop-0").source == report
    assert Membership.objects.get(member__slug="coop-0").left_on == datetime.date(2023, 1, 1)


# History


def test_each_record_created_has_its_created_history_record_as_the_importing_user(db, importer):
    FederationFactory(slug="fed")
    applying.apply_import(planned(*many(4)), user=importer)

    for organisation in Organisation.objects.filter(slug__startswith="coop-"):
        [record] = organisation.history.all()
        assert (record.history_type, record.history_user, record.history_change_reason) == (
            "+",
            importer,
            None,
        )
        assert record.history_date == organisation.created_at
        # The record holds the organisation as it was written: every tracked field.
        assert all(
            getattr(record, name) == getattr(organisation, name) for name in TRACKED_ORGANISATION_FIELDS
        )
        assert record.instance.slug == organisation.slug
    memberships = Membership.objects.filter(member__slug__startswith="coop-")
    assert memberships.count() == 4
    for membership in memberships:
        [record] = membership.history.all()
        assert (record.history_type, record.history_user) == ("+", importer)
        assert all(getattr(record, name) == getattr(membership, name) for name in [*MEMBERSHIP_FIELDS, "id"])
    # The admin's history page reads them as any other change.
    assert HistoricalOrganisation.objects.filter(history_user=importer).count() == 4


def test_an_import_without_a_user_records_its_history_with_none(db):
    FederationFactory(slug="fed")
    applying.apply_import(planned(*many(1)))
    record = HistoricalOrganisation.objects.get(slug="coop-0")
    assert (record.history_type, record.history_user) == ("+", None)


# All or nothing


def test_a_unique_violation_in_the_last_chunk_of_organisations_leaves_nothing_written(
    db, importer, monkeypatch
):
    FederationFactory(slug="fed")
    monkeypatch.setattr(applying, "CHUNK_SIZE", 2)
    plan = planned(*many(5))
    # Between the check and the writes, someone else takes the fifth slug: the third chunk fails.
    OrganisationFactory(slug="coop-4", name="Someone else's")
    before = counts()

    with pytest.raises(IntegrityError):
        applying.apply_import(plan, user=importer)

    assert counts() == before


def test_a_refused_row_in_the_last_chunk_of_memberships_leaves_nothing_written(db, importer, monkeypatch):
    FederationFactory(slug="fed")
    monkeypatch.setattr(applying, "CHUNK_SIZE", 2)
    plan = planned(*many(5, source_url="https://example.org/new", source_title="New"))
    # A membership the database refuses (ending before it starts), last of all the writes.
    last = plan.memberships_to_create[-1]
    last.values["left_on"] = last.values["joined_on"] - datetime.timedelta(days=1)
    progress = []
    before = counts()

    with pytest.raises(IntegrityError):
        applying.apply_import(plan, user=importer, progress=progress.append)

    # Every organisation and the first memberships had been written, then were undone, history included.
    assert progress == [2, 4, 5, 7, 9]
    assert counts() == before


def test_progress_counts_the_records_written_after_each_chunk(db, importer, monkeypatch):
    FederationFactory(slug="fed")
    monkeypatch.setattr(applying, "CHUNK_SIZE", 3)
    plan = planned(*many(7))
    progress = []
    applying.apply_import(plan, user=importer, progress=progress.append)
    assert progress == [3, 6, 7, 10, 13, 14]
    assert progress[-1] == writes(plan)


# The materialised network is told once, with every membership written


def test_the_network_is_told_once_of_every_membership_created_or_updated(db, importer, monkeypatch):
    calls = []
    keep = reach.memberships_changed

    def told(pairs):
        calls.append(set(pairs))
        keep(pairs)

    fed = FederationFactory(slug="fed")
    stored = OrganisationFactory(slug="coop-0", name="Co-op 0")
    MembershipFactory(member=stored, federation=fed, joined_on=datetime.date(2017, 5, 1))
    monkeypatch.setattr(reach, "memberships_changed", told)  # from here on: the import alone

    applying.apply_import(planned(*many(3, category="associate")), user=importer)

    ids = dict(Organisation.objects.values_list("slug", "pk"))
    # coop-0's membership is updated (its category), the two others created.
    assert calls == [{(fed.pk, ids["coop-0"]), (fed.pk, ids["coop-1"]), (fed.pk, ids["coop-2"])}]


# The cycle check reads the network above the file's federations, and nothing else


def test_a_file_closing_a_cycle_through_two_existing_levels_is_refused_naming_its_row(db):
    top = FederationFactory(slug="top", acronym="TOP")
    middle = FederationFactory(slug="middle", acronym="MID")
    low = FederationFactory(slug="low", acronym="LOW")
    MembershipFactory(member=low, federation=middle)
    MembershipFactory(member=middle, federation=top)
    plan = csv_io.plan_import(
        make_file(
            *many(1, federation="low"),
            {
                "slug": "top",
                "name": top.name,
                "kind": top.kind,
                "federation": "low",
                "joined_on": "2020-01-01",
            },
        )
    )
    [error] = plan.errors
    assert (error.row, error.column, error.message) == (3, "federation", cycle_error("TOP", "LOW"))


def test_a_cycle_closed_by_the_register_after_the_check_is_refused_at_the_write_naming_its_row(db):
    top = FederationFactory(slug="top", acronym="TOP")
    middle = FederationFactory(slug="middle", acronym="MID")
    low = FederationFactory(slug="low", acronym="LOW")
    MembershipFactory(member=low, federation=middle)
    plan = planned(
        *many(1, federation="low"),
        {"slug": "top", "name": top.name, "kind": top.kind, "federation": "low", "joined_on": "2020-01-01"},
    )
    # Meanwhile a member of staff makes the middle level a member of the top one.
    MembershipFactory(member=middle, federation=top)
    before = counts()

    with pytest.raises(StalePlanError) as refused:
        applying.apply_import(plan)

    [error] = refused.value.errors
    assert (error.row, error.column, error.message) == (3, "federation", cycle_error("TOP", "LOW"))
    assert counts() == before


def membership_rows_read(queries):
    """The rows of the membership table that the captured reads returned, each read run again."""
    total = 0
    with connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            reads = re.search(rf'\b(FROM|JOIN)\s+"?{Membership._meta.db_table}"?(\s|$)', sql, re.IGNORECASE)
            if not reads or not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            cursor.execute(sql)
            total += len(cursor.fetchall())
    return total


def test_the_import_reads_the_network_above_its_federations_and_not_an_unrelated_one(db, importer):
    # Above the file's federation: three levels, which the cycle check must read.
    fed, parent, grandparent = (FederationFactory(slug=s) for s in ("fed", "parent", "grandparent"))
    MembershipFactory(member=fed, federation=parent)
    MembershipFactory(member=parent, federation=grandparent)
    # Beside it, a large network with no path to or from the file's federation.
    elsewhere = Organisation.objects.bulk_create(
        Organisation(slug=f"elsewhere-{n}", name=f"Elsewhere {n}", kind="cooperative") for n in range(301)
    )
    Membership.objects.bulk_create(
        Membership(
            member=elsewhere[n], federation=elsewhere[n // 2 + 150], joined_on=datetime.date(2015, 1, 1)
        )
        for n in range(150)
    )
    Membership.objects.bulk_create(
        Membership(member=elsewhere[n], federation=elsewhere[0], joined_on=datetime.date(2015, 1, 1))
        for n in range(150, 301)
    )
    assert Membership.objects.count() == 303

    with CaptureQueriesContext(connection) as planning:
        plan = planned(*many(5))
    # Each pass (the check, then the check again under the lock) reads the two memberships above
    # "fed", and the file's own organisations have none stored: no read returns the other 301.
    assert 2 <= membership_rows_read(planning.captured_queries) <= 4
    with CaptureQueriesContext(connection) as applying_it:
        applying.apply_import(plan, user=importer)
    # The check's two to four rows, then the materialised network (members/reach.py) reading the
    # five memberships written and the two above them, level by level: never the other 301.
    assert 2 <= membership_rows_read(applying_it.captured_queries) < 20


def test_a_row_naming_a_field_the_model_does_not_have_is_refused_before_anything_is_written(db):
    from members.bulk import insert_with_history

    before = counts()
    with pytest.raises(TypeError, match="nmae"):
        row = {"slug": "x", "name": "X", "kind": "bank", "nmae": "X"}
        insert_with_history(Organisation, [row], "default")
    assert counts() == before
