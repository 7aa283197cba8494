"""The membership rules every write path shares (members/validation.py)."""

import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from members import validation
from members.models import Membership
from members.validation import Period
from tests.factories import FederationFactory, MembershipFactory, OrganisationFactory

D = datetime.date


def test_two_new_periods_of_one_pair_that_share_a_day_clash():
    first = Period(1, 2, D(2010, 1, 1), D(2015, 1, 1), origin="row 1")
    second = Period(1, 2, D(2014, 12, 31), None, origin="row 2")
    assert validation.overlaps([second, first]) == [(second, first)]


def test_a_period_that_starts_the_day_another_ends_does_not_clash():
    first = Period(1, 2, D(2010, 1, 1), D(2015, 1, 1))
    second = Period(1, 2, D(2015, 1, 1), None)
    assert validation.overlaps([first, second]) == []


def test_periods_of_different_pairs_never_clash():
    assert validation.overlaps([Period(1, 2, D(2010, 1, 1), None), Period(1, 3, D(2010, 1, 1), None)]) == []


def test_a_period_inside_a_long_one_clashes_even_after_a_short_one():
    long = Period(1, 2, D(2000, 1, 1), D(2020, 1, 1), stored=True)
    short = Period(1, 2, D(2001, 1, 1), D(2002, 1, 1))
    late = Period(1, 2, D(2010, 1, 1), D(2011, 1, 1))
    clashes = validation.overlaps([long, short, late])
    assert (short, long) in clashes
    assert (late, long) in clashes


def test_stored_periods_leave_out_the_memberships_being_changed(db):
    membership = MembershipFactory(joined_on=D(2010, 1, 1))
    pair = (membership.member_id, membership.federation_id)
    assert [p.pk for p in validation.stored_periods([pair])] == [membership.pk]
    assert validation.stored_periods([pair], excluding=[membership.pk]) == []


def test_a_new_membership_that_closes_a_loop_through_stored_ones_is_found(db):
    top, middle, bottom = FederationFactory(), FederationFactory(), OrganisationFactory()
    MembershipFactory(member=middle, federation=top)
    MembershipFactory(member=bottom, federation=middle)
    looping = Period(top.pk, bottom.pk, D(2020, 1, 1), None)
    harmless = Period(bottom.pk, FederationFactory().pk, D(2020, 1, 1), None)
    assert validation.cycles([looping, harmless]) == [looping]


def test_two_new_memberships_that_make_a_loop_together_are_both_found(db):
    a, b = FederationFactory(), FederationFactory()
    one = Period(a.pk, b.pk, D(2020, 1, 1), None)
    other = Period(b.pk, a.pk, D(2020, 1, 1), None)
    assert validation.cycles([one, other]) == [one, other]


def test_new_organisations_known_by_a_key_take_part_in_the_loop_check(db):
    federation = FederationFactory()
    into_new = Period(federation.pk, "new-federation", D(2020, 1, 1), None)
    back = Period("new-federation", federation.pk, D(2020, 1, 1), None)
    assert validation.cycles([into_new, back]) == [into_new, back]


def test_a_membership_being_changed_does_not_count_against_itself(db):
    top, member = FederationFactory(), OrganisationFactory()
    stored = MembershipFactory(member=member, federation=top)
    # The stored membership turned around: member → top becomes top → member.
    turned = Period(top.pk, member.pk, D(2020, 1, 1), None, pk=stored.pk)
    assert validation.cycles([turned]) == [turned]
    assert validation.cycles([turned], excluding=[stored.pk]) == []


def test_the_loop_check_reads_only_above_the_new_memberships_in_one_query(db):
    top = FederationFactory()
    for _ in range(5):
        MembershipFactory(federation=top)  # below top: never read
    newcomer = OrganisationFactory()
    with CaptureQueriesContext(connection) as queries:
        assert validation.cycles([Period(newcomer.pk, top.pk, D(2020, 1, 1), None)]) == []
    assert len(queries) == 1


def test_membership_errors_checks_a_batch_against_the_register_and_each_other(db):
    existing = MembershipFactory(joined_on=D(2010, 1, 1), left_on=D(2012, 1, 1))
    member, federation = existing.member, existing.federation
    batch = [
        Membership(member=member, federation=federation, joined_on=D(2011, 1, 1), left_on=D(2011, 6, 1)),
        Membership(member=member, federation=federation, joined_on=D(2013, 1, 1)),
        Membership(member=member, federation=federation, joined_on=D(2014, 1, 1)),
        Membership(member=member, federation=member, joined_on=D(2014, 1, 1)),
        Membership(member=member, federation=federation, joined_on=D(2014, 1, 1), left_on=D(2013, 1, 1)),
    ]
    errors = validation.membership_errors(batch)
    assert {(index, field) for index, field, _message in errors} == {
        (0, "__all__"),
        (2, "__all__"),
        (3, "federation"),
        (4, "left_on"),
    }
    by_index = {index: message for index, _field, message in errors}
    assert "from 1 January 2010 until 1 January 2012" in by_index[0]
    assert "from 1 January 2013 with no end date" in by_index[2]


def test_stored_periods_of_more_pairs_than_one_query_takes_are_all_found(db):
    from django.db import connection

    from members.batches import batched

    memberships = [MembershipFactory(joined_on=D(2010, 1, 1)) for _ in range(3)]
    pairs = [(m.member_id, m.federation_id) for m in memberships]
    assert {p.pk for p in validation.stored_periods(pairs)} == {m.pk for m in memberships}
    # Every piece stays within what one query of this database takes.
    limit = connection.features.max_query_params
    many = [(n, n + 1) for n in range(25_000)]
    for batch in batched(many, "default", per_item=2, reserved=7):
        assert limit is None or len(batch) * 2 + 7 < limit
    assert sum(len(batch) for batch in batched(many, "default", per_item=2, reserved=7)) == len(many)
