"""The networks below federations on a day, as recursive SQL the statistics build on.

A federation's network on a day is every organisation reachable from it
through memberships of any category current on that day (joined on or before
the day, not left by then), at any depth. Two shapes are offered, each a WITH
clause naming `network` that a caller completes with its own SELECT:

- figures_sql(): one row per (root, organisation) with the enterprises and
  employment of the organisation's latest declaration on or before the day,
  and per figure whether a federation of the root's network already includes
  the organisation in its own declaration. This is what totals are made of.
- nearest_sql(): one row per (root, organisation) with its shortest depth
  (1: a direct member), for listing a network nearest first.

Both run on PostgreSQL and SQLite, on the connection the router picks for
reading the register (`reading_connection()`: the replica for public pages
when there is one), which the statistics' own raw queries use as well, so a
page never mixes two databases. "Current on the day" is members/rules.py's
`current_sql`. Only constant identifiers are put into the SQL text; every
value travels as a parameter.

Without dates, `upward_edges()` walks every membership ever recorded above
some organisations: what the ban on cycles (members/validation.py) looks at.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper

from members.batches import batched
from members.models import DeclaredFigures, Membership, Organisation
from members.rules import current_sql

SQL = tuple[str, list[Any]]


def reading_connection() -> BaseDatabaseWrapper:
    """Return the connection the router picks for reading memberships (the replica for public pages)."""
    return connections[router.db_for_read(Membership)]


def _members_of_reached(day: object, vendor: str) -> SQL:
    """Return (SQL, params) joining each reached row `r` to its current memberships as `m`.

    On PostgreSQL the step is a LATERAL subquery kept apart from the outer
    query (OFFSET 0), so each reached organisation looks its members up in
    members_mship_fed_current_idx. Left to itself the planner misjudges how
    many rows a recursive step holds and re-reads all current memberships at
    every level instead (a merge or hash join): at 1,000,000 memberships that
    is five times slower. SQLite always looks rows up through the index.
    """
    memberships = Membership._meta.db_table
    if vendor == "postgresql":
        sql = f"""
            CROSS JOIN LATERAL (
                SELECT member_id, joined_on FROM {memberships}
                WHERE federation_id = r.organisation_id AND {current_sql()} AND member_id <> r.root_id
                OFFSET 0
            ) m
        """  # noqa: S608
    else:
        sql = f"""
            JOIN {memberships} m ON m.federation_id = r.organisation_id
                AND {current_sql("m")}
                AND m.member_id <> r.root_id
        """
    return sql, [day, day]


def _roots(federation_ids: list[int], day: object) -> SQL:
    """Return (SQL, params) selecting the roots' current direct members as (root_id, member_id, joined_on)."""
    memberships = Membership._meta.db_table
    placeholders = ", ".join(["%s"] * len(federation_ids))
    sql = f"""
        SELECT federation_id, member_id, joined_on FROM {memberships}
        WHERE federation_id IN ({placeholders}) AND {current_sql()}
    """  # noqa: S608
    return sql, [*federation_ids, day, day]


def latest_and_covering(among: str | None = None) -> str:
    """Return the WITH clauses `latest` and `covering`, with one placeholder: the day.

    `latest` is each organisation's latest declaration on or before the day
    (only of the organisations the subquery `among` selects, when given), and
    `covering` those of them that cover their members' figures. `latest` is
    read twice (by the recursion and by `network`), so it is computed once.
    """
    only = f"AND organisation_id IN ({among})" if among else ""
    return f"""
    latest(organisation_id, declared_on, enterprises, employment, includes_members) AS (
        SELECT organisation_id, declared_on, enterprises, employment, includes_members FROM (
            SELECT organisation_id, declared_on, enterprises, employment, includes_members,
                ROW_NUMBER() OVER (PARTITION BY organisation_id ORDER BY declared_on DESC) AS recency
            FROM {DeclaredFigures._meta.db_table} WHERE declared_on <= %s {only}
        ) ranked
        WHERE recency = 1
    ),
    covering(organisation_id, declared_on, enterprises, employment) AS (
        SELECT organisation_id, declared_on, enterprises IS NOT NULL, employment IS NOT NULL
        FROM latest
        WHERE includes_members AND (enterprises IS NOT NULL OR employment IS NOT NULL)
    )"""  # noqa: S608


LATEST_AND_COVERING = latest_and_covering()


