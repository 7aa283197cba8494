"""Whether memberships may stand: the one home of the rules every write path applies.

A membership is refused when the member would be a member of itself, when it
would end on or before the day it starts, when its period would overlap
another period of the same member in the same federation, or when the
federation is already, at any depth and at any time, a member of the member
(no organisation is a member of its own members). `Membership.clean()`, the
admin's membership formsets and the CSV import all ask this module, so each
refuses the same membership with the same message.

The database holds the same rules where it can (members/models.py's check
constraints, and on PostgreSQL an exclusion constraint against overlaps);
this module is what turns them into a message a member of staff understands
before the database is asked. No constraint can see a cycle, so the check is
made under a lock that serialises it with the write that follows
(`lock_network()`): `Membership.save()` and the import's `apply_import()`
check again under it, in the transaction of their write.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

from django.db import connections, router
from django.db.models import Q
from django.utils.translation import gettext as _

from members.batches import batched
from members.dates import END_PRECISIONS, format_from, format_left, format_since, format_until

if TYPE_CHECKING:
    from members.models import Membership, Organisation

# A node of the network: an organisation's id, or any other key (a slug) for
# one that is not saved yet.
Node = Hashable


@dataclass(frozen=True)
class Period:
    """One membership's place in time: member, federation, [joined_on, left_on), as given or stored.

    `pk` is the stored membership it is (None for a new one); `origin` is
    whatever the caller wants handed back with an error (a form, a file's row);
    `stored` marks a period read from the database as it stands.
    """

    member: Node
    federation: Node
    joined_on: datetime.date
    left_on: datetime.date | None
    joined_precision: str = "day"
    left_precision: str = "day"
    pk: int | None = None
    origin: object = None
    stored: bool = False

    def shares_a_day_with(self, other: Period) -> bool:
        """Return whether the two periods have a day in common."""
        return (self.left_on is None or self.left_on > other.joined_on) and (
            other.left_on is None or other.left_on > self.joined_on
        )


def self_membership_error(member: Node, federation: Node) -> str | None:
    """Return the message refusing an organisation as a member of itself, or None."""
    if member is not None and member == federation:
        return _("An organisation cannot be a member of itself.")
    return None


def dates_error(joined_on: datetime.date | None, left_on: datetime.date | None) -> str | None:
    """Return the message refusing a period that ends on or before the day it starts, or None."""
    if joined_on is not None and left_on is not None and left_on <= joined_on:
        return _("A membership must end after the day it starts.")
    return None


def departure_errors(
    left_on: datetime.date | None,
    left_reason: str,
    merged_into: Node,
    member: Node,
    left_source: Node,
    left_source_note: str,
) -> list[tuple[str, str]]:
    """Return (field, message) for each way a departure's own facts contradict its date or reason.

    A reason, a source or a note of the departure needs a date of leaving; "merged into" goes
    only with the reason "merged", which needs it, and never names the member itself.
    """
    errors = []
    if left_on is None:
        if left_reason:
            errors.append(("left_reason", _("A reason for leaving needs the date the member left.")))
        if left_source is not None or left_source_note:
            errors.append(("left_source", _("A source of the departure needs the date the member left.")))
    if left_reason == "merged":
        if merged_into is None:
            errors.append(("merged_into", _("Say which organisation the member merged into.")))
        elif merged_into == member:
            errors.append(("merged_into", _("An organisation cannot merge into itself.")))
    elif merged_into is not None:
        message = _("“Merged into” goes only with the reason “merged into another organisation”.")
        errors.append(("merged_into", message))
    return errors


def overlap_error(member_name: str, federation_name: str, period: Period, clash: Period) -> str:
    """Return the message refusing `period` because it overlaps `clash`, another period of the same pair."""
    return _(
        "%(member)s cannot be a member of %(federation)s %(period)s: it is already a member %(clash)s, "
        "and two periods of the same membership cannot overlap."
    ) % {
        "member": member_name,
        "federation": federation_name,
        "period": _span(period),
        "clash": _span(clash),
    }


def _span(period: Period) -> str:
    # The prepositions agree with each date's form ("du 23 juin 2023", "de mai 2017"): members/dates.py.
    if period.left_on is None:
        return _("%(since)s with no end date") % {
            "since": format_since(period.joined_on, period.joined_precision)
        }
    if period.left_precision in END_PRECISIONS:
        return _("%(from)s, leaving %(left)s") % {
            "from": format_from(period.joined_on, period.joined_precision),
            "left": format_left(period.left_on, period.left_precision),
        }
    return _("%(from)s %(until)s") % {
        "from": format_from(period.joined_on, period.joined_precision),
        "until": format_until(period.left_on, period.left_precision),
    }


def cycle_error(member_name: str, federation_name: str) -> str:
    """Return the message refusing a membership that would make an organisation a member of its members."""
    return _(
        "%(member)s cannot join %(federation)s: %(federation)s is already a member "
        "of %(member)s, directly or through other federations, and no organisation "
        "can be a member of its own members."
    ) % {"member": member_name, "federation": federation_name}


def stored_periods(pairs: Iterable[tuple[int, int]], *, excluding: Iterable[int] = ()) -> list[Period]:
    """Return the stored periods of these (member id, federation id) pairs, but those of `excluding`."""
    from django.db import router

    from members.models import Membership

    pairs = sorted(set(pairs))
    excluded = [pk for pk in excluding if pk is not None]
    periods: list[Period] = []
    fields = [
        "id",
        "member_id",
        "federation_id",
        "joined_on",
        "left_on",
        "joined_precision",
        "left_precision",
    ]
    # What may be saved is decided on the primary, never on a replica that may lag.
    database = router.db_for_write(Membership)
    for batch in batched(pairs, database, per_item=2, reserved=len(excluded)):
        condition = Q()
        for member_id, federation_id in batch:
            condition |= Q(member_id=member_id, federation_id=federation_id)
        rows = Membership.objects.using(database).filter(condition).exclude(pk__in=excluded).order_by()
        for row in rows.values_list(*fields):
            pk, member_id, federation_id, joined_on, left_on, joined_precision, left_precision = row
            periods.append(
                Period(
                    member_id,
                    federation_id,
                    joined_on,
                    left_on,
                    joined_precision,
                    left_precision,
                    pk,
                    stored=True,
                )
            )
    return periods


def overlaps(periods: Iterable[Period]) -> list[tuple[Period, Period]]:
    """Return (period, the earlier period it overlaps) for every clash between periods of one pair.

    New periods are compared with each other and with stored ones; two
    stored periods never clash (the database and this module saw to that).
    """
    by_pair: dict[tuple[Node, Node], list[Period]] = defaultdict(list)
    for period in periods:
        by_pair[(period.member, period.federation)].append(period)
    clashes = []
    for spans in by_pair.values():
        spans.sort(key=lambda p: (p.joined_on, not p.stored))
        # Each period against the one that reaches furthest among those before it.
        furthest: Period | None = None
        for before, after in pairwise(spans):
            if furthest is None or _reaches_further(before, furthest):
                furthest = before
            if furthest.shares_a_day_with(after) and not (furthest.stored and after.stored):
                clashes.append((after, furthest))
    return clashes


def _reaches_further(a: Period, b: Period) -> bool:
    if b.left_on is None:
        return False
    return a.left_on is None or a.left_on > b.left_on


# The key of the one advisory lock that lock_network() takes: any constant of the register's own
# (the bytes of "members"), the same in every process that writes to the database.
NETWORK_LOCK_KEY = 0x6D656D62657273


def lock_network() -> None:
    """Hold, until the current transaction ends, the lock serialising every change to the network's shape.

    A cycle spans several rows that two transactions may each add one of: each
    checks the network as committed, finds no loop and writes, and the two
    writes together close one (cecop → trial-x from one import, trial-x →
    cecop from another a moment later). No constraint can refuse that. So on
    PostgreSQL whoever is about to check for cycles and then write takes one
    transaction-scoped advisory lock first: a second writer waits at this line
    until the first has committed or rolled back, and its check, made after,
    reads what the first wrote (READ COMMITTED reads as of each statement).

    Outside a transaction the lock would end with its own statement, so
    nothing is taken: the write paths (`Membership.save()`, `apply_import()`)
    open their transaction and call this again before they write. The
    admin's change, add and revert views run their validation in the
    transaction of their save, so the second of two staff saving opposite
    memberships is shown the cycle message on the form.

    SQLite needs no lock of ours: it lets one connection write at a time, and a
    transaction that read before another's write committed cannot write
    after it ("database is locked"), so two such writes never both commit.
    """
    from members.models import Membership

    connection = connections[router.db_for_write(Membership)]
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [NETWORK_LOCK_KEY])


def cycles(new: Sequence[Period], *, excluding: Iterable[int] = ()) -> list[Period]:
    """Return the new memberships among `new` that would close a loop in the network.

    A membership member → federation closes a loop when the member can
    already be reached upwards from the federation, through stored
    memberships of any time (but those in `excluding`, being changed) or
    through the other new ones. Only the part of the network above the new
    memberships' federations is read, in as few recursive queries as the database takes.
    """
    from members.network import upward_edges

    if not new:
        return []
    starts = {p.federation for p in new if isinstance(p.federation, int)}
    above: dict[Node, set[Node]] = defaultdict(set)
    for member, federation in upward_edges(starts, excluding=excluding):
        above[member].add(federation)
    for period in new:
        above[period.member].add(period.federation)
    # What each federation reaches upwards, walked once however many new members it has (an
    # import gives thousands of members to a few federations).
    reached: dict[Node, set[Node]] = {}
    looping = []
    for period in new:
        if period.federation not in reached:
            reached[period.federation] = _reachable(above, period.federation)
        if period.member in reached[period.federation]:
            looping.append(period)
    return looping


def _reachable(graph: dict[Node, set[Node]], start: Node) -> set[Node]:
    seen, stack = {start}, [start]
    while stack:
        node = stack.pop()
        for nxt in graph.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _node(organisation: Organisation) -> Node:
    # An organisation being added (on its own admin page) has no id yet: its
    # rows share it as one node, which no stored membership can reach.
    return organisation.pk if organisation.pk is not None else ("unsaved", id(organisation))


def membership_errors(memberships: Sequence[Membership]) -> list[tuple[int, str, str]]:
    """Return (index, field, message) for every rule the given memberships break, alone or together.

    The memberships are model instances as a form leaves them (saved or not,
    dates already at the start of their period, their member perhaps not
    saved yet either); each is checked against the register as stored, less
    the stored versions of those given, and against the others given. At most
    two queries: the stored periods of their pairs, and the network above
    their federations.
    """
    errors: list[tuple[int, str, str]] = []
    periods: list[Period] = []
    for index, membership in enumerate(memberships):
        alone = [
            (field, message)
            for field, message in (
                ("federation", self_membership_error(membership.member_id, membership.federation_id)),
                ("left_on", dates_error(membership.joined_on, membership.left_on)),
            )
            if message
        ]
        errors += [(index, field, message) for field, message in alone]
        errors += [
            (index, field, message)
            for field, message in departure_errors(
                membership.left_on,
                membership.left_reason,
                membership.merged_into_id,
                membership.member_id,
                membership.left_source_id,
                membership.left_source_note,
            )
        ]
        # The rules between memberships are for those that stand on their own.
        member = getattr(membership, "member", None)  # None when not chosen yet
        if not alone and member is not None and membership.federation_id and membership.joined_on:
            periods.append(
                Period(
                    _node(member),
                    membership.federation_id,
                    membership.joined_on,
                    membership.left_on,
                    membership.joined_precision,
                    membership.left_precision,
                    membership.pk,
                    origin=index,
                )
            )
    if not periods:
        return errors
    # Asked before a save (a model's clean(), the admin's formsets): in the transaction
    # of that save, the check and the write are serialised with everyone else's.
    lock_network()
    changing = [m.pk for m in memberships if m.pk]

    def error(period: Period, field: str, message: Callable[[str, str], str]) -> None:
        assert isinstance(period.origin, int)  # noqa: S101 - the index given above
        membership = memberships[period.origin]
        errors.append(
            (period.origin, field, message(membership.member.short_name, membership.federation.short_name))
        )

    for period in cycles(periods, excluding=changing):
        error(period, "federation", cycle_error)
    pairs = {
        (p.member, p.federation)
        for p in periods
        if isinstance(p.member, int) and isinstance(p.federation, int)
    }
    for later, earlier in overlaps([*periods, *stored_periods(pairs, excluding=changing)]):
        # The error goes to the new period; a stored one is what it clashes with.
        new, clash = (earlier, later) if later.stored else (later, earlier)
        error(new, "__all__", lambda member, federation: overlap_error(member, federation, new, clash))  # noqa: B023
    return errors
