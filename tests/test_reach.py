"""The materialised network (members/reach.py) gives the recursive queries' answers, after every write.

The recursive queries of members/network.py are the reference: on random
small networks with random dated memberships, each written, changed and
deleted through the model as staff would, the table gives the same
organisations at the same shortest depth, and the same figures' rows, on
random days, and verify finds nothing to correct. Then each write path, one
by one, leaves the table exact.
"""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from members import csv_io, network, reach
from members.models import DeclaredFigures, Membership, NetworkReach, Organisation
from members.network import reading_connection
from tests.concurrency import race
from tests.factories import FederationFactory, MembershipFactory, OrganisationFactory
from tests.test_admin_permissions import post_data_from

D = datetime.date
FIRST = D(2020, 1, 1)
# Few days, so that periods often meet, overlap and touch.
SPAN = 24
CATEGORIES = [c for c, _label in Membership.Category.choices]


def day(offset):
    return FIRST + datetime.timedelta(days=offset)


@st.composite
def periods(draw):
    """One to three periods of a pair, one after the other (they never overlap), the last maybe open."""
    count = draw(st.integers(min_value=1, max_value=3))
    bounds = sorted(draw(st.sets(st.integers(0, SPAN), min_size=2 * count, max_size=2 * count)))
    spans = [(bounds[2 * i], bounds[2 * i + 1]) for i in range(count)]
    if draw(st.booleans()):
        spans[-1] = (spans[-1][0], None)
    return spans


@st.composite
def registers(draw):
    """A small DAG (organisations join only those drawn before them), dated memberships, declarations."""
    size = draw(st.integers(min_value=2, max_value=7))
    pairs = draw(
        st.sets(
            st.tuples(st.integers(0, size - 1), st.integers(0, size - 1)).filter(lambda p: p[0] < p[1]),
            min_size=1,
            max_size=12,
        )
    )
    memberships = [
        (federation, member, draw(st.sampled_from(CATEGORIES)), joined, left)
        for federation, member in sorted(pairs)
        for joined, left in draw(periods())
    ]
    # Declarations mostly of federations (which may cover their members), mostly including them.
    federations = sorted({f for f, _m in pairs})
    declarations = draw(
        st.lists(
            st.tuples(
                st.one_of(st.sampled_from(federations), st.integers(0, size - 1)),
                st.integers(0, SPAN),
                st.one_of(st.none(), st.integers(0, 50)),
                st.one_of(st.none(), st.integers(0, 500)),
                st.sampled_from([True, True, False]),
            ),
            min_size=1,
            max_size=6,
            unique_by=lambda d: (d[0], d[1]),
        )
    )
    return size, memberships, declarations


def write_register(register, countries=("",)):
    """Write a drawn register through the models; return (organisations, memberships, declarations)."""
    size, memberships, declarations = register
    organisations = [FederationFactory(country=countries[i % len(countries)]) for i in range(size)]
    saved = [
        Membership.objects.create(
            federation=organisations[f],
            member=organisations[m],
            category=category,
            joined_on=day(joined),
            left_on=None if left is None else day(left),
        )
        for f, m, category, joined, left in memberships
    ]
    declared = [
        DeclaredFigures.objects.create(
            organisation=organisations[index],
            year=2019,
            declared_on=day(on),
            enterprises=enterprises,
            employment=employment,
            member_organisations=1,
            includes_members=includes,
        )
        for index, on, enterprises, employment, includes in declarations
    ]
    return organisations, saved, declared


def reference_nearest(roots, on):
    return _rows(network.nearest_sql(roots, on), "root_id, organisation_id, depth")


def materialised_nearest(roots, on):
    return _rows(reach.nearest_sql(roots, on), "root_id, organisation_id, depth")


FIGURES = "root_id, organisation_id, enterprises_covered, employment_covered, enterprises, employment"


def _rows(sql_params, columns):
    sql, params = sql_params
    with reading_connection().cursor() as cursor:
        cursor.execute(f"{sql} SELECT {columns} FROM network", params)  # noqa: S608
        return sorted(cursor.fetchall())


def assert_same_as_the_reference(roots, days):
    for on in days:
        assert materialised_nearest(roots, on) == reference_nearest(roots, on), on
        assert _rows(reach.figures_sql(roots, on), FIGURES) == _rows(
            network.figures_sql(roots, on), FIGURES
        ), on


