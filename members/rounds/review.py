"""Reviewing a round's answers: comparing them with last year's, approving or returning them.

An approved answer becomes the organisation's DeclaredFigures, dated the day
the member answered and sourced as "<federation> <year> figures round, answer
of <organisation>"; a returned one goes back to the member with the reviewer's
message. Both lock the answer's row first, so that two members of staff
reviewing the same answer at once cannot both act on it: the second sees what
the first did and is refused. Who may review is decided in
members/permissions.py and asked again here, whatever the view checked.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, router, transaction
from django.db.models import Field
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members import permissions
from members.models import DeclaredFigures, FiguresRound, RoundAnswer, Source
from members.rounds import mail

if TYPE_CHECKING:
    from collections.abc import Iterable

    from members.permissions import AnyUser

LARGE_CHANGE = 0.25
"""The change from last year's declaration, as a share of it, beyond which a figure is flagged (±25 %).

Members' figures move by a few per cent a year; a quarter more or less is
usually a typing slip (a zero too many), a change of what is counted (with or
without the members' own members) or a merger, which the reviewer should ask
about before approving. A figure that appears or disappears is flagged too.
"""

# The figures an answer gives, in the order the review list shows them.
FIGURE_FIELDS = ("enterprises", "employment", "member_organisations", "countries")

# The title of the Source an approved answer is declared under. Stored in English, the
# register's language, like the other sources' titles (Source.language says so), so
# that it reads the same on every page and in the open data.
SOURCE_TITLE = "{federation} {year} figures round, answer of {organisation}"


# Said when the member sent the answer again while the reviewer was reading it.
CHANGED_SINCE_SEEN = gettext_lazy(
    "The member changed the answer after you opened this page: look at it again before approving."
)


class ReviewRefused(Exception):
    """The review asked cannot be done; `message` says why, to the member of staff. Nothing was written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FigureChange:
    """One figure of an answer beside the same figure in the organisation's previous declaration."""

    field: str
    previous: int | None
    current: int | None
    # Whether there is a previous declaration to compare with: an organisation's first
    # answer has none, and nothing in it is a change.
    compared: bool = True

    @property
    def label(self) -> str:
        field = RoundAnswer._meta.get_field(self.field)
        # The figures are the answer's own columns, which have a verbose name.
        return str(field.verbose_name) if isinstance(field, Field) else self.field

    @property
    def difference(self) -> int | None:
        """The answer's figure less last year's; None when either is not declared."""
        if self.previous is None or self.current is None:
            return None
        return self.current - self.previous

    @property
    def ratio(self) -> float | None:
        """The difference as a share of last year's figure; None when that is not declared or 0."""
        if self.difference is None or not self.previous:
            return None
        return self.difference / self.previous

    @property
    def percent(self) -> float | None:
        return None if self.ratio is None else self.ratio * 100

    @property
    def shown_difference(self) -> str:
        """The difference with its sign ("+1,200", "−300"), or a dash when it cannot be computed."""
        if self.difference is None:
            return "—"
        sign = "+" if self.difference > 0 else "−" if self.difference < 0 else ""
        return sign + number_format(abs(self.difference), force_grouping=True)

    @property
    def shown_percent(self) -> str:
        """The change as a signed percentage to one decimal ("+25.0%"), or a dash."""
        if self.percent is None:
            return "—"
        sign = "+" if self.percent > 0 else "−" if self.percent < 0 else ""
        shown = number_format(abs(self.percent), decimal_pos=1, force_grouping=True)
        return _("%(percent)s%%") % {"percent": sign + shown}

    @property
    def appeared(self) -> bool:
        return self.previous is None and self.current is not None

    @property
    def disappeared(self) -> bool:
        return self.previous is not None and self.current is None

    @property
    def large(self) -> bool:
        """Whether the reviewer should look twice: beyond LARGE_CHANGE, from 0, appearing or disappearing."""
        if not self.compared:
            return False
        if self.appeared or self.disappeared:
            return True
        if self.ratio is not None:
            return abs(self.ratio) > LARGE_CHANGE
        # From a declared 0 to anything else.
        return self.previous == 0 and bool(self.current)


@dataclass(frozen=True)
class ReviewRow:
    """An answer, the organisation's latest declaration for an earlier year, and the changes from it."""

    answer: RoundAnswer
    previous: DeclaredFigures | None
    changes: list[FigureChange]

    @property
    def flagged(self) -> bool:
        return any(change.large for change in self.changes)


def compare(answer: RoundAnswer, previous: DeclaredFigures | None) -> list[FigureChange]:
    """Return the answer's figures beside the previous declaration's (last year's), one per figure."""
    return [
        FigureChange(
            field=name,
            previous=getattr(previous, name) if previous is not None else None,
            current=getattr(answer, name),
            compared=previous is not None,
        )
        for name in FIGURE_FIELDS
    ]


def review_rows(figures_round: FiguresRound, answers: Iterable[RoundAnswer]) -> list[ReviewRow]:
    """Return a ReviewRow for each answer, in one query for all their previous declarations.

    The previous declaration is the organisation's latest for a year before
    the round's (by year, then by the day it was declared): what the member
    said last time, which the answer is compared with.
    """
    answers = list(answers)
    organisation_ids = {answer.organisation_id for answer in answers}
    previous: dict[int, DeclaredFigures] = {}
    earlier = (
        DeclaredFigures.objects.filter(organisation_id__in=organisation_ids, year__lt=figures_round.year)
        .select_related("source")
        .order_by("organisation_id", "-year", "-declared_on")
    )
    for declaration in earlier:
        previous.setdefault(declaration.organisation_id, declaration)
    return [
        ReviewRow(
            answer=answer,
            previous=previous.get(answer.organisation_id),
            changes=compare(answer, previous.get(answer.organisation_id)),
        )
        for answer in answers
    ]


def source_title(answer: RoundAnswer) -> str:
    """The English title of the source an approved answer is declared under."""
    return SOURCE_TITLE.format(
        federation=answer.round.federation.short_name,
        year=answer.round.year,
        organisation=answer.organisation.name,
    )


def answer_day(answer: RoundAnswer) -> datetime.date:
    """The day the member answered, in the register's time zone: the declaration's date."""
    if answer.answered_at is None:
        raise ReviewRefused(_("This answer has no date: the member has not answered."))
    return timezone.localdate(answer.answered_at)


def _locked(answer: RoundAnswer, database: str) -> RoundAnswer:
    """Return the answer read afresh, its row locked until the transaction ends (PostgreSQL)."""
    # The lock is on the answer's row only; the round and organisation are read after it.
    locked = RoundAnswer.objects.using(database).select_for_update().get(pk=answer.pk)
    locked.round = FiguresRound.objects.using(database).select_related("federation").get(pk=locked.round_id)
    return locked


def _refuse_unless_answered(answer: RoundAnswer) -> None:
    if answer.status == RoundAnswer.Status.ANSWERED:
        return
    if answer.status == RoundAnswer.Status.APPROVED:
        raise ReviewRefused(_("This answer has already been approved."))
    if answer.status == RoundAnswer.Status.RETURNED:
        raise ReviewRefused(_("This answer has been returned to the member, who has not answered again yet."))
    raise ReviewRefused(_("The member has not answered yet."))


def _validation_message(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


def approve(
    answer: RoundAnswer, by_user: AnyUser, seen_answered_at: datetime.datetime | None = None
) -> DeclaredFigures:
    """Make the answer the organisation's declared figures for the round's year; return them.

    In one transaction: the answer is locked and read again, the declaration
    (with its Source) created with the approving user in its history, and the
    answer marked approved. Raises ReviewRefused, having written nothing, when
    the user may not approve it, when it is not waiting for review, or when
    the declaration would break a rule of the register (the organisation
    already has one on that day, no figure given, ...).

    `seen_answered_at`, when given, is when the answer the reviewer looked at
    was sent: if the member has sent it again since (the form stays open until
    the round closes), the approval is refused rather than approve figures
    nobody reviewed.
    """
    database = router.db_for_write(RoundAnswer)
    with transaction.atomic(using=database):
        locked = _locked(answer, database)
        if not permissions.can_approve_answer(by_user, locked):
            raise ReviewRefused(_("You may not approve the answers of this round for this organisation."))
        _refuse_unless_answered(locked)
        if seen_answered_at is not None and locked.answered_at != seen_answered_at:
            raise ReviewRefused(str(CHANGED_SINCE_SEEN))
        day = answer_day(locked)
        declaration = DeclaredFigures(
            organisation=locked.organisation,
            year=locked.round.year,
            declared_on=day,
            includes_members=locked.includes_members,
            **{name: getattr(locked, name) for name in FIGURE_FIELDS},
        )
        try:
            declaration.full_clean(exclude=["source"])
        except ValidationError as error:
            raise ReviewRefused(
                _("The answer cannot become %(organisation)s's declared figures: %(reasons)s")
                % {"organisation": locked.organisation.short_name, "reasons": _validation_message(error)}
            ) from error
        declaration.source = _source(locked, day, database)
        declaration._history_user = by_user  # type: ignore[attr-defined]
        try:
            with transaction.atomic(using=database):
                declaration.save(using=database)
        except IntegrityError as error:
            # Another answer of the organisation (another federation's round), approved
            # at the same moment, took the day; full_clean could not see it yet.
            raise ReviewRefused(
                _("The answer cannot become %(organisation)s's declared figures: %(reasons)s")
                % {
                    "organisation": locked.organisation.short_name,
                    "reasons": _("This organisation already has a declaration on that date."),
                }
            ) from error
        locked.declaration = declaration
        locked.status = RoundAnswer.Status.APPROVED
        locked.reviewed_by = by_user  # type: ignore[assignment]
        locked.reviewed_at = timezone.now()
        locked._history_user = by_user  # type: ignore[attr-defined]
        locked.save(using=database)
    answer.refresh_from_db(using=database)
    return declaration


def _source(answer: RoundAnswer, day: datetime.date, database: str) -> Source:
    """Return the answer's Source: the federation publishes it, on the day the member answered."""
    notes = "\n".join(
        part
        for part in (
            f"Taken by the member from: {answer.source}" if answer.source else "",
            f"The member's note: {answer.note}" if answer.note else "",
        )
        if part
    )
    source, _created = Source.objects.using(database).get_or_create(
        title=source_title(answer),
        published_on=day,
        defaults={"publisher": answer.round.federation.name, "language": "en", "notes": notes},
    )
    return source


def return_answer(answer: RoundAnswer, by_user: AnyUser, message: str) -> RoundAnswer:
    """Send the answer back to the member with the reviewer's message; return it as saved.

    The member may then change the answer and send it again while the round
    is open. The e-mail is queued once the transaction has committed, never
    for a return that did not happen. Raises ReviewRefused, having written
    nothing, without a message, when the user may not review the round, or
    when the answer is not waiting for review.
    """
    message = message.strip()
    if not message:
        raise ReviewRefused(_("Write the message that tells the member what to change."))
    database = router.db_for_write(RoundAnswer)
    with transaction.atomic(using=database):
        locked = _locked(answer, database)
        if not permissions.can_review_round(by_user, locked.round):
            raise ReviewRefused(_("You may not review the answers of this round."))
        _refuse_unless_answered(locked)
        locked.status = RoundAnswer.Status.RETURNED
        locked.review_message = message
        locked.reviewed_by = by_user  # type: ignore[assignment]
        locked.reviewed_at = timezone.now()
        locked._history_user = by_user  # type: ignore[attr-defined]
        locked.save(using=database)
        transaction.on_commit(lambda: mail.send_returned(locked), using=database)
    answer.refresh_from_db(using=database)
    return locked
