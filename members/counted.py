"""The counted figures kept materialised: what each organisation adds to each federation's totals.

A federation's enterprises and employment on a day add up, over its network,
each organisation's latest declaration on or before the day, except where a
federation of the network already includes the organisation in that figure of
its own declaration (members/stats.py's COUNTING_RULE; members/network.py's
figures_sql() is the recursive reference). This module keeps that answer for
every day at once in CountedFigures: for each root and each organisation of its
network that declared enterprises or employment, the maximal periods during
which what it adds stays the same. A root's totals on a day are then one SUM
over the rows current on the day, read through an index, whatever the size of
the network.

An organisation x adds to root R's totals during a period when
- R reaches x (members/reach.py's NetworkReach, any depth);
- x's latest declaration then gives the figure;
- and x is not covered in that figure: for no federation F of R's network
  (F ≠ R), reached by R then, is there a membership F → m, current then and
  joined on or before F's latest declaration, which declares the figure with
  its members' included, with x = m or x below m then.

Who is covered by F (F's own declarations and memberships, and the network
below its members) does not depend on the root: it is computed once per
federation and intersected with each root's periods of reaching F.

`recompute(roots, organisations)` deletes and writes again the rows of these
roots to these organisations, in the caller's transaction. A change of a
membership F → m can only change rows from F and the federations above it to m
and the organisations below it (members/reach.py calls this after its own
rows); a change of x's declarations, rows from the federations above x to x
and the organisations below it (`declarations_changed()`).
"""

from __future__ import annotations

import bisect
import datetime
import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from members.bulk import insert_rows
from members.models import CountedFigures, DeclaredFigures, Membership, NetworkReach
from members.network import upward_edges
from members.reach import OPEN_END, below, ids_sql

Period = tuple[datetime.date, datetime.date]  # [start, end); OPEN_END: still open
Row = tuple[int, int, datetime.date, datetime.date | None, int | None, int | None]

COLUMNS = ("root", "organisation", "start_on", "end_on", "enterprises", "employment")

# Roots computed together, and federations whose coverage is read together: bounds the memory.
BATCH = 500


def merged(periods: Iterable[Period]) -> list[Period]:
    """Return the periods as disjoint maximal ones, in order ([a, b) and [b, c) make [a, c))."""
    periods = list(periods)
    if len(periods) < 2:  # most pairs: one period, open (a rebuild merges millions)
        return periods
    result: list[Period] = []
    for start, end in sorted(periods):
        if result and start <= result[-1][1]:
            if end > result[-1][1]:
                result[-1] = (result[-1][0], end)
        else:
            result.append((start, end))
    return result


def intersection(first: Sequence[Period], second: Sequence[Period]) -> list[Period]:
    """Return the overlap of two lists of disjoint periods in order, itself disjoint and in order."""
    if len(first) == 1 and len(second) == 1:  # the common case, without the loop
        start, end = max(first[0][0], second[0][0]), min(first[0][1], second[0][1])
        return [(start, end)] if start < end else []
    result: list[Period] = []
    i = j = 0
    while i < len(first) and j < len(second):
        start = max(first[i][0], second[j][0])
        end = min(first[i][1], second[j][1])
        if start < end:
            result.append((start, end))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return result


def _within(periods: Sequence[Period], starts: Sequence[datetime.date], day: datetime.date) -> bool:
    """Whether the day falls in one of the disjoint periods in order (`starts`: their starts)."""
    index = bisect.bisect_right(starts, day) - 1
    return index >= 0 and day < periods[index][1]


@dataclass(frozen=True)
class Declared:
    """An organisation's latest declaration during [start, end): until its next one."""

    start: datetime.date
    end: datetime.date
    enterprises: int | None
    employment: int | None
    includes_members: bool


def _date(value: Any) -> datetime.date:
    # SQLite hands dates back as text in raw queries.
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))


