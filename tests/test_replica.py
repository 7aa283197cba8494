"""With a read replica, a public page reads everything from it: no page mixes two databases."""

import pytest
from django.core.management import call_command
from django.db import connections
from django.test.utils import CaptureQueriesContext

from members.cache import register_changed

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
    "/data/register.json",
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
