"""The counted figures kept materialised (members/counted.py) give the recursive query's totals.

members/network.py's figures_sql() is the reference: on random small
networks with random dated memberships and declarations, each written,
changed and deleted through the models as staff would, every root's
enterprises and employment on random days, in all and by country, are the
same read from the table as computed recursively, and a fresh computation
finds nothing to correct. Then each write path, one by one, keeps the table
exact, and a federation's page shows the totals that follow from it.
"""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from members import counted, network, stats
from members.models import CountedFigures, DeclaredFigures, Membership, Organisation
from members.network import reading_connection
from tests.concurrency import race
from tests.factories import (
    DeclaredFiguresFactory,
    FederationFactory,
    MembershipFactory,
    OrganisationFactory,
    SourceFactory,
)
from tests.test_admin_permissions import post_data_from
from tests.test_reach import SPAN, day, registers, write_register

D = datetime.date


def reference_totals(roots, on, group_by):
    """The totals the recursive query gives: {group: (enterprises, employment)}, declared ones only."""
    sql, params = network.figures_sql(roots, on)
    query = f"""{sql}
        SELECT {group_by},
            SUM(CASE WHEN n.enterprises_covered = 0 THEN n.enterprises END),
            SUM(CASE WHEN n.employment_covered = 0 THEN n.employment END)
        FROM network n JOIN {Organisation._meta.db_table} o ON o.id = n.organisation_id
        GROUP BY {group_by}
    """  # noqa: S608
    with reading_connection().cursor() as cursor:
        cursor.execute(query, params)
        return _declared(cursor.fetchall())


def _declared(rows):
    return {group: (e, p) for group, e, p in rows if e is not None or p is not None}


def materialised_totals(roots, on, group_by):
    return _declared(stats._network_totals(roots, on, group_by))


def assert_same_totals(roots, days):
    for on in days:
        for group_by in ("n.root_id", "o.country"):
            one_root = roots if group_by == "n.root_id" else roots[:1]
            assert materialised_totals(one_root, on, group_by) == reference_totals(one_root, on, group_by), (
                on,
                group_by,
            )


def exact():
    found = counted.differences()
    assert found == [], [str(d) for d in found]
    return True


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    register=registers(),
    days=st.lists(st.integers(-1, SPAN + 1).map(day), min_size=3, max_size=5),
    changes=st.lists(
        st.tuples(
            st.integers(0, 40),
            st.sampled_from(["delete", "end", "move", "redeclare", "undeclare", "include", "withdraw"]),
        ),
        max_size=8,
    ),
)
def test_the_counted_figures_are_the_recursive_totals_on_random_networks_and_days(register, days, changes):
    _size, _memberships, declarations = register
    with transaction.atomic():
        organisations, saved, declared = write_register(register, countries=("FR", "ES", "IT", ""))
        roots = [o.pk for o in organisations]
        # Besides those drawn, most organisations declare, every other one with its members
        # included, so that coverage is met in most examples.
        drawn = {(index, on) for index, on, *_rest in declarations}
        for index, organisation in enumerate(organisations):
            on = (index * 5) % SPAN
            if index % 3 != 2 and (index, on) not in drawn:
                declared.append(
                    DeclaredFigures.objects.create(
                        organisation=organisation,
                        year=2019,
                        declared_on=day(on),
                        enterprises=index + 1,
                        employment=10 * (index + 1),
                        includes_members=index % 2 == 0,
                    )
                )
        assert_same_totals(roots, days)
        for index, change in changes:
            if change in ("delete", "end", "move") and saved:
                membership = saved[index % len(saved)]
                if change == "delete":
                    membership.delete()
                    saved.remove(membership)
                elif change == "end" and membership.left_on is None:
                    membership.left_on = membership.joined_on + datetime.timedelta(days=index % 5 + 1)
                    membership.save(update_fields=["left_on"])
                elif change == "move" and membership.left_on is not None:
                    # Into another federation drawn before the member, if there is one free.
                    taken = {(s.federation_id, s.member_id) for s in saved}
                    member = roots.index(membership.member_id)
                    free = [f for f in range(member) if (roots[f], membership.member_id) not in taken]
                    if free:
                        membership.federation = organisations[free[index % len(free)]]
                        membership.save()
            elif declared:
                declaration = declared[index % len(declared)]
                if change == "redeclare":
                    declaration.employment = (declaration.employment or 0) + index + 1
                    declaration.save()
                elif change == "undeclare":
                    declaration.delete()
                    declared.remove(declaration)
                elif change == "include":
                    DeclaredFigures.objects.filter(pk=declaration.pk).update(includes_members=True)
                elif change == "withdraw":
                    declaration.includes_members = False
                    declaration.enterprises = None
                    declaration.save(update_fields=["includes_members", "enterprises"])
        assert_same_totals(roots, days)
        assert exact()
        transaction.set_rollback(True)


