"""Reviewing a figures round's answers: approving them into sourced declarations, or returning them.

The answers are made with the ORM in the state the member's form leaves them
(answered, with figures): the review starts there.
"""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from members.models import Contact, DeclaredFigures, FiguresRound, Organisation, RoundAnswer, Source
from members.rounds import review
from members.rounds.review import FigureChange, ReviewRefused
from tests.concurrency import race
from tests.factories import DeclaredFiguresFactory, FederationFactory, MembershipFactory, OrganisationFactory

D = datetime.date
ANSWERED_AT = datetime.datetime(2019, 3, 14, 10, 30, tzinfo=datetime.UTC)


CLOSES_ON = D(2019, 3, 31)


def make_round(federation, year=2018, closes_on=CLOSES_ON, **fields):
    return FiguresRound.objects.create(federation=federation, year=year, closes_on=closes_on, **fields)


def make_answer(figures_round, organisation, status=RoundAnswer.Status.ANSWERED, **fields):
    values = {
        "link_key": "k" * 32,
        "status": status,
        "enterprises": 120,
        "employment": 3400,
        "member_organisations": 12,
        "countries": 1,
        "answered_at": ANSWERED_AT if status != RoundAnswer.Status.INVITED else None,
        "answer_language": "es",
        **fields,
    }
    return RoundAnswer.objects.create(round=figures_round, organisation=organisation, **values)


@pytest.fixture
def world(db, staff_member):
    cicopa = FederationFactory(name="CICOPA", acronym="CICOPA", kind=Organisation.Kind.INTERNATIONAL)
    cecop = FederationFactory(name="CECOP", acronym="CECOP", kind=Organisation.Kind.REGIONAL)
    ligacoop = FederationFactory(name="Liga de Cooperativas de Puerto Rico", acronym="LIGACOOP")
    bank = OrganisationFactory(name="Crédit Coopératif")
    MembershipFactory(member=ligacoop, federation=cicopa)
    MembershipFactory(member=bank, federation=cicopa)
    MembershipFactory(member=bank, federation=cecop)
    figures_round = make_round(cicopa)
    return {
        "cicopa": cicopa,
        "cecop": cecop,
        "ligacoop": ligacoop,
        "bank": bank,
        "round": figures_round,
        "administrator": staff_member("administrator"),
        "cicopa editor": staff_member("editor", [cicopa]),
        "cecop editor": staff_member("editor", [cecop]),
    }


# Approving


def test_approving_an_answer_declares_its_figures_for_the_year_dated_the_day_the_member_answered(world):
    answer = make_answer(world["round"], world["ligacoop"], includes_members=False, note="Censo 2018")

    declaration = review.approve(answer, world["administrator"])

    declaration.refresh_from_db()
    assert declaration.organisation == world["ligacoop"]
    assert (declaration.year, declaration.declared_on) == (2018, timezone.localdate(ANSWERED_AT))
    assert (declaration.enterprises, declaration.employment) == (120, 3400)
    assert (declaration.member_organisations, declaration.countries) == (12, 1)
    assert declaration.includes_members is False
    answer.refresh_from_db()
    assert answer.status == RoundAnswer.Status.APPROVED
    assert answer.declaration == declaration
    assert answer.reviewed_by == world["administrator"]
    assert answer.reviewed_at is not None


def test_the_approved_declaration_is_sourced_as_the_federations_round_answer_of_the_organisation(world):
    answer = make_answer(world["round"], world["ligacoop"], source="Informe anual 2018")

    source = review.approve(answer, world["administrator"]).source

    assert source.title == "CICOPA 2018 figures round, answer of Liga de Cooperativas de Puerto Rico"
    assert source.language == "en"
    assert source.publisher == world["cicopa"].name
    assert source.published_on == timezone.localdate(ANSWERED_AT)
    assert "Informe anual 2018" in source.notes


def test_the_declarations_history_names_the_member_of_staff_who_approved_it(world):
    answer = make_answer(world["round"], world["ligacoop"])

    declaration = review.approve(answer, world["cicopa editor"])

    (record,) = declaration.history.all()
    assert record.history_type == "+"
    assert record.history_user == world["cicopa editor"]
    assert answer.history.latest().history_user == world["cicopa editor"]


