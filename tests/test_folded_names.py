"""The stored folded name and acronym: members/rules.py's `fold`, kept by the database on every write.

The directory searches and sorts on `Organisation.name_folded` and
`acronym_folded` (generated columns, members/migrations/0020); each write path
is checked to leave them equal to `fold` of what it wrote, on both databases.
"""

import pytest
from django.urls import reverse

from members.csv_io import apply_import, plan_import, stream_csv
from members.filters import DirectoryFilter
from members.models import Organisation
from members.paging import DeepPaginator
from members.rules import fold
from tests.devtools.management.commands.generate_synthetic import generate
from tests.factories import OrganisationFactory
from tests.test_admin_permissions import post_data_from

NAMES = [
    "Crédit Coopératif",
    "ÉLAN",
    "élan vital",
    "Elan Nord",
    "ŁÓDŹ Spółdzielnia",
    "Ñandú",
    "ÆØÅ Andelslag",
    "Straße Genossenschaft",
    "CÔTE D'IVOIRE Coop",
    "credit mutuel",
    "Zeta",
    "alpha",
    "Alpha",
    "Ångström",
]


def make(name, **fields):
    # Slugs of their own: "alpha" and "Alpha" would make the same one.
    return OrganisationFactory(name=name, slug=f"org-{Organisation.objects.count()}", **fields)


def stored(organisation):
    return Organisation.objects.values_list("name_folded", "acronym_folded").get(pk=organisation.pk)


def test_a_saved_organisation_stores_its_name_and_acronym_folded(db):
    for name in NAMES:
        organisation = make(name, acronym=name.split()[0].upper())
        assert stored(organisation) == (fold(name), fold(name.split()[0].upper()))


def test_a_rename_refolds_the_stored_name_in_the_database_and_on_the_instance(db):
    organisation = OrganisationFactory(name="Crédit Coopératif", acronym="")
    assert organisation.name_folded == "credit cooperatif"

    organisation.name, organisation.acronym = "ÉLAN Coopérative", "ÉLAN"
    organisation.save()

    assert stored(organisation) == ("elan cooperative", "elan")
    assert (organisation.name_folded, organisation.acronym_folded) == ("elan cooperative", "elan")


def test_an_update_of_the_name_in_bulk_refolds_it(db):
    organisation = OrganisationFactory(name="Before")
    Organisation.objects.filter(pk=organisation.pk).update(name="Après Ÿ")
    assert stored(organisation)[0] == fold("Après Ÿ")


def test_bulk_create_stores_the_folded_names(db):
    Organisation.objects.bulk_create(
        [
            Organisation(name=name, slug=f"bulk-{number}", kind="cooperative")
            for number, name in enumerate(NAMES)
        ]
    )
    rows = Organisation.objects.filter(slug__startswith="bulk-").values_list("name", "name_folded")
    assert sorted(rows) == sorted((name, fold(name)) for name in NAMES)


def test_the_synthetic_register_written_through_copy_or_bulk_stores_the_folded_names(db):
    generate(30, seed=3)  # COPY on PostgreSQL, bulk_create on SQLite
    rows = list(Organisation.objects.values_list("name", "acronym", "name_folded", "acronym_folded"))
    assert len(rows) >= 30
    assert all(
        (folded, acronym_folded) == (fold(name), fold(acronym))
        for name, acronym, folded, acronym_folded in rows
    )


def test_an_import_stores_the_folded_names_of_what_it_writes(db, staff_member):
    organisation = OrganisationFactory(name="Cooperative Bruxelles", city="Bruxelles")
    exported = "".join(stream_csv(Organisation.objects.filter(pk=organisation.pk)))
    plan = plan_import(exported.replace("Cooperative Bruxelles", "Coopérative ÉLAN Bruxelles").encode())
    assert not plan.errors

    apply_import(plan, user=staff_member("administrator"))

    assert stored(organisation)[0] == "cooperative elan bruxelles"


def test_an_edit_in_the_admin_stores_the_new_folded_name(client, staff_member):
    organisation = OrganisationFactory(name="Old name", acronym="OLD")
    client.force_login(staff_member("administrator"))
    url = reverse("admin:members_organisation_change", args=[organisation.pk])
    data = post_data_from(client.get(url))
    data["name"], data["acronym"] = "Société ÉLAN", "SÉ"

    response = client.post(url, data)

    assert response.status_code == 302, response.content[:2000]
    assert stored(organisation) == ("societe elan", "se")


def directory_names(**data):
    return [
        organisation.name for organisation in DirectoryFilter(data, queryset=Organisation.objects.all()).qs
    ]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("credit", {"Crédit Coopératif", "credit mutuel"}),
        ("CRÉDIT coop", {"Crédit Coopératif"}),
        ("elan", {"ÉLAN", "élan vital", "Elan Nord"}),
        ("ÉLAN", {"ÉLAN", "élan vital", "Elan Nord"}),
        ("łodz", {"ŁÓDŹ Spółdzielnia"}),  # Ł has no accent to drop: it folds to ł, as in fold()
        ("SPÓŁDZ", {"ŁÓDŹ Spółdzielnia"}),
        ("NANDU", {"Ñandú"}),
        ("æøå", {"ÆØÅ Andelslag"}),
        ("straße", {"Straße Genossenschaft"}),
    ],
)
def test_search_finds_names_whatever_their_accents_and_case(db, query, found):
    for name in NAMES:
        make(name)
    assert set(directory_names(q=query)) == found


def test_search_finds_an_acronym_whatever_its_accents_and_case(db):
    OrganisationFactory(name="Société Mutuelle pour artistes", acronym="SMart")
    OrganisationFactory(name="Ligue ÉCO", acronym="LÉC")
    assert directory_names(q="smart") == ["Société Mutuelle pour artistes"]
    assert directory_names(q="lec") == ["Ligue ÉCO"]


def test_the_directory_sorts_by_the_folded_name_then_by_id_on_every_page(db):
    organisations = [make(name) for name in NAMES + NAMES[:3]]  # ties broken by id
    expected = [o.name for o in sorted(organisations, key=lambda o: (fold(o.name), o.pk))]
    for sort, order in (("name", expected), ("-name", expected[::-1])):
        queryset = DirectoryFilter({"sort": sort}, queryset=Organisation.objects.all()).qs
        paginator = DeepPaginator(queryset, 4)
        pages = [o.name for number in paginator.page_range for o in paginator.page(number).object_list]
        assert pages == order


def test_reverting_a_rename_from_the_history_refolds_the_name(db):
    organisation = make("Crédit Coopératif")
    organisation.name = "Renamed"
    organisation.save()

    organisation.history.earliest("history_date").instance.save()

    assert stored(organisation)[0] == "credit cooperatif"
