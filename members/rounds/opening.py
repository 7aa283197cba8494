"""Opening a round, and the e-mails that follow it: invitations, reminders, new links.

Opening invites every organisation that is a counted member of the
federation on the opening day (members/rules.py: current on the day, any
category but "regional organisation"; members of its members are not
invited, they answer to their own federation). Each gets one RoundAnswer,
with its main contact (none when it has none), a random link key and, when
the contact can be written to, an invitation on the task queue.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from members.models import Contact, FiguresRound, Membership, RoundAnswer
from members.rounds.links import new_link_key, reissue_link
from members.rounds.mail import can_be_mailed, send_invitation, send_reminder

Status = RoundAnswer.Status
AWAITING = [Status.INVITED, Status.RETURNED]


@dataclass(frozen=True)
class Opening:
    """What opening a round did: how many organisations it invited, and how many it could write to."""

    organisations: int
    mailed: int
    without_contact: int

    @property
    def not_mailable(self) -> int:
        return self.organisations - self.mailed - self.without_contact


def open_round(figures_round: FiguresRound, day: datetime.date | None = None) -> Opening:
    """Create the round's answers for the federation's counted members on the day; enqueue the invitations."""
    day = day or timezone.localdate()
    member_ids = set(
        Membership.objects.counted()
        .current_on(day)
        .filter(federation_id=figures_round.federation_id)
        .values_list("member_id", flat=True)
    )
    main_contacts = {
        contact.organisation_id: contact
        for contact in Contact.objects.filter(organisation_id__in=member_ids, is_main=True)
    }
    bulk_create_with_history(
        [
            RoundAnswer(
                round=figures_round,
                organisation_id=organisation_id,
                contact=main_contacts.get(organisation_id),
                link_key=new_link_key(),
            )
            for organisation_id in sorted(member_ids)
        ],
        RoundAnswer,
    )
    mailed = 0
    for answer in figures_round.answers.select_related("contact"):
        if can_be_mailed(answer.contact):
            send_invitation(answer)
            mailed += 1
    return Opening(
        organisations=len(member_ids),
        mailed=mailed,
        without_contact=len(member_ids) - len(main_contacts),
    )


def mailable(answers: QuerySet[RoundAnswer]) -> QuerySet[RoundAnswer]:
    """Return the answers whose contact the register writes to (an e-mail address that has not bounced)."""
    return answers.filter(contact__isnull=False, contact__bounced_on__isnull=True).exclude(contact__email="")


def send_reminders_now(figures_round: FiguresRound) -> int:
    """Enqueue a reminder to every contact of the round still to answer; return how many (0 once closed)."""
    if not figures_round.is_open():
        return 0
    answers = mailable(figures_round.answers.filter(status__in=AWAITING, invited_at__isnull=False))
    count = 0
    for answer in answers.select_related("contact"):
        send_reminder(answer)
        count += 1
    return count


def send_new_link(answer: RoundAnswer) -> bool:
    """Refuse every link the answer's contact was sent, and send a new one; False if it cannot be sent."""
    reissue_link(answer)
    if answer.status == Status.APPROVED or not answer.round.is_open() or not can_be_mailed(answer.contact):
        return False
    send_invitation(answer)
    return True


@dataclass(frozen=True)
class Scheduled:
    """What a run of the schedule enqueued."""

    invitations: int
    reminders: int


def send_scheduled_mail(now: datetime.datetime | None = None) -> Scheduled:
    """Enqueue what the open rounds owe their contacts now: invitations never sent, reminders due.

    A reminder is due when the answer still awaits one and its contact has had
    no invitation or reminder for the round's `reminder_days`. Idempotent: the
    tasks send only what is still due when they run, so a second run (or two
    at once) sends nothing more.
    """
    now = now or timezone.now()
    open_rounds = FiguresRound.objects.filter(closes_on__gte=timezone.localdate(now))
    never_invited = mailable(
        RoundAnswer.objects.filter(round__in=open_rounds, invited_at__isnull=True).exclude(
            status=Status.APPROVED
        )
    )
    invitations = 0
    for answer in never_invited:
        send_invitation(answer)
        invitations += 1
    reminders = 0
    for figures_round in open_rounds.filter(reminder_days__isnull=False):
        due_before = now - datetime.timedelta(days=figures_round.reminder_days or 0)
        due = mailable(figures_round.answers.filter(status__in=AWAITING)).filter(
            Q(reminded_at__lt=due_before) | Q(reminded_at__isnull=True, invited_at__lt=due_before)
        )
        for answer in due:
            send_reminder(answer, due_before)
            reminders += 1
    return Scheduled(invitations=invitations, reminders=reminders)