def test_an_answer_approved_twice_in_a_row_is_declared_once_and_the_second_approval_is_refused(world):
    answer = make_answer(world["round"], world["ligacoop"])
    review.approve(answer, world["administrator"])

    with pytest.raises(ReviewRefused, match="already been approved"):
        # A second reviewer's page still shows the answer as it was before the first approval.
        stale = RoundAnswer.objects.get(pk=answer.pk)
        stale.status = RoundAnswer.Status.ANSWERED
        review.approve(stale, world["cicopa editor"])

    assert DeclaredFigures.objects.filter(organisation=world["ligacoop"]).count() == 1
    assert RoundAnswer.objects.get(pk=answer.pk).reviewed_by == world["administrator"]


def test_approval_is_refused_and_writes_nothing_when_the_organisation_already_declared_that_day(world):
    DeclaredFiguresFactory(
        organisation=world["ligacoop"], year=2018, declared_on=timezone.localdate(ANSWERED_AT)
    )
    answer = make_answer(world["round"], world["ligacoop"])
    sources = Source.objects.count()

    with pytest.raises(ReviewRefused, match="already has a declaration on that date"):
        review.approve(answer, world["administrator"])

    assert DeclaredFigures.objects.filter(organisation=world["ligacoop"]).count() == 1
    assert Source.objects.count() == sources
    assert RoundAnswer.objects.get(pk=answer.pk).status == RoundAnswer.Status.ANSWERED


def test_an_answer_without_any_figure_is_refused_with_the_registers_own_rule(world):
    answer = make_answer(
        world["round"],
        world["ligacoop"],
        enterprises=None,
        employment=None,
        member_organisations=None,
        countries=None,
    )

    with pytest.raises(ReviewRefused, match="Enter at least one figure"):
        review.approve(answer, world["administrator"])

    assert not DeclaredFigures.objects.exists()


@pytest.mark.parametrize("status", [RoundAnswer.Status.INVITED, RoundAnswer.Status.RETURNED])
def test_an_answer_not_waiting_for_review_cannot_be_approved(world, status):
    answer = make_answer(world["round"], world["ligacoop"], status=status)

    with pytest.raises(ReviewRefused):
        review.approve(answer, world["administrator"])

    assert not DeclaredFigures.objects.exists()
    assert RoundAnswer.objects.get(pk=answer.pk).status == status


def test_an_editor_of_another_federation_can_neither_approve_nor_return_and_nothing_is_written(world):
    answer = make_answer(world["round"], world["ligacoop"])

    with pytest.raises(ReviewRefused):
        review.approve(answer, world["cecop editor"])
    with pytest.raises(ReviewRefused):
        review.return_answer(answer, world["cecop editor"], "Please check the employment.")

    assert not DeclaredFigures.objects.exists()
    answer.refresh_from_db()
    assert (answer.status, answer.review_message) == (RoundAnswer.Status.ANSWERED, "")


def test_an_editor_leaves_the_approval_of_an_organisation_shared_with_another_federation_to_an_administrator(
    world,
):
    # Crédit Coopératif is in CICOPA and CECOP: its figures count in CECOP's too.
    answer = make_answer(world["round"], world["bank"])

    with pytest.raises(ReviewRefused):
        review.approve(answer, world["cicopa editor"])
    review.return_answer(answer, world["cicopa editor"], "Les effectifs incluent-ils les filiales ?")

    assert not DeclaredFigures.objects.exists()
    assert RoundAnswer.objects.get(pk=answer.pk).status == RoundAnswer.Status.RETURNED


# Returning


def test_returning_an_answer_needs_a_message_and_writes_nothing_without_one(world):
    answer = make_answer(world["round"], world["bank"])

    with pytest.raises(ReviewRefused, match="Write the message"):
        review.return_answer(answer, world["administrator"], "   ")

    assert RoundAnswer.objects.get(pk=answer.pk).status == RoundAnswer.Status.ANSWERED


def test_a_returned_answer_keeps_the_message_and_reviewer_and_its_contact_is_mailed_once_committed(
    world, django_capture_on_commit_callbacks, mailoutbox, immediate_tasks
):
    contact = Contact.objects.create(
        organisation=world["bank"],
        name="Camille Martin",
        email="camille.martin@example.org",
        language="fr",
        is_main=True,
        kept_because="Main contact for the yearly figures",
    )
    answer = make_answer(world["round"], world["bank"], contact=contact, answer_language="fr")

    with django_capture_on_commit_callbacks(execute=True):
        review.return_answer(answer, world["administrator"], "  Les effectifs semblent doublés.  ")
        sent_before_commit = len(mailoutbox)

    answer.refresh_from_db()
    assert answer.status == RoundAnswer.Status.RETURNED
    assert answer.review_message == "Les effectifs semblent doublés."
    assert answer.reviewed_by == world["administrator"]
    assert not DeclaredFigures.objects.exists()
    assert sent_before_commit == 0
    (message,) = mailoutbox
    assert message.to == ["camille.martin@example.org"]
    assert "Les effectifs semblent doublés." in message.body


