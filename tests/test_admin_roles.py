"""The three staff roles that the first migration creates."""

import pytest
from django.contrib.auth.models import Group

from members import permissions

WRITES = ("add_", "change_", "delete_")


def _codenames(name):
    return set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))


@pytest.mark.django_db
def test_read_only_staff_may_view_everything_in_the_register_and_change_nothing():
    codenames = _codenames(permissions.READ_ONLY_STAFF)

    assert {
        "view_organisation",
        "view_membership",
        "view_declaredfigures",
        "view_historicalmembership",
    } <= codenames
    assert not [c for c in codenames if c.startswith(WRITES)]


@pytest.mark.django_db
def test_federation_editors_may_write_only_memberships_declarations_sources_requests_and_rounds():
    written = {c for c in _codenames(permissions.FEDERATION_EDITORS) if c.startswith(WRITES)}

    assert {c.split("_", 1)[1] for c in written} == {
        "membership",
        "declaredfigures",
        "source",
        "membershiprequest",
        "figuresround",
        "roundanswer",
    }
    # They open and run their federations' rounds (members/permissions.py); only administrators delete one.
    assert {c for c in written if c.endswith(("_figuresround", "_roundanswer"))} == {
        "add_figuresround",
        "change_figuresround",
        "change_roundanswer",
    }
    assert "delete_source" not in written
    # They ask the secretariat for a membership outside their scope; only administrators handle requests.
    assert {c for c in written if c.endswith("_membershiprequest")} == {"add_membershiprequest"}


@pytest.mark.django_db
def test_registry_administrators_may_manage_staff_and_unlock_sign_ins():
    codenames = _codenames(permissions.REGISTRY_ADMINISTRATORS)

    assert {"change_user", "change_group", "delete_accessattempt", "add_federationeditor"} <= codenames
    assert {"add_organisation", "delete_organisation", "change_admissionrule"} <= codenames


def test_an_editor_without_the_group_is_given_no_write_permission(staff_member, membership_factory):
    membership_in_cecop = membership_factory(federation__acronym="CECOP")
    editor = staff_member("read-only", [membership_in_cecop.federation])

    assert not permissions.can_edit_membership(editor, membership_in_cecop)
    assert not permissions.can_add_membership(editor)
