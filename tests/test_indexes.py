"""The directory's queries use the indexes made for them (EXPLAIN, PostgreSQL).

An index that no longer matches what a query asks for is silently never used,
so these tests read the planner's choice: the stored folded names
(members/migrations/0020) serve the directory's order, its search and its deep
pages (members/paging.py) without folding or sorting the whole register.
"""

import json

import pytest
from django.db import connection

from members.filters import DirectoryFilter
from members.models import Organisation
from members.paging import DeepPaginator
from tests.devtools.management.commands.generate_synthetic import generate


def plan_of(queryset, *off):
    """Return the planner's plan (a dict, EXPLAIN's JSON) with the given settings off."""
    with connection.cursor() as cursor:
        for setting in off:
            cursor.execute(f"SET {setting} = off")  # RESET ALL below: not only within a transaction
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
        cursor.execute("RESET ALL")
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def nodes(plan):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


@pytest.mark.postgresql
@pytest.mark.django_db
def test_the_directory_search_uses_the_trigram_indexes_of_the_stored_folded_names():
    generate(40, seed=1)
    # Bitmap scans only, which a trigram index provides.
    for query, index in (
        ("Łódź", "members_org_folded_name_trgm"),
        ("SYN4", "members_org_folded_acronym_trgm"),
    ):
        plan = plan_of(DirectoryFilter({"q": query}).qs, "enable_seqscan", "enable_indexscan")
        assert index in {node.get("Index Name") for node in nodes(plan)}


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("sort", ["name", "-name"])
@pytest.mark.parametrize("number", [3, 9])  # of 12: counted from the start, then from the end
def test_a_deep_directory_page_reads_its_ids_from_the_order_index_alone_and_sorts_only_its_rows(sort, number):
    generate(240, seed=1)  # ends with VACUUM ANALYZE, as autovacuum would: the visibility map
    queryset = DirectoryFilter({"sort": sort}, queryset=Organisation.objects.all()).qs
    paginator = DeepPaginator(queryset, 20)
    assert paginator.num_pages == 12
    # With a sequential scan allowed, a table this small is read whole: forbid it.
    plan = plan_of(paginator.page(number).object_list, "enable_seqscan")
    scans = [node for node in nodes(plan) if node.get("Relation Name") == "members_organisation"]
    assert {(node["Node Type"], node.get("Index Name")) for node in scans} == {
        ("Index Only Scan", "members_org_folded_order_idx"),  # the page's ids
        ("Index Scan", "members_organisation_pkey"),  # the page's rows, by id
    }
    # The one sort orders the page's own rows, after the join; nothing sorts the register.
    sorts = [node for node in nodes(plan) if node["Node Type"] == "Sort"]
    assert all(node["Plan Rows"] <= 20 for node in sorts if "members_organisation" in str(node["Sort Key"]))


@pytest.mark.postgresql
@pytest.mark.django_db
def test_translate_is_back_to_its_default_cost_for_the_whole_database():
    # 0009 raised it to 1,000 so that the planner used indexes on the folded expression;
    # the stored columns made that pointless, and 0020 undid it.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT procost FROM pg_proc WHERE oid = 'pg_catalog.translate(text, text, text)'::regprocedure"
        )
        assert cursor.fetchone()[0] == 1