@pytest.mark.django_db
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    register=registers(),
    days=st.lists(st.integers(-1, SPAN + 1).map(day), min_size=3, max_size=5),
    changes=st.lists(st.tuples(st.integers(0, 40), st.sampled_from(["delete", "end", "open", "move"]))),
)
def test_the_materialised_network_is_the_recursive_one_on_random_networks_and_days(register, days, changes):
    with transaction.atomic():
        organisations, saved, _declared = write_register(register)
        roots = [o.pk for o in organisations]
        assert_same_as_the_reference(roots, days)
        # Then changes through the model, each kept in the table as it is written.
        for index, change in changes:
            if not saved:
                break
            membership = saved[index % len(saved)]
            if change == "delete":
                membership.delete()
                saved.remove(membership)
                continue
            if change == "end" and membership.left_on is None:
                membership.left_on = membership.joined_on + datetime.timedelta(days=index % 5 + 1)
            elif change == "open" and membership is max(
                (
                    s
                    for s in saved
                    if (s.federation_id, s.member_id) == (membership.federation_id, membership.member_id)
                ),
                key=lambda s: s.joined_on,
            ):
                membership.left_on = None
            elif change == "move":
                # Later, as far as its pair's next period allows: saved with its dates only.
                later = [
                    s.joined_on
                    for s in saved
                    if (s.federation_id, s.member_id) == (membership.federation_id, membership.member_id)
                    and s.joined_on > membership.joined_on
                ]
                if membership.left_on is not None and (not later or membership.left_on < min(later)):
                    membership.joined_on = membership.left_on - datetime.timedelta(days=1)
            membership.save(update_fields=["joined_on", "left_on"])
        assert_same_as_the_reference(roots, days)
        # Kept row by row as it was changed, the table is what computing it afresh gives.
        assert reach.differences() == []
        transaction.set_rollback(True)


# Each write path leaves the table exact.


def exact():
    found = reach.differences()
    assert found == [], [str(d) for d in found]
    return True


@pytest.fixture
def chain(db):
    """CICOPA ← CECOP ← a national federation ← a co-operative, and the co-operative straight into CECOP."""
    cicopa, cecop, national = (
        FederationFactory(acronym="CICOPA"),
        FederationFactory(acronym="CECOP"),
        FederationFactory(),
    )
    coop = OrganisationFactory()
    links = [
        MembershipFactory(member=cecop, federation=cicopa, category=Membership.Category.REGIONAL),
        MembershipFactory(member=national, federation=cecop, joined_on=D(2016, 1, 1)),
        MembershipFactory(member=coop, federation=national, joined_on=D(2017, 1, 1), left_on=D(2020, 1, 1)),
        MembershipFactory(member=coop, federation=cecop, joined_on=D(2019, 1, 1)),
    ]
    return cicopa, cecop, national, coop, links


def network_of(root, on):
    return {o: depth for _r, o, depth in materialised_nearest([root.pk], on)}


def test_a_chain_is_reached_at_each_depth_over_the_periods_of_its_paths(chain):
    cicopa, cecop, national, coop, _links = chain

    assert network_of(cicopa, D(2016, 6, 1)) == {cecop.pk: 1, national.pk: 2}
    assert network_of(cicopa, D(2018, 1, 1)) == {cecop.pk: 1, national.pk: 2, coop.pk: 3}
    # From 2019 the co-operative is also a direct member of CECOP: nearer.
    assert network_of(cicopa, D(2019, 6, 1)) == {cecop.pk: 1, national.pk: 2, coop.pk: 2}
    rows = set(
        NetworkReach.objects.filter(root=cicopa, organisation=coop).values_list("depth", "start_on", "end_on")
    )
    assert rows == {(3, D(2017, 1, 1), D(2020, 1, 1)), (2, D(2019, 1, 1), None)}
    assert exact()


def test_saving_only_a_memberships_dates_moves_it_in_the_network(chain):
    cicopa, _cecop, _national, coop, links = chain
    links[2].left_on = D(2018, 1, 1)
    links[2].save(update_fields=["left_on"])

    assert coop.pk not in network_of(cicopa, D(2018, 6, 1))
    assert exact()