def figures_sql(federation_ids: list[int], day: datetime.date) -> SQL:
    """Return (SQL, params): a WITH clause naming `network`, the roots' networks with their figures.

    `network` holds one row per (root_id, organisation_id) with `enterprises`
    and `employment` from the organisation's latest declaration on or before
    the day (NULL when it declared none), and `enterprises_covered` /
    `employment_covered`: 1 when a federation of the root's network already
    includes the organisation in that figure of its own declaration, that is
    when, on some path from the root, the organisation or one of its
    federations below the root joined a federation whose latest declaration
    gives the figure with `includes_members` ticked, on or before that
    declaration's date. The root's own declaration never covers anyone: it is
    what the computed figures are compared with.
    """
    connection = reading_connection()
    on = connection.ops.adapt_datefield_value(day)
    roots, roots_params = _roots(federation_ids, on)
    step, step_params = _members_of_reached(on, connection.vendor)

    def covered(figure: str) -> str:
        return (
            f"CASE WHEN r.{figure}_covered = 1 OR (c.{figure} AND m.joined_on <= c.declared_on) "
            f"THEN 1 ELSE 0 END"
        )

    # The recursion carries no depth: its rows are (root, organisation, two
    # flags), so UNION drops every row already reached and the recursion ends
    # by itself, even if bad data ever held a cycle.
    sql = f"""
        WITH RECURSIVE {LATEST_AND_COVERING},
        reach(root_id, organisation_id, enterprises_covered, employment_covered) AS (
            SELECT federation_id, member_id, 0, 0 FROM ({roots}) direct
            UNION
            SELECT r.root_id, m.member_id, {covered("enterprises")}, {covered("employment")}
            FROM reach r
            {step}
            LEFT JOIN covering c ON c.organisation_id = r.organisation_id
        ),
        network(
            root_id, organisation_id, enterprises_covered, employment_covered, enterprises, employment
        ) AS (
            SELECT g.root_id, g.organisation_id, g.enterprises_covered, g.employment_covered,
                l.enterprises, l.employment
            FROM (
                SELECT root_id, organisation_id,
                    MAX(enterprises_covered) AS enterprises_covered,
                    MAX(employment_covered) AS employment_covered
                FROM reach
                GROUP BY root_id, organisation_id
            ) g
            LEFT JOIN latest l ON l.organisation_id = g.organisation_id
        )
    """  # noqa: S608
    return sql, [on, *roots_params, *step_params]


def nearest_sql(federation_ids: list[int], day: datetime.date) -> SQL:
    """Return (SQL, params): a WITH clause naming `network`, (root_id, organisation_id, depth).

    `depth` is the organisation's shortest distance from the root on the day
    (1: a direct member). The depth bound (a path longer than the number of
    organisations must loop) ends the recursion even if bad data ever held a cycle.
    """
    connection = reading_connection()
    on = connection.ops.adapt_datefield_value(day)
    organisations = Organisation._meta.db_table
    roots, roots_params = _roots(federation_ids, on)
    step, step_params = _members_of_reached(on, connection.vendor)
    sql = f"""
        WITH RECURSIVE reach(root_id, organisation_id, depth) AS (
            SELECT federation_id, member_id, 1 FROM ({roots}) direct
            UNION
            SELECT r.root_id, m.member_id, r.depth + 1
            FROM reach r
            {step}
            WHERE r.depth < (SELECT COUNT(*) FROM {organisations})
        ),
        network(root_id, organisation_id, depth) AS (
            SELECT root_id, organisation_id, MIN(depth) FROM reach GROUP BY root_id, organisation_id
        )
    """  # noqa: S608
    return sql, [*roots_params, *step_params]


def upward_edges(starts: Iterable[int], *, excluding: Iterable[int] = ()) -> set[tuple[int, int]]:
    """Return every (member id, federation id) of memberships above the given organisations, at any time.

    That is the memberships of the organisations themselves, of their
    federations, and so on up, but those in `excluding`: all that a new
    membership of theirs could close a loop with, in as few queries as the database takes.
    """
    table = Membership._meta.db_table
    starts = sorted(set(starts))
    excluded = sorted({pk for pk in excluding if pk is not None})
    skip = f"AND m.id NOT IN ({', '.join(['%s'] * len(excluded))})" if excluded else ""
    edges: set[tuple[int, int]] = set()
    # What may be saved is decided on the primary, never on a replica that may lag.
    database = router.db_for_write(Membership)
    with connections[database].cursor() as cursor:
        for batch in batched(starts, database, reserved=2 * len(excluded)):
            sql = f"""
                WITH RECURSIVE up(member_id, federation_id) AS (
                    SELECT m.member_id, m.federation_id FROM {table} m
                    WHERE m.member_id IN ({", ".join(["%s"] * len(batch))}) {skip}
                    UNION
                    SELECT m.member_id, m.federation_id FROM {table} m
                    JOIN up ON m.member_id = up.federation_id {skip}
                )
                SELECT member_id, federation_id FROM up
            """  # noqa: S608
            cursor.execute(sql, [*batch, *excluded, *excluded])
            edges.update(cursor.fetchall())
    return edges