def test_a_return_rolled_back_sends_no_mail(
    world, django_capture_on_commit_callbacks, mailoutbox, immediate_tasks
):
    answer = make_answer(world["round"], world["bank"])

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        review.return_answer(answer, world["administrator"], "Vérifiez les effectifs.")
        raise RuntimeError("the page failed after the return")

    assert mailoutbox == []
    assert RoundAnswer.objects.get(pk=answer.pk).status == RoundAnswer.Status.ANSWERED


def test_a_returned_answer_cannot_be_returned_again_until_the_member_answers(world):
    answer = make_answer(world["round"], world["bank"], status=RoundAnswer.Status.RETURNED)

    with pytest.raises(ReviewRefused, match="returned to the member"):
        review.return_answer(answer, world["administrator"], "Again")


# The comparison with last year


@pytest.mark.parametrize(
    ("previous", "current", "large"),
    [
        (1000, 1200, False),
        (1000, 1250, False),
        (1000, 1251, True),
        (1000, 740, True),
        (None, 10, True),
        (10, None, True),
        (0, 5, True),
        (0, 0, False),
        (None, None, False),
    ],
)
def test_a_figure_is_flagged_beyond_a_quarter_of_change_or_when_it_appears_or_disappears(
    previous, current, large
):
    assert FigureChange("employment", previous, current).large is large


def test_a_change_is_shown_with_its_sign_and_percentage():
    change = FigureChange("employment", 1000, 1300)

    assert (change.difference, change.shown_difference) == (300, "+300")
    assert change.shown_percent == "+30.0%"
    assert FigureChange("employment", 4000, 3000).shown_difference == "−1,000"
    assert FigureChange("employment", None, 3000).shown_percent == "—"
    assert FigureChange("employment", 10, 20_000).shown_percent == "+199,900.0%"


def test_the_answer_is_compared_with_the_latest_declaration_of_an_earlier_year(
    world, django_assert_num_queries
):
    ligacoop = world["ligacoop"]
    DeclaredFiguresFactory(organisation=ligacoop, year=2016, declared_on=D(2017, 2, 1), employment=1000)
    last_year = DeclaredFiguresFactory(
        organisation=ligacoop, year=2017, declared_on=D(2018, 2, 1), employment=3000
    )
    # Declared for the round's own year by other means: not what the answer is compared with.
    DeclaredFiguresFactory(organisation=ligacoop, year=2018, declared_on=D(2018, 12, 1), employment=9)
    answer = make_answer(world["round"], ligacoop, employment=3400)
    first_time = make_answer(world["round"], world["bank"])

    with django_assert_num_queries(1):  # the earlier declarations of all the answers' organisations
        rows = review.review_rows(world["round"], [answer, first_time])

    assert rows[0].previous == last_year
    assert {c.field: (c.previous, c.current) for c in rows[0].changes}["employment"] == (3000, 3400)
    assert rows[0].flagged is True  # enterprises and the others appear for the first time
    assert rows[1].previous is None
    # A first declaration has nothing to change from: nothing in it is flagged.
    assert rows[1].flagged is False


# Two members of staff at the same moment (PostgreSQL)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_of_two_members_of_staff_approving_the_same_answer_at_once_the_second_waits_and_is_refused(
    staff_member,
):
    federation = FederationFactory(acronym="CICOPA", kind=Organisation.Kind.INTERNATIONAL)
    member = OrganisationFactory(name="LIGACOOP")
    MembershipFactory(member=member, federation=federation)
    answer = make_answer(make_round(federation), member)
    first, second = staff_member("administrator"), staff_member("administrator")

    outcomes = race(
        lambda: review.approve(RoundAnswer.objects.get(pk=answer.pk), first),
        lambda: review.approve(RoundAnswer.objects.get(pk=answer.pk), second),
        wait=5,
    )

    assert isinstance(outcomes["first"], DeclaredFigures)
    assert isinstance(outcomes["second"], ReviewRefused)
    assert "already been approved" in outcomes["second"].message
    assert outcomes["second waited"] is True
    assert DeclaredFigures.objects.filter(organisation=member).count() == 1
    assert RoundAnswer.objects.get(pk=answer.pk).reviewed_by == first