def test_moving_a_membership_to_another_federation_leaves_both_networks_exact(chain):
    cicopa, _cecop, national, coop, links = chain
    other = FederationFactory()
    links[1].federation = other
    links[1].save()

    assert national.pk not in network_of(cicopa, D(2018, 1, 1))
    assert network_of(other, D(2018, 1, 1)) == {national.pk: 1, coop.pk: 2}
    assert exact()


def test_a_change_under_most_of_the_roots_networks_computes_their_rows_whole_and_exactly(chain, monkeypatch):
    cicopa, cecop, _national, coop, links = chain
    # Any number of organisations below the change counts as "most" here.
    monkeypatch.setattr(reach, "WHOLE_NETWORKS", 0)
    links[1].left_on = D(2018, 1, 1)
    links[1].save()

    assert network_of(cicopa, D(2018, 1, 1)) == {cecop.pk: 1}
    assert network_of(cicopa, D(2019, 6, 1)) == {cecop.pk: 1, coop.pk: 2}
    assert exact()


def test_deleting_and_updating_memberships_in_bulk_leave_the_table_exact(chain):
    cicopa, cecop, _national, _coop, links = chain
    Membership.objects.filter(pk=links[1].pk).update(joined_on=D(2018, 1, 1))
    assert exact()
    Membership.objects.filter(federation=cecop).delete()
    assert network_of(cicopa, D(2021, 1, 1)) == {cecop.pk: 1}
    assert exact()


@pytest.fixture
def administrator(client, staff_member):
    user = staff_member("administrator")
    client.force_login(user)
    return user


def test_a_membership_added_in_the_admin_is_in_the_network(client, administrator, chain):
    cicopa, cecop, _national, _coop, _links = chain
    newcomer = OrganisationFactory()
    url = reverse("admin:members_membership_add")
    data = {
        **post_data_from(client.get(url)),
        "member": newcomer.pk,
        "federation": cecop.pk,
        "category": "full",
        "joined_on": "2021-03-01",
    }

    response = client.post(url, data)

    assert response.status_code == 302, response.content[:3000]
    assert network_of(cicopa, D(2021, 3, 1))[newcomer.pk] == 2
    assert exact()


def test_a_membership_ended_in_the_admin_leaves_the_network_on_that_day(client, administrator, chain):
    cicopa, _cecop, national, _coop, links = chain
    url = reverse("admin:members_membership_change", args=[links[1].pk])

    response = client.post(url, {**post_data_from(client.get(url)), "left_on": "2018-01-01"})

    assert response.status_code == 302, response.content[:3000]
    assert national.pk in network_of(cicopa, D(2017, 12, 31))
    assert national.pk not in network_of(cicopa, D(2018, 1, 1))
    assert exact()


def test_a_membership_deleted_in_the_admin_leaves_the_network(client, administrator, chain):
    cicopa, _cecop, _national, _coop, links = chain

    response = client.post(reverse("admin:members_membership_delete", args=[links[1].pk]), {"post": "yes"})

    assert response.status_code == 302
    assert network_of(cicopa, D(2018, 1, 1)).keys() == {chain[1].pk}
    assert exact()


def test_memberships_deleted_together_in_the_admin_leave_the_network(client, administrator, chain):
    cicopa, cecop, _national, _coop, links = chain
    data = {"action": "delete_selected", "_selected_action": [links[1].pk, links[3].pk], "post": "yes"}

    response = client.post(reverse("admin:members_membership_changelist") + "?status=all", data)

    assert response.status_code == 302
    assert network_of(cicopa, D(2019, 6, 1)) == {cecop.pk: 1}
    assert exact()


def test_the_end_action_ends_the_selection_in_the_network(client, administrator, chain):
    cicopa, cecop, national, coop, links = chain
    data = {
        "action": "end_memberships",
        "_selected_action": [links[1].pk, links[3].pk],
        "apply": "1",
        "left_on": "2022-12-31",
        "left_precision": "end_year",
        "left_reason": "left",
    }

    response = client.post(reverse("admin:members_membership_changelist"), data)

    assert response.status_code == 302
    assert network_of(cicopa, D(2022, 12, 31)) == {cecop.pk: 1, national.pk: 2, coop.pk: 2}
    assert network_of(cicopa, D(2023, 1, 1)) == {cecop.pk: 1}
    assert exact()