# Each write path keeps the table exact, and the totals read from it follow.


@pytest.fixture
def chain(db):
    """CICOPA ← CECOP ← a national federation ← a co-operative, each with a declaration of its own."""
    cicopa, cecop, national = (
        FederationFactory(acronym="CICOPA", country="BE"),
        FederationFactory(acronym="CECOP", country="BE"),
        FederationFactory(country="FR"),
    )
    coop = OrganisationFactory(country="FR")
    links = [
        MembershipFactory(member=cecop, federation=cicopa, category=Membership.Category.REGIONAL),
        MembershipFactory(member=national, federation=cecop, joined_on=D(2016, 1, 1)),
        MembershipFactory(member=coop, federation=national, joined_on=D(2017, 1, 1)),
    ]
    # The national federation's figures do not include its members': both add to CECOP's.
    declarations = [
        DeclaredFiguresFactory(
            organisation=national,
            declared_on=D(2018, 3, 1),
            enterprises=40,
            employment=900,
            includes_members=False,
        ),
        DeclaredFiguresFactory(organisation=coop, declared_on=D(2018, 5, 1), enterprises=1, employment=25),
    ]
    return cicopa, cecop, national, coop, links, declarations


@pytest.fixture
def administrator(client, staff_member):
    user = staff_member("administrator")
    client.force_login(user)
    return user


def totals(federation, on):
    figures = stats.federation_figures(federation, on)
    return figures.enterprises, figures.employment


def test_a_declaration_added_in_the_admin_counts_from_its_day(client, administrator, chain):
    _cicopa, cecop, _national, coop, _links, _declarations = chain
    url = reverse("admin:members_declaredfigures_add")
    data = {
        **post_data_from(client.get(url)),
        "organisation": coop.pk,
        "year": "2019",
        "declared_on": "2020-04-01",
        "employment": "30",
        "source": SourceFactory().pk,
    }

    response = client.post(url, data)

    assert response.status_code == 302, response.content[:3000]
    assert totals(cecop, D(2020, 3, 31)) == (41, 925)
    # The co-operative's latest declaration gives no enterprises: it adds none from then on.
    assert totals(cecop, D(2020, 4, 1)) == (40, 930)
    assert exact()


def test_ticking_includes_members_in_the_admin_stops_the_members_adding_to_the_totals_above(
    client, administrator, chain
):
    _cicopa, cecop, _national, _coop, _links, declarations = chain
    url = reverse("admin:members_declaredfigures_change", args=[declarations[0].pk])

    response = client.post(url, {**post_data_from(client.get(url)), "includes_members": "on"})

    assert response.status_code == 302, response.content[:3000]
    assert totals(cecop, D(2019, 1, 1)) == (40, 900)
    assert exact()


