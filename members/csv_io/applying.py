"""Applying an import plan: one transaction of bulk writes, recorded in the change history.

New organisations and memberships, and the history record of each, go through
members/bulk.py (COPY on PostgreSQL, multi-row INSERTs elsewhere); updates
through simple_history's bulk_update_with_history. All of it is one
transaction: any failure leaves nothing written, history included.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import router, transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from members import reach
from members.batches import batched
from members.bulk import insert_with_history
from members.cache import register_changed
from members.csv_io.parsing import RowError
from members.csv_io.planning import ImportPlan, NewMembership
from members.models import Membership, Organisation, Source, TimeStamped
from members.validation import Node, Period, cycle_error, cycles, lock_network

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

BATCH_SIZE = 1000
# Rows are prepared, written and reported this many at a time: the prepared rows (and their
# history records) of one chunk are in memory at once, never the whole file's.
CHUNK_SIZE = 5000

# Called with the number of records written so far, after each chunk.
Progress = Callable[[int], None]
T = TypeVar("T")


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK_SIZE):
        yield items[start : start + CHUNK_SIZE]


def writes(plan: ImportPlan) -> int:
    """How many records applying the plan writes (organisations and memberships, created or updated)."""
    return (
        len(plan.organisations_to_create)
        + len(plan.organisations_to_update)
        + len(plan.memberships_to_create)
        + len(plan.memberships_to_update)
    )


class StalePlanError(Exception):
    """The register changed since the plan was made so that it can no longer be applied; `errors` say how."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(str(error) for error in errors))
        self.errors = errors


def apply_import(
    plan: ImportPlan, user: AbstractBaseUser | None = None, progress: Progress | None = None
) -> dict[str, int]:
    """Write a valid plan in one transaction with bulk queries; recorded in the history as the user's.

    Return the plan's counts. Raise StalePlanError, writing nothing, when a
    membership to create would now close a loop in the network. `progress` is
    called with the records written so far after each chunk, inside the
    transaction: what it reports elsewhere must go through a connection of its own.
    """
    written = 0

    def wrote(count: int) -> None:
        nonlocal written
        written += count
        if progress is not None:
            progress(written)

    if plan.errors:
        raise ValueError("An import plan with errors cannot be applied.")
    database = router.db_for_write(Organisation)
    with transaction.atomic(using=database):
        # The plan was checked against the register as it was then; another import or a
        # member of staff may have added memberships since. Under the network's lock, held
        # until this transaction ends (members/validation.py), the new memberships are
        # checked again for cycles before anything is written.
        lock_network()
        needed = {slug for new in plan.memberships_to_create for slug in (new.member, new.federation)}
        ids: dict[str, int] = {}
        stored = Organisation.objects.using(database)
        for batch in batched(needed - set(plan.organisations_to_create), database):
            ids.update(stored.filter(slug__in=batch).values_list("slug", "id"))
        _refuse_cycles(plan, ids, database)
        sources = _create_sources(plan, database)
        # One moment for the whole import: each record's history date and its created/updated stamps.
        now = timezone.now()
        for chunk in _chunks(list(plan.organisations_to_create.values())):
            created = insert_with_history(Organisation, chunk, database, user, now)
            ids.update(zip((values["slug"] for values in chunk), created, strict=True))
            wrote(len(created))
        _update(Organisation, plan.organisations_to_update, user, database, wrote, now)
        pairs: set[tuple[int, int]] = set()
        for news in _chunks(plan.memberships_to_create):
            rows = [
                {
                    "member_id": ids[new.member],
                    "federation_id": ids[new.federation],
                    **_with_source(new.values, sources),
                }
                for new in news
            ]
            insert_with_history(Membership, rows, database, user, now)
            pairs.update((row["federation_id"], row["member_id"]) for row in rows)
            wrote(len(rows))
        updates = {pk: _with_source(changed, sources) for pk, changed in plan.memberships_to_update.items()}
        for membership in _update(Membership, updates, user, database, wrote, now):
            assert isinstance(membership, Membership)  # noqa: S101 - the model just asked
            pairs.add((membership.federation_id, membership.member_id))
        # Bulk writes send no save signals: tell the figures and page caches the register changed,
        # and the network which memberships were written, in this transaction.
        register_changed()
        reach.memberships_changed(pairs)
    return plan.counts()


def _create_sources(plan: ImportPlan, database: str) -> dict[str, int]:
    """Create the sources the plan cites and does not find; return their ids by the plan's keys."""
    if not plan.sources_to_create:
        return {}
    keys = list(plan.sources_to_create)
    created = Source.objects.using(database).bulk_create(
        [Source(**plan.sources_to_create[key]) for key in keys], batch_size=BATCH_SIZE
    )
    return {key: source.pk for key, source in zip(keys, created, strict=True)}


def _with_source(values: dict[str, Any], sources: dict[str, int]) -> dict[str, Any]:
    """The membership's values with its source as an id: a stored one's, or the one just created."""
    if "source" not in values:
        return values
    values = dict(values)
    source = values.pop("source")
    values["source_id"] = sources[source] if isinstance(source, str) else source
    return values


def _refuse_cycles(plan: ImportPlan, ids: dict[str, int], database: str) -> None:
    """Raise StalePlanError if a membership the plan creates would close a loop in the network as it is now.

    Organisations in the register are known by id, those the plan creates by
    slug, as in the plan. Only the memberships created can close a loop: the
    plan's updates never change a membership's member or federation.
    """

    def node(slug: str) -> Node:
        return ids.get(slug, slug)

    periods = [
        Period(
            node(new.member),
            node(new.federation),
            new.values["joined_on"],
            new.values["left_on"],
            origin=new,
        )
        for new in plan.memberships_to_create
    ]
    looping = cycles(periods)
    if not looping:
        return
    names: dict[Node, str] = {
        pk: acronym or name
        for pk, acronym, name in Organisation.objects.using(database)
        .filter(pk__in=[n for p in looping for n in (p.member, p.federation) if isinstance(n, int)])
        .values_list("pk", "acronym", "name")
    }
    for slug, values in plan.organisations_to_create.items():
        names[slug] = values.get("acronym") or values["name"]
    errors = []
    for period in looping:
        assert isinstance(period.origin, NewMembership)  # noqa: S101 - set above
        message = cycle_error(names[period.member], names[period.federation])
        errors.append(RowError(period.origin.row, "federation", message))
    raise StalePlanError(errors)


def _update(
    model: type[TimeStamped],
    changes: dict[int, dict[str, Any]],
    user: AbstractBaseUser | None,
    database: str,
    wrote: Progress,
    now: datetime.datetime,
) -> list[TimeStamped]:
    """Write the changed fields of these rows (pk -> changed values), stamped as updated now; return them."""
    updated: list[TimeStamped] = []
    for pks in _chunks(list(changes)):
        objects: dict[Any, TimeStamped] = {}
        for batch in batched(pks, database):
            objects.update(model._default_manager.using(database).in_bulk(batch))
        fields = {"updated_at"}
        for pk in pks:
            obj = objects[pk]
            for name, value in changes[pk].items():
                setattr(obj, name, value)
            obj.updated_at = now
            fields |= set(changes[pk])
        bulk_update_with_history(
            list(objects.values()),
            model,
            sorted(fields),
            batch_size=BATCH_SIZE,
            default_user=user,
            default_date=now,
        )
        wrote(len(objects))
        updated += objects.values()
    return updated
