"""No two writes, however close in time, close a loop in the network that neither would close alone.

A cycle is made of several rows, so no constraint can refuse it: the check is
made in the transaction of each write under one lock (members/validation.py's
lock_network). On SQLite the database itself lets one connection write at a
time; the tests that need two real concurrent transactions run on PostgreSQL,
each side in its own thread with its own connection. The others check, on
both databases, that every write path checks again what it writes.
"""

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse

from members import csv_io
from members.models import Membership, Organisation
from members.validation import cycle_error
from tests.concurrency import race
from tests.factories import FederationFactory, MembershipFactory, OrganisationFactory

D = datetime.date


def make_file(member, federation, joined_on="2024-01-01"):
    """A CSV file adding member → federation, both already in the register."""
    return (
        "slug,name,kind,federation,joined_on\n"
        f"{member.slug},{member.name},{member.kind},{federation.slug},{joined_on}\n"
    ).encode()


def refusal(member, federation):
    """The message refusing member → federation as a cycle, as staff read it."""
    return cycle_error(member.short_name, federation.short_name)


def pair_of_federations():
    cecop = FederationFactory(slug="cecop", name="CECOP – CICOPA Europe", acronym="CECOP")
    trial = FederationFactory(slug="trial-x", name="Trial federation", acronym="TRIAL")
    return cecop, trial


def between(cecop, trial):
    """The memberships stored between the two, as (member slug, federation slug)."""
    return set(
        Membership.objects.filter(member__in=[cecop, trial], federation__in=[cecop, trial]).values_list(
            "member__slug", "federation__slug"
        )
    )


# Every write path checks again what it writes (both databases)


def test_saving_a_membership_that_closes_a_loop_is_refused_even_without_clean(db):
    cecop, trial = pair_of_federations()
    MembershipFactory(member=cecop, federation=trial)

    with pytest.raises(ValidationError) as refused:
        Membership(member=trial, federation=cecop, joined_on=D(2024, 1, 1)).save()

    assert refused.value.message_dict == {"federation": [refusal(trial, cecop)]}
    assert between(cecop, trial) == {("cecop", "trial-x")}


def test_moving_a_stored_membership_onto_a_loop_is_refused_on_save(db):
    cecop, trial = pair_of_federations()
    MembershipFactory(member=cecop, federation=trial)
    moved = MembershipFactory(member=OrganisationFactory(), federation=cecop)

    moved.member = trial
    with pytest.raises(ValidationError):
        moved.save()


def test_saving_only_a_memberships_notes_does_not_read_the_network(db, django_assert_num_queries):
    membership = MembershipFactory()
    membership.source_note = "Listed in the annual report."

    # 1. the UPDATE of the row; 2. its history row. No lock, no walk up the network. (Its dates
    # move it in the materialised network: tests/test_reach.py.)
    with django_assert_num_queries(2):
        membership.save(update_fields=["source_note"])


def test_an_import_planned_before_an_opposite_membership_was_saved_is_refused_when_applied(db):
    cecop, trial = pair_of_federations()
    plan = csv_io.plan_import(make_file(cecop, trial))
    assert plan.errors == []
    # Between the plan and its writes, someone else adds the opposite membership.
    MembershipFactory(member=trial, federation=cecop)

    with pytest.raises(getattr(csv_io, "StalePlanError", ZeroDivisionError)) as refused:
        csv_io.apply_import(plan)

    [error] = refused.value.errors
    assert (error.row, error.column, error.message) == (2, "federation", refusal(cecop, trial))
    assert between(cecop, trial) == {("trial-x", "cecop")}


def test_an_import_whose_plan_went_stale_creates_none_of_its_organisations(db):
    cecop, trial = pair_of_federations()
    data = (
        "slug,name,kind,federation,joined_on\n"
        "brand-new,Brand new co-op,cooperative,cecop,2024-01-01\n"
        f"cecop,{cecop.name},{cecop.kind},trial-x,2024-01-01\n"
    ).encode()
    plan = csv_io.plan_import(data)
    MembershipFactory(member=trial, federation=cecop)

    with pytest.raises(getattr(csv_io, "StalePlanError", ZeroDivisionError)):
        csv_io.apply_import(plan)

    assert not Organisation.objects.filter(slug="brand-new").exists()


