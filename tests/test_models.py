"""The domain's rules: each database constraint and its validation message."""

import datetime
import itertools

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from members.dates import DatePrecision, format_at_precision
from members.models import AdmissionRule, DeclaredFigures, Membership, Organisation

D = datetime.date


def validation_messages(excinfo):
    error = excinfo.value
    if hasattr(error, "message_dict"):
        return [m for messages in error.message_dict.values() for m in messages]
    return error.messages


# --- Membership: not a member of itself ------------------------------------------


def test_database_refuses_an_organisation_as_its_own_member(organisation_factory):
    organisation = organisation_factory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(member=organisation, federation=organisation, joined_on=D(2020, 1, 1))


def test_validation_explains_an_organisation_cannot_join_itself(organisation_factory):
    organisation = organisation_factory()
    membership = Membership(member=organisation, federation=organisation, joined_on=D(2020, 1, 1))
    with pytest.raises(ValidationError) as excinfo:
        membership.full_clean()
    assert "An organisation cannot be a member of itself." in validation_messages(excinfo)


# --- Membership: ends after it starts ----------------------------------------------


@pytest.mark.parametrize("left_on", [D(2020, 1, 1), D(2019, 12, 31)])
def test_database_refuses_a_membership_ending_on_or_before_its_start(membership_factory, left_on):
    with pytest.raises(IntegrityError), transaction.atomic():
        membership_factory(joined_on=D(2020, 1, 1), left_on=left_on)


def test_validation_explains_a_membership_must_end_after_it_starts(organisation_factory):
    member, federation = organisation_factory.create_batch(2)
    membership = Membership(
        member=member,
        federation=federation,
        joined_on=D(2020, 1, 1),
        left_on=D(2019, 6, 1),
    )
    with pytest.raises(ValidationError) as excinfo:
        membership.full_clean()
    assert excinfo.value.message_dict["left_on"] == ["A membership must end after the day it starts."]


# --- Membership: periods of a pair never overlap -----------------------------------


def test_validation_refuses_overlapping_periods_of_the_same_pair(membership_factory):
    first = membership_factory(joined_on=D(2010, 1, 1), left_on=D(2015, 1, 1))
    second = Membership(member=first.member, federation=first.federation, joined_on=D(2014, 6, 1))
    with pytest.raises(ValidationError) as excinfo:
        second.full_clean()
    (message,) = validation_messages(excinfo)
    # Both periods are named: the one refused and the one it overlaps.
    assert "from 1 June 2014 with no end date" in message
    assert "already a member from 1 January 2010 until 1 January 2015" in message
    assert "cannot overlap" in message


def test_validation_refuses_a_second_open_ended_period(membership_factory):
    first = membership_factory(joined_on=D(2010, 1, 1))
    later = Membership(member=first.member, federation=first.federation, joined_on=D(2020, 1, 1))
    with pytest.raises(ValidationError) as excinfo:
        later.full_clean()
    assert "with no end date" in validation_messages(excinfo)[0]


def test_rejoining_on_the_day_a_member_left_is_allowed(membership_factory):
    first = membership_factory(joined_on=D(2010, 1, 1), left_on=D(2015, 1, 1))
    rejoined = Membership(member=first.member, federation=first.federation, joined_on=D(2015, 1, 1))
    rejoined.full_clean()
    rejoined.save()
    assert Membership.objects.filter(member=first.member).count() == 2


def test_editing_a_membership_does_not_clash_with_itself(membership_factory):
    membership = membership_factory(joined_on=D(2010, 1, 1))
    membership.left_on = D(2012, 1, 1)
    membership.full_clean()


@pytest.mark.postgresql
def test_postgresql_refuses_overlapping_periods_even_without_validation(membership_factory):
    first = membership_factory(joined_on=D(2010, 1, 1), left_on=D(2015, 1, 1))
    with pytest.raises(IntegrityError, match="members_membership_no_overlap"), transaction.atomic():
        Membership.objects.create(member=first.member, federation=first.federation, joined_on=D(2012, 1, 1))


# --- Membership: no cycles ---------------------------------------------------------


def test_validation_refuses_a_cycle_three_levels_deep(organisation_factory, membership_factory):
    a, b, c = organisation_factory.create_batch(3)
    membership_factory(member=a, federation=b)
    membership_factory(member=b, federation=c)
    closing = Membership(member=c, federation=a, joined_on=D(2020, 1, 1))
    with pytest.raises(ValidationError) as excinfo:
        closing.full_clean()
    (message,) = validation_messages(excinfo)
    assert f"{c.short_name} cannot join {a.short_name}" in message
    assert "no organisation can be a member of its own members" in message


def test_validation_refuses_a_cycle_four_levels_deep(organisation_factory, membership_factory):
    chain = organisation_factory.create_batch(4)
    for lower, upper in itertools.pairwise(chain):
        membership_factory(member=lower, federation=upper)
    with pytest.raises(ValidationError):
        Membership(member=chain[-1], federation=chain[0], joined_on=D(2020, 1, 1)).full_clean()


def test_joining_two_federations_that_share_a_parent_is_not_a_cycle(organisation_factory, membership_factory):
    top, left, right, member = organisation_factory.create_batch(4)
    membership_factory(member=left, federation=top)
    membership_factory(member=right, federation=top)
    membership_factory(member=member, federation=left)
    Membership(member=member, federation=right, joined_on=D(2020, 1, 1)).full_clean()


# --- Dates known to a period -------------------------------------------------------


