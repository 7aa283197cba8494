"""Numbered pages whose cost does not grow with their depth.

Django's Paginator cuts a page with OFFSET over the whole query, and the
database builds every row before the page only to skip it: each directory row
carries a subquery (the year it joined), so page 1,000 of the directory cost
ten times page 1. `DeepPaginator` cuts a page of a model's QuerySet in two
steps within one query (a "deferred join"): the ids of the page, in the list's
order, from the narrowest form of the query (for the directory's order by name,
an index-only scan of `members_org_folded_order_idx`), then the rows of those
ids alone, with everything the page shows. A page in the second half of the
list is counted from the end, in the reverse order, so the last page costs what
the first does and the middle one the most.

The list's order must be total (end it with the primary key): reversed, it
must give the same rows backwards.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet


class DeepPaginator(Paginator):
    """A Paginator whose every page costs about what the first costs (see the module's docstring)."""

    def page(self, number: Any) -> Page[Any]:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return Page(self._rows(bottom, top), number, self)

    def _rows(self, bottom: int, top: int) -> Any:
        rows = self.object_list
        if not isinstance(rows, QuerySet):
            return rows[bottom:top]
        instances = rows._fields is None and not rows.query.combinator  # type: ignore[attr-defined]
        # Model instances: the ids first, then the rows of the page alone.
        window = rows.prefetch_related(None).values("pk") if instances else rows
        from_end = bottom + top > self.count  # past the middle: fewer rows to skip backwards
        span = slice(self.count - top, self.count - bottom) if from_end else slice(bottom, top)
        window = (window.reverse() if from_end else window)[span]
        if instances:
            return rows.filter(pk__in=window)
        # Plain values (the news page's UNION of ids): only fewer rows skipped.
        listed = list(window)
        return listed[::-1] if from_end else listed