class _Reader:
    """The queries of one computation, on one connection, each over sets of ids of any size."""

    def __init__(self, cursor: CursorWrapper, connection: BaseDatabaseWrapper) -> None:
        self.cursor, self.connection = cursor, connection
        # The organisations a computation looks at (None: all): set by declarations().
        self.scope: set[int] | None = None

    def declarations(self, organisations: set[int] | None) -> dict[int, list[Declared]]:
        """Each organisation's declarations as periods: of these organisations and of every
        organisation ever above them (a federation that may cover them), or of all (None)."""
        table = DeclaredFigures._meta.db_table
        columns = "organisation_id, declared_on, enterprises, employment, includes_members"
        order = "ORDER BY organisation_id, declared_on"
        if organisations is None:
            self.cursor.execute(f"SELECT {columns} FROM {table} {order}")  # noqa: S608
        else:
            above = {federation for _member, federation in upward_edges(organisations)}
            self.scope = organisations | above
            sql, value = ids_sql(self.scope, self.connection)
            self.cursor.execute(
                f"SELECT {columns} FROM {table} WHERE organisation_id IN ({sql}) {order}",  # noqa: S608
                [value],
            )
        found: dict[int, list[Declared]] = defaultdict(list)
        rows = [(o, _date(d), e, p, bool(i)) for o, d, e, p, i in self.cursor.fetchall()]
        for index, (organisation, declared_on, enterprises, employment, includes) in enumerate(rows):
            following = rows[index + 1] if index + 1 < len(rows) else None
            end = following[1] if following and following[0] == organisation else OPEN_END
            found[organisation].append(Declared(declared_on, end, enterprises, employment, includes))
        return found

    def reached(
        self, roots: Iterable[int], organisations: Iterable[int]
    ) -> dict[tuple[int, int], list[Period]]:
        """{(root, organisation): the periods the root reaches it, at any depth}, for these ids."""
        table = NetworkReach._meta.db_table
        roots_sql, roots_value = ids_sql(roots, self.connection)
        organisations_sql, organisations_value = ids_sql(organisations, self.connection)
        if self.connection.vendor == "postgresql":
            # = ANY(array): the planner knows both sets' sizes, and looks a few organisations up
            # in the primary key rather than reading every row of a large root.
            condition = "root_id = ANY(%s::bigint[]) AND organisation_id = ANY(%s::bigint[])"
        else:
            condition = f"root_id IN ({roots_sql}) AND organisation_id IN ({organisations_sql})"
        self.cursor.execute(
            f"SELECT root_id, organisation_id, start_on, end_on FROM {table} WHERE {condition}",  # noqa: S608
            [roots_value, organisations_value],
        )
        pieces: dict[tuple[int, int], list[Period]] = defaultdict(list)
        for root, organisation, start, end in self.cursor.fetchall():
            pieces[(root, organisation)].append((_date(start), _date(end) if end else OPEN_END))
        return {key: merged(periods) for key, periods in pieces.items()}

    def memberships_of(
        self, federations: Iterable[int]
    ) -> list[tuple[int, int, datetime.date, datetime.date]]:
        """(federation, member, joined_on, left_on or OPEN_END) of the memberships of these federations
        whose member is in the computation's scope: the only ones on a path to what it computes."""
        sql, value = ids_sql(federations, self.connection)
        only, params = "", [value]
        if self.scope is not None:
            scope_sql, scope_value = ids_sql(self.scope, self.connection)
            only, params = f"AND member_id IN ({scope_sql})", [value, scope_value]
        self.cursor.execute(
            f"SELECT federation_id, member_id, joined_on, left_on FROM {Membership._meta.db_table} "  # noqa: S608
            f"WHERE federation_id IN ({sql}) AND member_id <> federation_id {only}",
            params,
        )
        return [
            (f, m, _date(j), _date(left) if left else OPEN_END) for f, m, j, left in self.cursor.fetchall()
        ]


# What a federation covers, by figure: {organisation: periods}.
Coverage = tuple[dict[int, list[Period]], dict[int, list[Period]]]


def _covering(declared: list[Declared]) -> tuple[list[Period], list[Period]]:
    """The periods of a federation's latest declarations that include its members, by figure."""
    figures: tuple[list[Period], list[Period]] = ([], [])
    for d in declared:
        if d.includes_members:
            if d.enterprises is not None:
                figures[0].append((d.start, d.end))
            if d.employment is not None:
                figures[1].append((d.start, d.end))
    return figures