@pytest.mark.parametrize(
    ("precision", "entered", "stored"),
    [
        (DatePrecision.DAY, D(2017, 5, 17), D(2017, 5, 17)),
        (DatePrecision.MONTH, D(2017, 5, 17), D(2017, 5, 1)),
        (DatePrecision.HALF_YEAR, D(2017, 5, 17), D(2017, 1, 1)),
        (DatePrecision.HALF_YEAR, D(2017, 9, 30), D(2017, 7, 1)),
        (DatePrecision.YEAR, D(2017, 5, 17), D(2017, 1, 1)),
        (DatePrecision.BY, D(2017, 6, 21), D(2017, 6, 21)),
    ],
)
def test_a_date_known_to_a_period_is_stored_as_the_periods_first_day(
    organisation_factory, precision, entered, stored
):
    member, federation = organisation_factory.create_batch(2)
    membership = Membership(
        member=member,
        federation=federation,
        joined_on=entered,
        joined_precision=precision,
    )
    membership.full_clean()
    assert membership.joined_on == stored


@pytest.mark.parametrize(
    ("language", "precision", "shown"),
    [
        ("en", DatePrecision.DAY, "1 May 2017"),
        ("en", DatePrecision.MONTH, "May 2017"),
        ("en", DatePrecision.HALF_YEAR, "first half of 2017"),
        ("en", DatePrecision.YEAR, "2017"),
        ("en", DatePrecision.BY, "by 1 May 2017"),
        ("fr", DatePrecision.DAY, "1er mai 2017"),  # French writes the first of a month 1er
        ("fr", DatePrecision.MONTH, "mai 2017"),
        ("es", DatePrecision.DAY, "1 de mayo de 2017"),
    ],
)
def test_a_date_is_shown_at_its_precision_in_the_readers_language(language, precision, shown):
    with translation.override(language):
        assert format_at_precision(D(2017, 5, 1), precision) == shown


# --- Declared figures --------------------------------------------------------------


def test_database_refuses_two_declarations_of_one_organisation_on_one_day(declaration_factory):
    first = declaration_factory()
    with pytest.raises(IntegrityError), transaction.atomic():
        declaration_factory(organisation=first.organisation, declared_on=first.declared_on)


def test_validation_explains_a_duplicate_declaration(declaration_factory):
    first = declaration_factory()
    duplicate = DeclaredFigures(
        organisation=first.organisation, declared_on=first.declared_on, year=2016, enterprises=1
    )
    with pytest.raises(ValidationError) as excinfo:
        duplicate.full_clean()
    assert "This organisation already has a declaration on that date." in validation_messages(excinfo)


def test_database_refuses_a_declaration_without_any_figure(organisation_factory):
    with pytest.raises(IntegrityError), transaction.atomic():
        DeclaredFigures.objects.create(
            organisation=organisation_factory(), year=2016, declared_on=D(2016, 1, 1)
        )


def test_validation_explains_a_declaration_needs_a_figure(organisation_factory):
    empty = DeclaredFigures(organisation=organisation_factory(), year=2016, declared_on=D(2016, 1, 1))
    with pytest.raises(ValidationError) as excinfo:
        empty.full_clean()
    assert "Enter at least one figure." in validation_messages(excinfo)


def test_database_refuses_a_negative_figure(organisation_factory):
    with pytest.raises(IntegrityError), transaction.atomic():
        DeclaredFigures.objects.create(
            organisation=organisation_factory(), year=2016, declared_on=D(2016, 1, 1), employment=-5
        )


def test_validation_refuses_figures_for_a_year_after_their_declaration(organisation_factory):
    early = DeclaredFigures(
        organisation=organisation_factory(), year=2018, declared_on=D(2017, 6, 21), enterprises=1
    )
    with pytest.raises(ValidationError) as excinfo:
        early.full_clean()
    assert excinfo.value.message_dict["year"] == [
        "Figures cannot describe a year after the date they were declared."
    ]


@pytest.mark.parametrize("year", [1799, 2101])
def test_database_refuses_an_implausible_declaration_year(organisation_factory, year):
    with pytest.raises(IntegrityError), transaction.atomic():
        DeclaredFigures.objects.create(
            organisation=organisation_factory(), year=year, declared_on=D(2016, 1, 1), enterprises=1
        )


# --- Organisations -----------------------------------------------------------------


def test_database_refuses_an_implausible_founding_year(organisation_factory):
    with pytest.raises(IntegrityError), transaction.atomic():
        organisation_factory(founded=1200)


def test_validation_explains_an_implausible_founding_year(organisation_factory):
    organisation = organisation_factory.build(founded=3000)
    with pytest.raises(ValidationError) as excinfo:
        organisation.full_clean()
    assert "The year founded must be between 1800 and 2100." in validation_messages(excinfo)


def test_an_organisation_without_slug_gets_one_from_its_acronym(db):
    organisation = Organisation.objects.create(name="Crédit Coopératif", acronym="", kind="bank")
    assert organisation.slug == "credit-cooperatif"


# --- Admission rules ---------------------------------------------------------------


def test_database_refuses_a_rule_requiring_the_federation_itself(federation_factory):
    federation = federation_factory()
    with pytest.raises(IntegrityError), transaction.atomic():
        AdmissionRule.objects.create(federation=federation, requires=federation)


def test_database_refuses_the_same_rule_twice(federation_factory):
    cecop, cicopa = federation_factory.create_batch(2)
    AdmissionRule.objects.create(federation=cecop, requires=cicopa)
    with pytest.raises(IntegrityError), transaction.atomic():
        AdmissionRule.objects.create(federation=cecop, requires=cicopa)


def test_validation_explains_a_duplicate_rule(federation_factory):
    cecop, cicopa = federation_factory.create_batch(2)
    AdmissionRule.objects.create(federation=cecop, requires=cicopa)
    with pytest.raises(ValidationError) as excinfo:
        AdmissionRule(federation=cecop, requires=cicopa).full_clean()
    assert "This rule exists already." in validation_messages(excinfo)
