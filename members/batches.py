"""Long lists of values sent to the database in pieces that one query can take.

SQLite caps the parameters of one query (999 before 3.32, Django's
`features.max_query_params`); PostgreSQL takes large lists, but a bounded
query keeps planning cheap and round trips few.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from django.db import connections

# Values per query, at most, where the database sets no lower limit.
LARGEST_BATCH = 10_000

T = TypeVar("T")


def batched(
    items: Iterable[T], database: str, *, per_item: int = 1, reserved: int = 0, largest: int = LARGEST_BATCH
) -> Iterator[list[T]]:
    """Yield the items in lists that one query of the database takes.

    Each item takes `per_item` parameters, and the query `reserved` more
    besides them (values that every piece repeats). `largest` bounds the
    items of one list where the database sets no lower limit: larger for a
    query whose cost is mostly a scan that each piece would repeat.
    """
    limit = connections[database].features.max_query_params
    size = largest if limit is None else max(1, min(largest, (limit - 1 - reserved) // per_item))
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]
