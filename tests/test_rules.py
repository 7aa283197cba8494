"""The register's rules (members/rules.py) give one answer in each of their forms."""

import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from members import rules
from members.models import DeclaredFigures, Membership, Organisation
from members.network import reading_connection
from tests.factories import MembershipFactory

D = datetime.date

days = st.dates(min_value=D(2015, 1, 1), max_value=D(2015, 1, 12))


@st.composite
def periods(draw):
    """Up to six (joined_on, left_on or None) periods with left after joined, overlapping freely."""
    result = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        joined = draw(days)
        length = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=5)))
        result.append((joined, None if length is None else joined + datetime.timedelta(days=length)))
    return result


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spans=periods(), day=days)
def test_current_on_a_day_is_the_same_in_the_orm_in_sql_and_in_python(spans, day):
    Membership.objects.all().delete()
    created = []
    for joined, left in spans:
        # A pair of its own for each period, so no two periods of a pair overlap.
        created.append(MembershipFactory(joined_on=joined, left_on=left))
    by_orm = set(Membership.objects.current_on(day).values_list("pk", flat=True))
    table = Membership._meta.db_table
    connection = reading_connection()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} m WHERE {rules.current_sql('m')}",  # noqa: S608
            [connection.ops.adapt_datefield_value(day)] * 2,
        )
        by_sql = {row[0] for row in cursor.fetchall()}
    by_python = {m.pk for m in created if rules.is_current(m.joined_on, m.left_on, day)}
    assert by_orm == by_sql == by_python
    ended_by_orm = set(Membership.objects.ended_by(day).values_list("pk", flat=True))
    assert ended_by_orm == {m.pk for m in created if rules.has_ended(m.left_on, day)}


def test_a_member_counts_on_the_day_it_joins_and_not_on_the_day_it_leaves():
    assert rules.is_current(D(2017, 1, 1), D(2018, 1, 1), D(2017, 1, 1))
    assert not rules.is_current(D(2017, 1, 1), D(2018, 1, 1), D(2018, 1, 1))
    assert not rules.is_current(D(2017, 1, 1), None, D(2016, 12, 31))


def test_current_q_reaches_memberships_through_a_prefix(db):
    membership = MembershipFactory(joined_on=D(2017, 1, 1), left_on=D(2018, 1, 1))
    members_then = Organisation.objects.filter(rules.current_q(D(2017, 6, 1), prefix="memberships__"))
    members_later = Organisation.objects.filter(rules.current_q(D(2018, 6, 1), prefix="memberships__"))
    assert list(members_then) == [membership.member]
    assert list(members_later) == []


def test_a_former_member_has_left_and_is_not_back_in_the_federation(db):
    left = MembershipFactory(joined_on=D(2010, 1, 1), left_on=D(2012, 1, 1))
    back = MembershipFactory(joined_on=D(2010, 1, 1), left_on=D(2012, 1, 1))
    MembershipFactory(member=back.member, federation=back.federation, joined_on=D(2015, 1, 1))
    elsewhere = MembershipFactory(joined_on=D(2010, 1, 1), left_on=D(2012, 1, 1))
    MembershipFactory(member=elsewhere.member, joined_on=D(2011, 1, 1))
    day = D(2020, 1, 1)
    former_anywhere = rules.former_memberships(Membership.objects.all(), day)
    assert set(former_anywhere.values_list("member_id", flat=True)) == {left.member_id}
    former_of_its_federation = rules.former_memberships(
        Membership.objects.filter(federation=elsewhere.federation), day, elsewhere.federation
    )
    assert list(former_of_its_federation.values_list("member_id", flat=True)) == [elsewhere.member_id]


def test_a_regional_link_does_not_keep_an_organisation_that_left_from_being_a_former_member(db):
    left = MembershipFactory(joined_on=D(2010, 1, 1), left_on=D(2012, 1, 1))
    MembershipFactory(member=left.member, joined_on=D(2013, 1, 1), category=Membership.Category.REGIONAL)
    former = rules.former_memberships(Membership.objects.counted(), D(2020, 1, 1))
    assert list(former.values_list("member_id", flat=True)) == [left.member_id]