def _coverage(
    reader: _Reader,
    federations: list[int],
    covering: dict[int, tuple[list[Period], list[Period]]],
    targets: set[int],
) -> dict[int, Coverage]:
    """{federation: who of the targets its own declarations cover, when}, in two queries per batch."""
    result: dict[int, Coverage] = {}
    for start in range(0, len(federations), BATCH):
        batch = federations[start : start + BATCH]
        # A membership F → m covers m during each of F's covering periods [d, next) that it
        # joined on or before d, for as long as it lasts.
        by_member: dict[tuple[int, int], tuple[list[Period], list[Period]]] = defaultdict(lambda: ([], []))
        for federation, member, joined, left in reader.memberships_of(batch):
            for figure in (0, 1):
                for declared, following in covering[federation][figure]:
                    if joined <= declared < left:
                        by_member[(federation, member)][figure].append((declared, min(following, left)))
        members = {member for _federation, member in by_member}
        below_members: dict[int, list[tuple[int, list[Period]]]] = defaultdict(list)
        if members and targets:
            for (member, organisation), periods in reader.reached(members, targets).items():
                below_members[member].append((organisation, periods))
        for federation in batch:
            result[federation] = ({}, {})
        pieces: dict[tuple[int, int, int], list[Period]] = defaultdict(list)
        for (federation, member), figures in by_member.items():
            for figure in (0, 1):
                periods = merged(figures[figure])
                if not periods:
                    continue
                if member in targets:
                    pieces[(federation, figure, member)].extend(periods)
                for organisation, reached in below_members.get(member, ()):
                    pieces[(federation, figure, organisation)].extend(intersection(periods, reached))
        for (federation, figure, organisation), periods in pieces.items():
            if periods:
                result[federation][figure][organisation] = merged(periods)
    return result


def _pieces(
    root: int,
    organisation: int,
    reached: list[Period],
    declared: list[Declared],
    covered: tuple[list[Period], list[Period]],
) -> Iterator[Row]:
    """The rows of what the organisation adds to the root's totals: maximal periods of the same values."""
    points = {day for period in reached for day in period}
    points.update(d.start for d in declared)
    for figure in covered:
        points.update(day for period in figure for day in period)
    days = sorted(points)
    reached_starts = [start for start, _end in reached]
    declared_starts = [d.start for d in declared]
    covered_starts = [[start for start, _end in figure] for figure in covered]
    current: list[Any] | None = None
    for day, following in itertools.pairwise(days):
        values: tuple[int | None, int | None] = (None, None)
        if _within(reached, reached_starts, day):
            index = bisect.bisect_right(declared_starts, day) - 1
            if index >= 0:
                latest = declared[index]
                values = (
                    None if _within(covered[0], covered_starts[0], day) else latest.enterprises,
                    None if _within(covered[1], covered_starts[1], day) else latest.employment,
                )
        if current is not None and current[3] == day and (current[4], current[5]) == values:
            current[3] = following
            continue
        if current is not None:
            yield _row(current)
            current = None
        if values != (None, None):
            current = [root, organisation, day, following, *values]
    if current is not None:
        yield _row(current)


def _row(piece: list[Any]) -> Row:
    root, organisation, start, end, enterprises, employment = piece
    return (root, organisation, start, None if end == OPEN_END else end, enterprises, employment)


def compute(
    cursor: CursorWrapper,
    connection: BaseDatabaseWrapper,
    roots: list[int] | None,
    organisations: set[int] | None,
) -> Iterator[Row]:
    """Yield the rows from these roots (None: all with members) to these organisations (None: all)."""
    reader = _Reader(cursor, connection)
    declarations = reader.declarations(organisations)
    declaring = {
        organisation
        for organisation, declared in declarations.items()
        if any(d.enterprises is not None or d.employment is not None for d in declared)
    }
    targets = declaring if organisations is None else declaring & organisations
    covering = {}
    for federation, declared in declarations.items():
        figures = _covering(declared)
        if figures[0] or figures[1]:
            covering[federation] = figures
    if roots is None:
        cursor.execute(f"SELECT DISTINCT federation_id FROM {Membership._meta.db_table}")  # noqa: S608
        roots = sorted(row[0] for row in cursor.fetchall())
    if not targets or not roots:
        return
    coverage: dict[int, Coverage] = {}
    for start in range(0, len(roots), BATCH):
        batch = roots[start : start + BATCH]
        reached = reader.reached(batch, targets)
        if not reached:
            continue
        reached_covering = reader.reached(batch, covering) if covering else {}
        needed = sorted({federation for _root, federation in reached_covering} - coverage.keys())
        coverage.update(_coverage(reader, needed, covering, targets))
        covered: dict[tuple[int, int], tuple[list[Period], list[Period]]] = defaultdict(lambda: ([], []))
        for (root, federation), periods in reached_covering.items():
            for figure in (0, 1):
                for organisation, below_periods in coverage[federation][figure].items():
                    if (root, organisation) in reached:
                        covered[(root, organisation)][figure].extend(intersection(periods, below_periods))
        for (root, organisation), periods in sorted(reached.items()):
            figures = covered.get((root, organisation), ([], []))
            yield from _pieces(
                root,
                organisation,
                periods,
                declarations[organisation],
                (merged(figures[0]), merged(figures[1])),
            )