def test_declarations_deleted_in_the_admin_no_longer_count(client, administrator, chain):
    _cicopa, cecop, _national, _coop, _links, declarations = chain
    response = client.post(
        reverse("admin:members_declaredfigures_delete", args=[declarations[1].pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert totals(cecop, D(2019, 1, 1)) == (40, 900)
    data = {"action": "delete_selected", "_selected_action": [declarations[0].pk], "post": "yes"}

    response = client.post(reverse("admin:members_declaredfigures_changelist"), data)

    assert response.status_code == 302
    assert totals(cecop, D(2019, 1, 1)) == (None, None)
    assert CountedFigures.objects.count() == 0
    assert exact()


def test_a_revert_in_the_history_brings_the_declared_figures_back(client, administrator, chain):
    _cicopa, cecop, _national, _coop, _links, declarations = chain
    changed = declarations[1]
    original = changed.history.earliest("history_date")
    changed.employment = 1000
    changed.save()
    assert totals(cecop, D(2019, 1, 1)) == (41, 1900)
    url = reverse("admin:members_declaredfigures_simple_history", args=[changed.pk, original.history_id])

    response = client.post(url, post_data_from(client.get(url)))

    assert response.status_code == 302
    assert totals(cecop, D(2019, 1, 1)) == (41, 925)
    assert exact()


def test_declarations_updated_in_bulk_keep_the_table_exact(chain):
    _cicopa, cecop, _national, _coop, _links, declarations = chain

    DeclaredFigures.objects.filter(pk=declarations[0].pk).update(includes_members=True)

    assert totals(cecop, D(2019, 1, 1)) == (40, 900)
    assert exact()


def test_a_membership_ended_counts_its_members_figures_until_that_day_only(chain):
    _cicopa, cecop, _national, _coop, links, _declarations = chain
    links[2].left_on = D(2019, 1, 1)
    links[2].save()

    assert totals(cecop, D(2018, 12, 31)) == (41, 925)
    assert totals(cecop, D(2019, 1, 1)) == (40, 900)
    assert exact()


def test_a_federation_page_shows_the_totals_of_the_table(client, chain):
    _cicopa, cecop, _national, _coop, _links, _declarations = chain

    response = client.get(
        reverse("members:federation-detail", kwargs={"slug": cecop.slug}) + "?as_of=2019-01-01"
    )

    assert response.status_code == 200
    assert response.context["figures"].employment == 925


def test_the_verify_command_names_a_counted_row_gone_wrong_and_the_rebuild_mends_it(chain):
    _cicopa, cecop, _national, coop, _links, _declarations = chain
    CountedFigures.objects.filter(root=cecop, organisation=coop).update(employment=7)

    with pytest.raises(CommandError, match="counted figures"):
        call_command("network_reach", "--verify", stdout=io.StringIO())
    out = io.StringIO()
    call_command("network_reach", "--rebuild", "--verify", stdout=out)

    assert "counted figures match" in out.getvalue()
    assert totals(cecop, D(2019, 1, 1)) == (41, 925)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_declaration_and_a_membership_written_at_once_leave_the_table_exact():
    cecop, national, coop = FederationFactory(), FederationFactory(), OrganisationFactory()
    MembershipFactory(member=national, federation=cecop, joined_on=D(2016, 1, 1))
    DeclaredFiguresFactory(organisation=coop, declared_on=D(2018, 5, 1), enterprises=1, employment=25)

    def declare():
        with transaction.atomic():
            return DeclaredFiguresFactory(
                organisation=national, declared_on=D(2018, 3, 1), employment=900, includes_members=True
            )

    def join():
        with transaction.atomic():
            return MembershipFactory(member=coop, federation=national, joined_on=D(2017, 1, 1))

    # The national federation's declaration covers the co-operative only once it is a member:
    # whichever commits second must see the other's row.
    outcomes = race(declare, join)

    assert outcomes["second waited"] is True
    assert totals(cecop, D(2019, 1, 1)) == (10, 900)
    assert exact()


@pytest.mark.postgresql
def test_a_roots_totals_on_a_day_are_read_through_its_index(chain):
    cecop = chain[1]
    sql = f"""EXPLAIN SELECT SUM(enterprises), SUM(employment) FROM {CountedFigures._meta.db_table} n
        WHERE n.root_id IN (%s) AND n.start_on <= %s AND (n.end_on IS NULL OR n.end_on > %s)"""  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(sql, [cecop.pk, D(2019, 1, 1), D(2019, 1, 1)])
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "members_counted_root_on_idx" in plan