def test_the_import_command_reports_a_plan_gone_stale_and_imports_nothing(db, tmp_path, monkeypatch):
    from members.management.commands import import_members

    cecop, trial = pair_of_federations()
    path = tmp_path / "import.csv"
    path.write_bytes(make_file(cecop, trial))
    planned = import_members.plan_import

    def plan_then_someone_else_writes(data):
        plan = planned(data)
        MembershipFactory(member=trial, federation=cecop)
        return plan

    monkeypatch.setattr(import_members, "plan_import", plan_then_someone_else_writes)
    err = io.StringIO()

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_members", str(path), stdout=io.StringIO(), stderr=err)

    assert refusal(cecop, trial) in err.getvalue()
    assert between(cecop, trial) == {("trial-x", "cecop")}


def test_the_admins_import_shows_the_cycle_when_the_register_changes_during_the_confirmation(
    client, db, django_user_model, monkeypatch, immediate_tasks
):
    from members.csv_io import jobs

    cecop, trial = pair_of_federations()
    owner = django_user_model.objects.create_superuser("owner", "owner@example.org", "pw")
    client.force_login(owner)
    upload = io.BytesIO(make_file(cecop, trial))
    upload.name = "members.csv"
    url = reverse("admin:members_organisation_import_csv")
    preview = client.post(url, {"file": upload})
    planned = jobs.plan_import

    def plan_then_someone_else_writes(data, options=None):
        plan = planned(data, options)
        MembershipFactory(member=trial, federation=cecop)
        return plan

    monkeypatch.setattr(jobs, "plan_import", plan_then_someone_else_writes)

    response = client.post(url, {"confirm": "1", "sha256": preview.context["sha256"]}, follow=True)

    assert response.status_code == 200
    assert [error["message"] for error in response.context["job"].errors] == [refusal(cecop, trial)]
    assert refusal(cecop, trial) in response.text
    assert between(cecop, trial) == {("trial-x", "cecop")}


# Two real concurrent transactions (PostgreSQL)

concurrent = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("clean_first", [True, False], ids=["clean then save", "save alone"])
def test_of_two_concurrent_opposite_memberships_the_second_is_refused_with_the_cycle_message(clean_first):
    cecop, trial = pair_of_federations()

    def add(member: Organisation, federation: Organisation) -> Membership:
        membership = Membership(member=member, federation=federation, joined_on=D(2024, 1, 1))
        with transaction.atomic():  # as the admin saves: validation and write in one transaction
            if clean_first:
                membership.full_clean()
            membership.save()
        return membership

    outcomes = race(lambda: add(cecop, trial), lambda: add(trial, cecop))

    assert isinstance(outcomes["first"], Membership)
    assert isinstance(outcomes["second"], ValidationError)
    assert outcomes["second"].message_dict == {"federation": [refusal(trial, cecop)]}
    assert outcomes["second waited"] is True
    assert between(cecop, trial) == {("cecop", "trial-x")}


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_member_of_staff_saving_the_opposite_membership_at_the_same_moment_is_shown_the_cycle(
    staff_member,
):
    cecop, trial = pair_of_federations()
    editor = staff_member("editor", [cecop])
    browser = Client()
    browser.force_login(editor)

    def add_in_the_admin() -> object:
        return browser.post(
            reverse("admin:members_membership_add"),
            {
                "member": trial.pk,
                "federation": cecop.pk,
                "category": "full",
                "joined_on": "2024-01-01",
                "joined_precision": "day",
                "left_precision": "day",
            },
        )

    outcomes = race(
        lambda: Membership.objects.create(member=cecop, federation=trial, joined_on=D(2024, 1, 1)),
        add_in_the_admin,
    )

    response = outcomes["second"]
    assert response.status_code == 200, getattr(response, "content", response)
    assert response.context["adminform"].form.errors == {"federation": [refusal(trial, cecop)]}
    assert outcomes["second waited"] is True
    assert between(cecop, trial) == {("cecop", "trial-x")}


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_of_two_concurrent_imports_of_opposite_memberships_the_second_is_refused_with_the_cycle_message():
    cecop, trial = pair_of_federations()
    # Both files are checked before either is written, as two imports started 1.5 s apart are.
    first_plan = csv_io.plan_import(make_file(cecop, trial))
    second_plan = csv_io.plan_import(make_file(trial, cecop))
    assert first_plan.errors == second_plan.errors == []

    outcomes = race(lambda: csv_io.apply_import(first_plan), lambda: csv_io.apply_import(second_plan))

    assert outcomes["first"] == first_plan.counts()
    assert isinstance(outcomes["second"], getattr(csv_io, "StalePlanError", ZeroDivisionError))
    [error] = outcomes["second"].errors
    assert (error.row, error.column, error.message) == (2, "federation", refusal(trial, cecop))
    assert outcomes["second waited"] is True
    assert between(cecop, trial) == {("cecop", "trial-x")}
