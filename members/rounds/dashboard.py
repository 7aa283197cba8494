"""A figures round at a glance: who was invited, answered, is late or bounced, and the coverage so far."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Exists, Max, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members import sentences, stats
from members.models import Contact, FiguresRound, Membership, RoundAnswer
from members.sentences import Sentence
from members.stats import FederationFigures

LATE_AFTER_DAYS = 14
"""Days after its invitation when an answer not yet given counts as late while the round is open.

Two weeks: long enough for a member's secretariat to gather its figures,
short enough that staff remind it well before the round closes. Once the
round has closed, every answer not given is late.
"""


@dataclass(frozen=True)
class Coverage:
    """How far the round's approved answers cover the federation, "as of" the round's closing day.

    The closing day, not the end of the round's year: each approved answer is
    declared on the day the member answered, which is up to the closing day
    and mostly after the year the figures describe, so only on the closing
    day does the register count every declaration the round made (and the
    latest on or before it of the members who did not answer). The members
    counted are those of that day.
    """

    as_of: datetime.date
    members: int
    approved: int
    figures: FederationFigures
    sentences: list[Sentence]


# Beside "invitations sent", an answer still "invited" is one not given yet.
STATUS_HEADINGS = {RoundAnswer.Status.INVITED: _("not answered yet")}


@dataclass(frozen=True)
class StatusGroup:
    """The round's answers in one status, in the order of their organisations' names."""

    status: str
    label: str
    answers: list[RoundAnswer]


@dataclass(frozen=True)
class Dashboard:
    """The round's answers sorted into what staff follow, and the federation's coverage from them."""

    round: FiguresRound
    today: datetime.date
    answers: list[RoundAnswer]
    by_status: dict[str, list[RoundAnswer]]
    late: list[RoundAnswer]
    bounced: list[RoundAnswer]
    no_main_contact: list[RoundAnswer]
    reminders: int
    last_reminded_at: datetime.datetime | None
    coverage: Coverage
    statuses: list[StatusGroup] = field(default_factory=list)

    @property
    def invited(self) -> list[RoundAnswer]:
        """The answers whose contact was sent the invitation."""
        return [answer for answer in self.answers if answer.invited_at is not None]


def is_late(answer: RoundAnswer, figures_round: FiguresRound, today: datetime.date) -> bool:
    """Whether an answer never given is overdue: invited over LATE_AFTER_DAYS ago, or the round closed.

    A returned answer is waiting for the member too, but it is listed as
    returned, with the reviewer's message, rather than as late.
    """
    if answer.status != RoundAnswer.Status.INVITED:
        return False
    if not figures_round.is_open(today):
        return True
    return answer.invited_at is not None and today - timezone.localdate(
        answer.invited_at
    ) > datetime.timedelta(days=LATE_AFTER_DAYS)


def coverage(figures_round: FiguresRound) -> Coverage:
    """Return the federation's coverage on the round's closing day: five queries.

    One for the direct members on that day and how many of them have an
    approved answer in this round, and members/stats.py's four for the
    figures computed from every declaration made by then.
    """
    day = figures_round.closes_on
    federation = figures_round.federation
    approved = RoundAnswer.objects.filter(
        round=figures_round, organisation=OuterRef("member"), status=RoundAnswer.Status.APPROVED
    )
    counts = (
        Membership.objects.current_on(day)
        .counted()
        .filter(federation=federation)
        .aggregate(
            members=Count("member", distinct=True),
            approved=Count("member", distinct=True, filter=Q(Exists(approved))),
        )
    )
    figures = stats.federation_figures(federation, as_of=day)
    return Coverage(
        as_of=day,
        members=counts["members"],
        approved=counts["approved"],
        figures=figures,
        sentences=sentences.coverage(figures),
    )


def dashboard(figures_round: FiguresRound, today: datetime.date | None = None) -> Dashboard:
    """Return the round's Dashboard: two queries for the answers and reminders, five for the coverage."""
    today = today or timezone.localdate()
    main_contact = Contact.objects.filter(organisation=OuterRef("organisation"), is_main=True)
    answers: list[RoundAnswer] = list(
        figures_round.answers.select_related("organisation", "contact", "reviewed_by")
        .annotate(has_main_contact=Exists(main_contact))
        .order_by("organisation__name")
    )
    by_status: dict[str, list[RoundAnswer]] = {status: [] for status in RoundAnswer.Status.values}
    for answer in answers:
        by_status[answer.status].append(answer)
    reminders = figures_round.answers.aggregate(sent=Sum("reminders"), last=Max("reminded_at"))
    return Dashboard(
        round=figures_round,
        today=today,
        answers=answers,
        by_status=by_status,
        late=[answer for answer in answers if is_late(answer, figures_round, today)],
        bounced=[answer for answer in answers if answer.bounced_at is not None],
        # Annotated above: whether the organisation has a main contact today.
        no_main_contact=[answer for answer in answers if not answer.has_main_contact],  # type: ignore[attr-defined]
        reminders=reminders["sent"] or 0,
        last_reminded_at=reminders["last"],
        coverage=coverage(figures_round),
        statuses=[
            StatusGroup(status.value, str(STATUS_HEADINGS.get(status, status.label)), by_status[status.value])
            for status in RoundAnswer.Status
        ],
    )
