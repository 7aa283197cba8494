"""The directory's queries can use the indexes made for them (EXPLAIN, PostgreSQL).

The first migration (0001_squashed_0011, from 0007 to 0011 as they were)
indexes the exact expressions the directory's filter emits; an index that no
longer matches its expression is silently never used, so these tests read the
planner's choice.
"""

import pytest
from django.db import connection

from members.filters import DirectoryFilter
from tests.devtools.management.commands.generate_synthetic import generate


@pytest.mark.postgresql
@pytest.mark.django_db
def test_the_directory_sort_and_search_can_use_their_indexes():
    # Tiny tables favour a sequential scan; forbidding it shows whether an index
    # matches the exact expression the filter emits.
    generate(40, seed=1)
    # The search is allowed bitmap scans only, which a trigram index provides.
    queries = {
        "members_org_name_folded_idx": (DirectoryFilter({}).qs[:25], []),
        "members_org_name_folded_trgm": (DirectoryFilter({"q": "Łódź"}).qs, ["enable_indexscan"]),
        "members_org_acronym_folded_trgm": (DirectoryFilter({"q": "SYN4"}).qs, ["enable_indexscan"]),
    }
    with connection.cursor() as cursor:
        for index, (queryset, also_off) in queries.items():
            for setting in ["enable_seqscan", *also_off]:
                cursor.execute(f"SET LOCAL {setting} = off")
            sql, params = queryset.query.sql_with_params()
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("RESET ALL")
            assert index in plan
