"""With a read replica, a public page reads everything from it: no page mixes two databases."""

import pytest
from django.core.management import call_command
from django.db import connections
from django.test.utils import CaptureQueriesContext

from members.cache import register_changed


@pytest.fixture(autouse=True)
def replica_connection_closed():
    # The replica is a second connection to the test database: close it, or the
    # database cannot be dropped when the suite ends.
    yield
    connections["replica"].close()


PUBLIC_PAGES = [
    "/en/",
    "/en/organisations/",
    "/en/organisations/?federation=cicopa&status=former",
    "/en/organisations/cicopa/",
    "/en/federations/cicopa/",
    "/en/federations/cicopa/?as_of=2017-06-21",
    "/en/statistics/",
    "/en/statistics/?federation=cecop",
    "/en/feeds/events.atom",
    "/en/federations/cicopa/events.rss",
    "/en/organisations.csv?federation=cicopa",
    "/data/register.json?federation=cicopa",
]


# Committed (the replica is a second connection), with the migrations' regions restored after each.
@pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=["default", "replica"])
@pytest.mark.parametrize("address", PUBLIC_PAGES)
def test_a_public_page_reads_all_its_queries_from_the_replica(client, settings, address):
    call_command("load_seed", verbosity=0)
    settings.DATABASE_ROUTERS = ["registry.routers.ReplicaRouter"]
    register_changed()  # nothing from the cache: every figure is computed for this request
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        response = client.get(address)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200
    assert [query["sql"] for query in primary.captured_queries] == []
    assert len(replica.captured_queries) > 0


# The whole register is a file built once per version and served to every reader until the
# register next changes (members/exportfiles.py): a replica that has not caught up must not be it.
@pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=["default", "replica"])
@pytest.mark.parametrize("address", ["/data/register.json", "/en/organisations.csv"])
def test_the_whole_register_file_is_built_from_the_primary_alone(client, settings, address):
    call_command("load_seed", verbosity=0)
    settings.DATABASE_ROUTERS = ["registry.routers.ReplicaRouter"]
    register_changed()
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        response = client.get(address)
        b"".join(response.streaming_content)
    assert response.status_code == 200
    assert len(primary.captured_queries) > 0
    assert [query["sql"] for query in replica.captured_queries] == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=["default", "replica"])
def test_a_page_read_from_the_replica_just_after_a_change_is_not_stored(client, settings):
    from django.core.cache import caches

    call_command("load_seed", verbosity=0)
    settings.DATABASE_ROUTERS = ["registry.routers.ReplicaRouter"]
    caches["pages"].clear()
    register_changed()
    assert client.get("/en/statistics/").status_code == 200
    # The replica may not have caught up with the change yet: the next reader gets a fresh page.
    with CaptureQueriesContext(connections["replica"]) as replica:
        client.get("/en/statistics/")
    assert len(replica.captured_queries) > 0
    settings.DATABASE_ROUTERS = []
    client.get("/en/statistics/")
    with CaptureQueriesContext(connections["default"]) as primary:
        client.get("/en/statistics/")
    assert primary.captured_queries == []  # read from the primary, the page is kept