def _connection() -> BaseDatabaseWrapper:
    return connections[router.db_for_write(CountedFigures)]


def recompute(
    roots: Iterable[int] | None, organisations: Iterable[int] | None = None, using: str | None = None
) -> None:
    """Delete and compute again the rows from these roots (None: all) to these organisations (None: all)."""
    connection = connections[using] if using else _connection()
    table = CountedFigures._meta.db_table
    root_ids = None if roots is None else sorted({int(pk) for pk in roots})
    organisation_ids = None if organisations is None else {int(pk) for pk in organisations}
    if root_ids == [] or organisation_ids == set():
        return
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        conditions, params = [], []
        for column, ids in (("root_id", root_ids), ("organisation_id", organisation_ids)):
            if ids is not None:
                sql, value = ids_sql(ids, connection)
                conditions.append(f"{column} IN ({sql})")
                params.append(value)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        cursor.execute(f"DELETE FROM {table}{where}", params)  # noqa: S608
        rows = compute(cursor, connection, root_ids, organisation_ids)
        while chunk := [row for _, row in zip(range(50_000), rows, strict=False)]:
            insert_rows(CountedFigures, COLUMNS, chunk, connection.alias)


def rebuild(using: str | None = None) -> None:
    """Compute every row again from the network (members/reach.py) and the declarations."""
    recompute(None, None, using=using)


def declarations_changed(organisations: Iterable[int]) -> None:
    """Bring the rows up to date after these organisations' declarations were added, changed or deleted.

    Call it after the write, in its transaction, under the network's lock.
    Only the rows from the federations above them to them and the
    organisations below them can change.
    """
    changed = {int(pk) for pk in organisations if pk is not None}
    if not changed:
        return
    roots = {federation for _member, federation in upward_edges(changed)}
    if not roots:
        return
    connection = _connection()
    with connection.cursor() as cursor:
        organisations_below = below(changed, connection, cursor)
    recompute(roots, organisations_below)


@dataclass(frozen=True)
class Difference:
    """A row the table lacks (`missing`) or holds without reason (`extra`)."""

    kind: str
    row: Row

    def __str__(self) -> str:
        root, organisation, start, end, enterprises, employment = self.row
        return (
            f"{self.kind}: {organisation} adds to {root} from {start} until {end or 'open'}: "
            f"enterprises {enterprises}, employment {employment}"
        )


def differences(limit: int | None = None) -> list[Difference]:
    """Return how the table differs from a fresh computation (empty: exact); nothing is written."""
    connection = _connection()
    table = CountedFigures._meta.db_table
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        fresh = set(compute(cursor, connection, None, None))
        cursor.execute(
            f"SELECT root_id, organisation_id, start_on, end_on, enterprises, employment FROM {table}"  # noqa: S608
        )
        stored = {
            (r, o, _date(s), _date(e) if e else None, ne, np) for r, o, s, e, ne, np in cursor.fetchall()
        }
    found = [Difference("missing", row) for row in sorted(fresh - stored, key=_order)]
    found += [Difference("extra", row) for row in sorted(stored - fresh, key=_order)]
    return found if limit is None else found[:limit]


def _order(row: Row) -> tuple[Any, ...]:
    return row[0], row[1], row[2]