def test_a_former_observer_who_is_now_a_full_member_is_not_a_former_member(db):
    observer = MembershipFactory(
        joined_on=D(2010, 1, 1), left_on=D(2012, 1, 1), category=Membership.Category.OBSERVER
    )
    MembershipFactory(member=observer.member, federation=observer.federation, joined_on=D(2012, 1, 1))
    observers = Membership.objects.filter(category=Membership.Category.OBSERVER)
    assert not rules.former_memberships(observers, D(2020, 1, 1), observer.federation).exists()


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Crédit Coopératif", "credit cooperatif"), ("CÔTE D'IVOIRE", "cote d'ivoire"), ("Straße", "straße")],
)
def test_folding_lower_cases_and_drops_accents(text, folded):
    assert rules.fold(text) == folded


def test_folding_in_the_database_matches_folding_in_python(db):
    from django.db.models import Value

    names = ["Crédit Coopératif", "ŁÓDŹ Spółdzielnia", "Ñandú", "Straße", "ÆØÅ"]
    folded = Organisation.objects.annotate(
        **{f"n{i}": rules.Folded(Value(name)) for i, name in enumerate(names)}
    )
    MembershipFactory()
    row = folded.values(*[f"n{i}" for i in range(len(names))]).first()
    assert [row[f"n{i}"] for i in range(len(names))] == [rules.fold(name) for name in names]


def test_the_year_messages_name_the_year_bounds():
    for message in (rules.YEAR_RANGE_MESSAGE, rules.FOUNDED_RANGE_MESSAGE):
        assert str(rules.YEAR_MIN) in str(message)
        assert str(rules.YEAR_MAX) in str(message)
    assert (rules.FIRST_DAY.year, rules.LAST_DAY.year) == (rules.YEAR_MIN, rules.YEAR_MAX)


def test_validation_and_the_database_refuse_years_outside_the_bounds(db):
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError, transaction

    organisation = MembershipFactory().member
    for year in (rules.YEAR_MIN - 1, rules.YEAR_MAX + 1):
        declaration = DeclaredFigures(
            organisation=organisation, year=year, declared_on=D(2017, 1, 1), employment=1
        )
        with pytest.raises(ValidationError):
            declaration.full_clean()
        with pytest.raises(IntegrityError), transaction.atomic():
            declaration.save()
    for year in (rules.YEAR_MIN, rules.YEAR_MAX):
        within = DeclaredFigures(
            organisation=organisation, year=year, declared_on=D(2100, 12, 31), employment=1
        )
        within.full_clean()


def test_folding_in_the_database_matches_fold_for_every_assigned_character_of_planes_0_to_2(db):
    import unicodedata

    from django.db.models import Value

    from members.models import Region

    characters = [
        chr(code)
        for code in range(0x20, 0x30000)
        if unicodedata.category(chr(code)) not in ("Cn", "Cs", "Co", "Cc")
    ]
    # Spaced, so that each character is folded in the same context in both (a Σ alone is σ).
    texts = [" ".join(characters[start : start + 4000]) for start in range(0, len(characters), 4000)]
    folded = Region.objects.annotate(
        **{f"t{i}": rules.Folded(Value(text)) for i, text in enumerate(texts)}
    ).values(*[f"t{i}" for i in range(len(texts))])[0]
    for i, text in enumerate(texts):
        assert folded[f"t{i}"] == rules.fold(text), f"characters {text[0]!r} to {text[-1]!r}"


def test_a_final_sigma_folds_alike_in_the_database_and_in_python(db):
    from django.db.models import Value

    from members.models import Region

    names = [
        "ΟΔΟΣ ΣΟΦΙΑ",
        "Liên minh Hợp tác xã Việt Nam",
        "Кооперативний Союз",
        "synthétique Nº 1",
        "ﬁnance",
    ]
    row = Region.objects.annotate(**{f"n{i}": rules.Folded(Value(n)) for i, n in enumerate(names)}).values(
        *[f"n{i}" for i in range(len(names))]
    )[0]
    assert [row[f"n{i}"] for i in range(len(names))] == [rules.fold(name) for name in names]
