"""Applying an import plan: one transaction of bulk writes, recorded in the change history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import router, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from members.batches import batched
from members.cache import register_changed
from members.csv_io.planning import ImportPlan
from members.models import Membership, Organisation, TimeStamped

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

BATCH_SIZE = 1000


def apply_import(plan: ImportPlan, user: AbstractBaseUser | None = None) -> dict[str, int]:
    """Write a valid plan in one transaction with bulk queries; recorded in the history as the user's.

    Return the plan's counts.
    """
    if plan.errors:
        raise ValueError("An import plan with errors cannot be applied.")
    database = router.db_for_write(Organisation)
    with transaction.atomic(using=database):
        created = bulk_create_with_history(
            [Organisation(**values) for values in plan.organisations_to_create.values()],
            Organisation,
            batch_size=BATCH_SIZE,
            default_user=user,
        )
        # bulk_create_with_history hands the objects back with their ids on every database.
        ids = {organisation.slug: organisation.pk for organisation in created}
        _update(Organisation, plan.organisations_to_update, user, database)
        needed = {
            slug for member, federation, _v in plan.memberships_to_create for slug in (member, federation)
        }
        stored = Organisation.objects.using(database)
        for batch in batched(needed - set(ids), database):
            ids.update(stored.filter(slug__in=batch).values_list("slug", "id"))
        memberships = [
            Membership(member_id=ids[member], federation_id=ids[federation], **values)
            for member, federation, values in plan.memberships_to_create
        ]
        bulk_create_with_history(memberships, Membership, batch_size=BATCH_SIZE, default_user=user)
        _update(Membership, plan.memberships_to_update, user, database)
        # Bulk writes send no save signals: tell the figures cache the register changed.
        register_changed()
    return plan.counts()


def _update(
    model: type[TimeStamped], changes: dict[int, dict[str, Any]], user: AbstractBaseUser | None, database: str
) -> None:
    """Write the changed fields of these rows (pk -> changed values), stamped as updated now."""
    if not changes:
        return
    objects: dict[Any, TimeStamped] = {}
    for batch in batched(changes, database):
        objects.update(model._default_manager.using(database).in_bulk(batch))
    now = timezone.now()
    fields = {"updated_at"}
    for pk, changed in changes.items():
        obj = objects[pk]
        for name, value in changed.items():
            setattr(obj, name, value)
        obj.updated_at = now
        fields |= set(changed)
    bulk_update_with_history(
        list(objects.values()), model, sorted(fields), batch_size=BATCH_SIZE, default_user=user
    )
