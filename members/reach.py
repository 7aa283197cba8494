"""The network kept materialised: who reaches whom, at which path length, over which periods.

members/network.py walks the memberships recursively for each question; this
module keeps the answer in NetworkReach instead, so that a federation's
network on any day is one indexed range read. For each organisation with
members (the root) and each organisation it reaches through memberships of any
category, NetworkReach holds the maximal periods [start_on, end_on) during which
some path of exactly `depth` memberships joins them. A path is current during
the overlap of its memberships' periods (members/rules.py's overlap_sql); the
periods of paths of the same length are merged into disjoint maximal ones, so
the table is a function of the memberships alone and can be verified against
a fresh computation (`differences()`, the `network_reach --verify` command).

Everything is computed level by level in SQL, on PostgreSQL and SQLite alike:
level 1 is the memberships themselves; level d + 1 joins the rows of level d
to the memberships of the organisation they reach, keeps the overlaps and
merges them (gaps and islands, with window functions). A level holds at most
one row per period, whatever the number of paths, so the work grows with the
rows kept, not with the paths.

`memberships_changed(pairs)` keeps the table exact after a write, in the
writer's transaction. A membership federation → member lies on the paths from
the federation and everything above it (at any time) to the member and
everything below it; no other row can change. Those rows are deleted and
computed again, level by level, from the rows of the other organisations'
paths, which the change did not touch. Every write path calls it: the model's
save() and delete(), the queryset's update() and delete() (and so
bulk_update()), the import, and the synthetic register's loader (`rebuild()`).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from members.models import Membership, NetworkReach, Organisation
from members.network import SQL, latest_and_covering, reading_connection, upward_edges
from members.rules import current_sql, overlap_sql

Pair = tuple[int, int]  # (federation id, member id)

# An open end during the computation, so that merging can order and compare ends;
# stored as NULL (still reached).
OPEN_END = datetime.date(9999, 12, 31)

# Above this many organisations below a change, the roots' rows are computed again whole.
WHOLE_NETWORKS = 20_000

# Networks this deep are rare enough to count the organisations, the bound of any path.
DEEP = 16

COLUMNS = "root_id, organisation_id, depth, start_on, end_on"


def _connection() -> BaseDatabaseWrapper:
    return connections[router.db_for_write(NetworkReach)]


def ids_sql(ids: Iterable[int], connection: BaseDatabaseWrapper) -> tuple[str, Any]:
    """Return (SQL, parameter): a set of ids as one parameter, whatever their number."""
    values = sorted({int(pk) for pk in ids})
    if connection.vendor == "postgresql":
        return "SELECT unnest(%s::bigint[])", values
    return "SELECT value FROM json_each(%s)", json.dumps(values)


def _merged(pieces: str, table: str) -> str:
    """Return an INSERT of the pieces (root_id, organisation_id, depth, start_on, end_on) as maximal periods.

    The pieces' ends are never NULL (OPEN_END stands for open); the first
    placeholder of the result takes OPEN_END, then come the pieces' own.
    A piece starts a new island unless an earlier one (by start) ends on or
    after its start: [a, b) and [b, c) are one period [a, c).
    """
    window = "PARTITION BY root_id, organisation_id, depth ORDER BY start_on, end_on"
    return f"""
        INSERT INTO {table} ({COLUMNS})
        SELECT root_id, organisation_id, depth, MIN(start_on), NULLIF(MAX(end_on), %s)
        FROM (
            SELECT root_id, organisation_id, depth, start_on, end_on,
                SUM(starts_island) OVER ({window} ROWS UNBOUNDED PRECEDING) AS island
            FROM (
                SELECT root_id, organisation_id, depth, start_on, end_on,
                    CASE WHEN MAX(end_on) OVER ({window} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                        >= start_on THEN 0 ELSE 1 END AS starts_island
                FROM ({pieces}) pieces
            ) flagged
        ) islands
        GROUP BY root_id, organisation_id, depth, island
    """  # noqa: S608


def _extremes(connection: BaseDatabaseWrapper) -> tuple[str, str]:
    return ("GREATEST", "LEAST") if connection.vendor == "postgresql" else ("MAX", "MIN")


def _levels(
    cursor: CursorWrapper,
    connection: BaseDatabaseWrapper,
    table: str,
    roots: list[int] | None,
    organisations: list[int] | None,
) -> None:
    """Write the rows from `roots` (None: every organisation) to `organisations` (None: all), level by level.

    The rows of other (root, organisation) pairs already in the table are read
    as they are: for maintenance, they are those the change did not touch. With
    `organisations` None the roots' rows must have been deleted first.
    """
    memberships = Membership._meta.db_table
    open_end = connection.ops.adapt_datefield_value(OPEN_END)
    greatest, least = _extremes(connection)
    root_filter, root_params = ("", [])
    member_filter, member_params = ("", [])
    if roots is not None:
        sql, value = ids_sql(roots, connection)
        root_filter, root_params = f"AND {{root}} IN ({sql})", [value]
    if organisations is not None:
        sql, value = ids_sql(organisations, connection)
        member_filter, member_params = f"AND m.member_id IN ({sql})", [value]
    first = f"""
        SELECT m.federation_id AS root_id, m.member_id AS organisation_id, 1 AS depth,
            m.joined_on AS start_on, COALESCE(m.left_on, %s) AS end_on
        FROM {memberships} m
        WHERE m.member_id <> m.federation_id {root_filter.format(root="m.federation_id")} {member_filter}
    """  # noqa: S608
    # On PostgreSQL the rows above a membership are looked up for each membership, kept
    # apart from the outer query (LATERAL ... OFFSET 0), in the primary key (organisation,
    # root, depth, ...): left to itself the planner reads every row of the roots, which are
    # the largest networks, for each level.
    lateral = connection.vendor == "postgresql" and organisations is not None

    def above(columns: str, depth: str) -> str:
        if lateral:
            return f"""CROSS JOIN LATERAL (
                SELECT {columns} FROM {table} r
                WHERE r.organisation_id = m.federation_id {depth} {root_filter.format(root="r.root_id")}
                OFFSET 0
            ) r"""  # noqa: S608
        roots_of_r = root_filter.format(root="r.root_id")
        return f"JOIN {table} r ON r.organisation_id = m.federation_id {depth} {roots_of_r}"

    kept = 0
    if organisations is not None:
        # The rows kept (those the change did not touch) that lead to the organisations
        # computed again: the levels go at least as deep as they do.
        cursor.execute(
            f"""
            SELECT COALESCE(MAX(r.depth), 0) FROM {memberships} m
            {above("r.depth", "")}
            WHERE 1 = 1 {member_filter}
            """,  # noqa: S608
            [*root_params, *member_params],
        )
        kept = cursor.fetchone()[0]
    cursor.execute(_merged(first, table), [open_end, open_end, *root_params, *member_params])
    written = cursor.rowcount
    start, end, overlapping = overlap_sql(
        ("r.start_on", "m.joined_on"), ("r.end_on", "m.left_on"), greatest, least
    )
    step = f"""
        SELECT r.root_id, m.member_id AS organisation_id, r.depth + 1 AS depth,
            {start} AS start_on, COALESCE({end}, %s) AS end_on
        FROM {memberships} m
        {above("r.root_id, r.depth, r.start_on, r.end_on", "AND r.depth = %s")}
        WHERE m.member_id <> r.root_id AND {overlapping} {member_filter}
    """  # noqa: S608
    # Level d + 1 is made from the rows at depth d: those just written, or those kept.
    depth, bound = 1, None
    while written or depth <= kept:
        if depth >= DEEP and bound is None:
            # A path longer than the number of organisations loops: the bound ends the
            # levels even if bad data ever held a cycle. Counted only for deep networks.
            cursor.execute(f"SELECT COUNT(*) FROM {Organisation._meta.db_table}")  # noqa: S608
            bound = cursor.fetchone()[0]
        if bound is not None and depth >= bound:
            break
        cursor.execute(_merged(step, table), [open_end, open_end, depth, *root_params, *member_params])
        written = cursor.rowcount
        depth += 1


def rebuild(roots: Iterable[int] | None = None, using: str | None = None) -> None:
    """Compute the rows of these roots (default: every organisation) again from the memberships."""
    connection = connections[using] if using else _connection()
    table = NetworkReach._meta.db_table
    ids = None if roots is None else sorted(set(roots))
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if ids is None:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608
        else:
            sql, value = ids_sql(ids, connection)
            cursor.execute(f"DELETE FROM {table} WHERE root_id IN ({sql})", [value])  # noqa: S608
        _levels(cursor, connection, table, ids, None)


def below(members: Iterable[int], connection: BaseDatabaseWrapper, cursor: CursorWrapper) -> set[int]:
    """Return the members and every organisation below them through memberships at any time."""
    sql, value = ids_sql(members, connection)
    cursor.execute(
        f"""
        WITH RECURSIVE below(id) AS (
            {sql}
            UNION
            SELECT m.member_id FROM {Membership._meta.db_table} m JOIN below ON m.federation_id = below.id
        )
        SELECT id FROM below
        """,  # noqa: S608
        [value],
    )
    return {row[0] for row in cursor.fetchall()}


def memberships_changed(pairs: Iterable[Pair]) -> None:
    """Bring the rows a change of these memberships (federation id, member id) can touch up to date.

    Call it after the write, in its transaction, for every membership added,
    changed (its pair before and after) or deleted. Only the rows from the
    federations and everything above them to the members and everything below
    them are computed again.
    """
    pairs = {(int(f), int(m)) for f, m in pairs if f is not None and m is not None}
    if not pairs:
        return
    federations = {f for f, _m in pairs}
    roots = sorted(federations | {up for _member, up in upward_edges(federations)})
    connection = _connection()
    table = NetworkReach._meta.db_table
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        organisations = sorted(below({m for _f, m in pairs}, connection, cursor))
        roots_sql, roots_value = ids_sql(roots, connection)
        organisations_sql, organisations_value = ids_sql(organisations, connection)
        if len(organisations) > WHOLE_NETWORKS:
            # A change under most of the roots' networks (an import of a whole register, a
            # regional organisation's link): their rows are computed again whole, in bulk joins,
            # rather than looked up membership by membership.
            cursor.execute(f"DELETE FROM {table} WHERE root_id IN ({roots_sql})", [roots_value])  # noqa: S608
            _levels(cursor, connection, table, roots, None)
            # The counted figures only change below the change, however many organisations that is.
            counted.recompute(roots, organisations, using=connection.alias)
            return
        touched = f"root_id IN ({roots_sql}) AND organisation_id IN ({organisations_sql})"
        cursor.execute(f"DELETE FROM {table} WHERE {touched}", [roots_value, organisations_value])  # noqa: S608
        _levels(cursor, connection, table, roots, organisations)
        # What the organisations add to the roots' totals moves with the network.
        counted.recompute(roots, organisations, using=connection.alias)


def pairs_of(memberships: Iterable[int]) -> list[Pair]:
    """Return the (federation id, member id) of these memberships (ids), in one query."""
    ids = list(memberships)
    if not ids:
        return []
    connection = _connection()
    sql, value = ids_sql(ids, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT federation_id, member_id FROM {Membership._meta.db_table} WHERE id IN ({sql})",  # noqa: S608
            [value],
        )
        return [(f, m) for f, m in cursor.fetchall()]


def _reached(federation_ids: list[int], alias: str = "n") -> tuple[str, int]:
    """Return the SQL condition "a row of these roots current on the day", and its placeholders' count."""
    placeholders = ", ".join(["%s"] * len(federation_ids))
    current = current_sql(alias, start="start_on", end="end_on")
    return f"{alias}.root_id IN ({placeholders}) AND {current}", len(federation_ids) + 2


def nearest_sql(federation_ids: list[int], day: datetime.date) -> SQL:
    """Return (SQL, params): a WITH clause naming `network`, (root_id, organisation_id, depth), read.

    The same rows as members/network.py's nearest_sql(), read from the rows
    current on the day: the shortest depth is the smallest of theirs.
    """
    on = reading_connection().ops.adapt_datefield_value(day)
    condition, _count = _reached(federation_ids)
    sql = f"""
        WITH network(root_id, organisation_id, depth) AS (
            SELECT n.root_id, n.organisation_id, MIN(n.depth)
            FROM {NetworkReach._meta.db_table} n
            WHERE {condition}
            GROUP BY n.root_id, n.organisation_id
        )
    """  # noqa: S608
    return sql, [*federation_ids, on, on]


def figures_sql(federation_ids: list[int], day: datetime.date) -> SQL:
    """Return (SQL, params): a WITH clause naming `network`, the roots' networks with their figures.

    The same rows as members/network.py's figures_sql() (whose docstring says
    what "covered" means), from the table. An organisation is covered in a
    figure when a federation of the root's network declaring that figure with
    its members' included had, on the day, a current member that joined it on
    or before that declaration, and the organisation is that member or below
    it on the day: a path from the root through the federation to the
    organisation, current on the day, since the network holds no cycle.
    """
    on = reading_connection().ops.adapt_datefield_value(day)
    table = NetworkReach._meta.db_table
    memberships = Membership._meta.db_table
    reached, _count = _reached(federation_ids)
    current_below = current_sql("b", start="start_on", end="end_on")
    if reading_connection().vendor == "postgresql":
        # Kept apart from the outer query (OFFSET 0), so that each covered member looks its
        # own network up in members_reach_root_on_idx instead of the planner merging with
        # every root's rows current on the day.
        below = f"""CROSS JOIN LATERAL (
            SELECT b.organisation_id FROM {table} b WHERE b.root_id = cm.organisation_id AND {current_below}
            OFFSET 0
        ) b"""  # noqa: S608
    else:
        below = f"JOIN {table} b ON b.root_id = cm.organisation_id AND {current_below}"
    sql = f"""
        WITH reached(root_id, organisation_id) AS (
            SELECT DISTINCT n.root_id, n.organisation_id FROM {table} n WHERE {reached}
        ),
        {latest_and_covering("SELECT organisation_id FROM reached")},
        covered_members(root_id, organisation_id, enterprises_covered, employment_covered) AS (
            SELECT r.root_id, m.member_id,
                MAX(CASE WHEN c.enterprises THEN 1 ELSE 0 END), MAX(CASE WHEN c.employment THEN 1 ELSE 0 END)
            FROM reached r
            JOIN covering c ON c.organisation_id = r.organisation_id
            JOIN {memberships} m ON m.federation_id = r.organisation_id
                AND {current_sql("m")} AND m.joined_on <= c.declared_on AND m.member_id <> r.root_id
            GROUP BY r.root_id, m.member_id
        ),
        covered(root_id, organisation_id, enterprises_covered, employment_covered) AS (
            SELECT root_id, organisation_id, MAX(enterprises_covered), MAX(employment_covered) FROM (
                SELECT root_id, organisation_id, enterprises_covered, employment_covered FROM covered_members
                UNION ALL
                SELECT cm.root_id, b.organisation_id, cm.enterprises_covered, cm.employment_covered
                FROM covered_members cm
                {below}
            ) paths
            GROUP BY root_id, organisation_id
        ),
        network(
            root_id, organisation_id, enterprises_covered, employment_covered, enterprises, employment
        ) AS (
            SELECT r.root_id, r.organisation_id,
                COALESCE(cv.enterprises_covered, 0), COALESCE(cv.employment_covered, 0),
                l.enterprises, l.employment
            FROM reached r
            LEFT JOIN covered cv ON cv.root_id = r.root_id AND cv.organisation_id = r.organisation_id
            LEFT JOIN latest l ON l.organisation_id = r.organisation_id
        )
    """  # noqa: S608
    return sql, [*federation_ids, on, on, on, on, on, on, on]


@dataclass(frozen=True)
class Difference:
    """A row the table lacks (`missing`) or holds without reason (`extra`)."""

    kind: str
    root_id: int
    organisation_id: int
    depth: int
    start_on: datetime.date
    end_on: datetime.date | None

    def __str__(self) -> str:
        return (
            f"{self.kind}: {self.root_id} → {self.organisation_id} at depth {self.depth}, "
            f"{self.start_on} – {self.end_on or 'open'}"
        )


FRESH = "members_reach_fresh"


def differences(limit: int | None = None) -> list[Difference]:
    """Return how the table differs from a fresh computation from the memberships (empty: exact).

    The fresh rows are computed into a temporary table and compared in SQL,
    both ways; nothing is written to the register.
    """
    connection = _connection()
    table = NetworkReach._meta.db_table
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FRESH}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {FRESH} (root_id bigint NOT NULL, organisation_id bigint NOT NULL, "
            "depth smallint NOT NULL, start_on date NOT NULL, end_on date NULL)"
        )
        cursor.execute(f"CREATE INDEX {FRESH}_step ON {FRESH} (depth, organisation_id)")
        try:
            _levels(cursor, connection, FRESH, None, None)
            found: list[Difference] = []
            for kind, first, second in (("missing", FRESH, table), ("extra", table, FRESH)):
                cursor.execute(
                    f"SELECT {COLUMNS} FROM {first} EXCEPT SELECT {COLUMNS} FROM {second} "  # noqa: S608
                    f"ORDER BY root_id, organisation_id, depth, start_on"
                    + ("" if limit is None else f" LIMIT {int(limit)}")
                )
                for row in cursor.fetchall():
                    root, organisation, depth, start_on, end_on = row
                    found.append(
                        Difference(
                            kind,
                            root,
                            organisation,
                            depth,
                            _date(start_on),
                            _date(end_on) if end_on else None,
                        )
                    )
        finally:
            cursor.execute(f"DROP TABLE {FRESH}")
    return found


def _date(value: Any) -> datetime.date:
    # SQLite hands a temporary table's dates back as text.
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))


# members/counted.py builds on this module's table and constants: imported once they exist.
from members import counted  # noqa: E402
