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

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from members import counted, network, stats
from members.models import CountedFigures, DeclaredFigures, Membership, Organisation
from members.network import reading_connection
from tests.factories import FederationFactory, MembershipFactory, OrganisationFactory
from tests.test_reach import SPAN, day, registers

D = datetime.date


def reference_totals(roots, on, group_by):
    """The totals as the recursive query gives them: {group: (enterprises, employment)}, declared ones only."""
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
    size, memberships, declarations = register
    with transaction.atomic():
        countries = ["FR", "ES", "IT", ""]
        organisations = [FederationFactory(country=countries[i % 4]) for i in range(size)]
        roots = [o.pk for o in organisations]
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
