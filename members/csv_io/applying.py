"""Applying an import plan: one transaction of bulk writes, recorded in the change history."""

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from members.cache import register_changed
from members.csv_io.planning import _batched
from members.models import Membership, Organisation


def _history_enabled(model):
    return apps.is_installed("simple_history") and hasattr(model, "history")


def _bulk_create(model, objects, user):
    if _history_enabled(model):
        from simple_history.utils import bulk_create_with_history  # the history app is optional

        return bulk_create_with_history(objects, model, batch_size=1000, default_user=user)
    return model.objects.bulk_create(objects, batch_size=1000)


def _bulk_update(model, objects, fields, user):
    if not objects:
        return
    if _history_enabled(model):
        from simple_history.utils import bulk_update_with_history  # the history app is optional

        bulk_update_with_history(objects, model, fields, batch_size=1000, default_user=user)
    else:
        model.objects.bulk_update(objects, fields, batch_size=1000)


def _load_for_update(model, changes):
    objects = {}
    for batch in _batched(changes):
        objects.update(model.objects.in_bulk(batch))
    now = timezone.now()
    fields = {"updated_at"}
    for pk, changed in changes.items():
        obj = objects[pk]
        for name, value in changed.items():
            setattr(obj, name, value)
        obj.updated_at = now
        fields |= set(changed)
    return list(objects.values()), sorted(fields)


@transaction.atomic
def apply_import(plan, user=None):
    """Write a valid plan in one transaction with bulk queries; recorded in the history as the user's."""
    if plan.errors:
        raise ValueError("An import plan with errors cannot be applied.")
    created = _bulk_create(
        Organisation, [Organisation(**values) for values in plan.organisations_to_create.values()], user
    )
    ids = {organisation.slug: organisation.pk for organisation in created}
    if any(pk is None for pk in ids.values()):
        ids = dict(Organisation.objects.filter(slug__in=list(ids)).values_list("slug", "id"))
    objects, fields = _load_for_update(Organisation, plan.organisations_to_update)
    _bulk_update(Organisation, objects, fields, user)
    needed = {s for s, f, _v in plan.memberships_to_create} | {f for s, f, _v in plan.memberships_to_create}
    missing = needed - set(ids)
    for batch in _batched(missing):
        ids.update(Organisation.objects.filter(slug__in=batch).values_list("slug", "id"))
    _bulk_create(
        Membership,
        [
            Membership(member_id=ids[member], federation_id=ids[federation], **values)
            for member, federation, values in plan.memberships_to_create
        ],
        user,
    )
    objects, fields = _load_for_update(Membership, plan.memberships_to_update)
    _bulk_update(Membership, objects, fields, user)
    # Bulk writes send no save signals: tell the figures cache the register changed.
    register_changed()
    return plan.counts()