def test_a_membership_deleted_on_the_organisations_page_and_then_the_organisation_leave_it_exact(
    client, administrator, chain
):
    cicopa, _cecop, _national, coop, _links = chain
    url = reverse("admin:members_organisation_change", args=[coop.pk])
    data = post_data_from(client.get(url))
    # Every membership row of the co-operative's page marked for deletion.
    for key in [k for k in data if k.endswith("-id") and k.startswith("memberships")]:
        data[key.replace("-id", "-DELETE")] = "on"

    response = client.post(url, data)

    assert response.status_code == 302, response.content[:3000]
    assert coop.pk not in network_of(cicopa, D(2019, 6, 1))
    assert exact()
    response = client.post(reverse("admin:members_organisation_delete", args=[coop.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert exact()


def test_a_revert_in_the_history_puts_the_membership_back_in_the_network(client, administrator, chain):
    cicopa, _cecop, national, _coop, links = chain
    moved = links[1]
    original = moved.history.earliest("history_date")
    moved.federation = FederationFactory()
    moved.save()
    assert national.pk not in network_of(cicopa, D(2018, 1, 1))
    url = reverse("admin:members_membership_simple_history", args=[moved.pk, original.history_id])

    response = client.post(url, post_data_from(client.get(url)))

    assert response.status_code == 302
    assert network_of(cicopa, D(2018, 1, 1))[national.pk] == 2
    assert exact()


def test_an_import_puts_its_memberships_in_the_network(chain):
    cicopa, _cecop, national, coop, _links = chain
    data = (
        "slug,name,kind,federation,joined_on\n"
        f"brand-new,Brand new co-op,cooperative,{national.slug},2018-01-01\n"
        f"{coop.slug},{coop.name},{coop.kind},{cicopa.slug},2021-01-01\n"
    ).encode()
    plan = csv_io.plan_import(data)
    assert plan.errors == []

    csv_io.apply_import(plan)

    new = Organisation.objects.get(slug="brand-new")
    assert network_of(cicopa, D(2021, 1, 1))[new.pk] == 3
    assert network_of(cicopa, D(2021, 1, 1))[coop.pk] == 1
    assert exact()


def test_the_verify_command_names_a_row_gone_wrong_and_the_rebuild_mends_it(chain):
    cicopa, _cecop, _national, coop, _links = chain
    NetworkReach.objects.filter(root=cicopa, organisation=coop, depth=3).update(end_on=D(2021, 1, 1))

    with pytest.raises(CommandError):
        call_command("network_reach", "--verify", stdout=io.StringIO())
    out = io.StringIO()
    call_command("network_reach", "--rebuild", "--verify", stdout=out)

    assert "matches" in out.getvalue()
    assert exact()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_writers_leave_the_network_exact():
    cicopa, cecop = FederationFactory(), FederationFactory()
    national, coop = FederationFactory(), OrganisationFactory()
    MembershipFactory(member=cecop, federation=cicopa)
    MembershipFactory(member=national, federation=cecop)

    def add(member, federation):
        def write():
            with transaction.atomic():
                return MembershipFactory(member=member, federation=federation, joined_on=D(2020, 1, 1))

        return write

    # The first adds the co-operative below the national federation; the second, while the
    # first's transaction is open, links the national federation straight to CICOPA: the row
    # CICOPA → co-operative at depth 2 needs both.
    outcomes = race(add(coop, national), add(national, cicopa))

    assert isinstance(outcomes["first"], Membership) and isinstance(outcomes["second"], Membership)
    assert outcomes["second waited"] is True
    assert network_of(cicopa, D(2020, 1, 1))[coop.pk] == 2
    assert exact()


@pytest.mark.postgresql
def test_a_roots_network_on_a_day_is_read_through_its_index(chain):
    cicopa = chain[0]
    sql, params = reach.nearest_sql([cicopa.pk], D(2019, 6, 1))
    with connection.cursor() as cursor:
        # Tiny tables favour a sequential scan; forbidding it shows whether the index serves.
        # (Index-only once vacuumed: a test's transaction cannot vacuum.)
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql} SELECT * FROM network", params)  # noqa: S608
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET ALL")

    assert "using members_reach_root_on_idx" in plan
