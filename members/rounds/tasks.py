"""The round's e-mails as tasks of the project's queue (django-tasks, settings.TASKS).

One task per e-mail, so that one refused address stops nothing else. The
task decides again, when it runs, whether the e-mail is still wanted (the
member may have answered, the round closed, the address bounced meanwhile),
and claims an invitation or reminder with one conditional UPDATE: of two
tasks for the same need (a double click, two runs of the schedule) only the
first sends.

A send that fails with an SMTP error (a refused recipient, a server that
refuses the message) marks the answer's `bounced_at` and the contact's
`bounced_on`, and the register writes to that address no more until staff
mend it: nothing retries it. Any other failure (the mail server out of reach)
undoes the claim and fails the task, so the schedule's next run tries again.
"""

from __future__ import annotations

import datetime
import logging
import smtplib
from typing import Any

from django.db.models import F, Q
from django.utils import timezone
from django_tasks import task

from members.models import RoundAnswer
from members.rounds.mail import Kind, build_message, can_be_mailed

logger = logging.getLogger(__name__)

Status = RoundAnswer.Status
AWAITING = [Status.INVITED, Status.RETURNED]


@task()
def send_round_mail(answer_id: int, kind: str, due_before: str) -> str:
    """Send one of the round's e-mails to an answer's contact; return what became of it."""
    mail_kind = Kind(kind)
    answer = (
        RoundAnswer.objects.select_related("round__federation", "organisation", "contact")
        .filter(pk=answer_id)
        .first()
    )
    if answer is None:
        return "skipped: the answer no longer exists"
    now = timezone.now()
    reason = _not_wanted(answer, mail_kind, now)
    if reason:
        return f"skipped: {reason}"
    # Built before the claim, so that a message that cannot be built claims nothing.
    message = build_message(answer, mail_kind, now)
    undo = _claim(answer, mail_kind, datetime.datetime.fromisoformat(due_before), now)
    if undo is None:
        return "skipped: already sent"
    try:
        message.send()
    except smtplib.SMTPException as error:
        _undo(answer, undo)
        mark_bounced(answer, now)
        logger.warning(
            "The %s e-mail of round answer %s was refused (%s); its contact is marked bounced.",
            mail_kind,
            answer.pk,
            type(error).__name__,
        )
        return "bounced"
    except Exception:
        _undo(answer, undo)
        raise
    if answer.bounced_at is not None:
        # Delivered since: the address was mended.
        answer.bounced_at = None
        answer.save(update_fields=["bounced_at", "updated_at"])
    return "sent"


def mark_bounced(answer: RoundAnswer, now: datetime.datetime | None = None) -> None:
    """Record that mail to the answer's contact came back: its bounced_at, the contact's bounced_on."""
    now = now or timezone.now()
    answer.bounced_at = now
    answer.save(update_fields=["bounced_at", "updated_at"])
    contact = answer.contact
    if contact is not None and contact.bounced_on is None:
        contact.bounced_on = timezone.localdate(now)
        contact.save(update_fields=["bounced_on", "updated_at"])


def _not_wanted(answer: RoundAnswer, kind: Kind, now: datetime.datetime) -> str:
    if not can_be_mailed(answer.contact):
        return "the contact cannot be written to"
    if kind in (Kind.INVITATION, Kind.REMINDER) and not answer.round.is_open(timezone.localdate(now)):
        return "the round has closed"
    wanted_status = {
        Kind.INVITATION: [Status.INVITED, Status.ANSWERED, Status.RETURNED],
        Kind.REMINDER: AWAITING,
        Kind.RETURNED: [Status.RETURNED],
        Kind.RECEIPT: [Status.ANSWERED],
    }[kind]
    if answer.status not in wanted_status:
        return f"the answer is {answer.status}"
    return ""


def _claim(
    answer: RoundAnswer, kind: Kind, due_before: datetime.datetime, now: datetime.datetime
) -> dict[str, Any] | None:
    """Mark the invitation or reminder as sent if none was since `due_before`; return how to undo it.

    None when another task sent it first. The returned and receipt e-mails
    answer one event each and need no claim.
    """
    answers = RoundAnswer.objects.filter(pk=answer.pk)
    if kind == Kind.INVITATION:
        not_since = Q(invited_at__isnull=True) | Q(invited_at__lt=due_before)
        if not answers.filter(not_since).update(invited_at=now):
            return None
        undo: dict[str, Any] = {"invited_at": answer.invited_at}
        answer.invited_at = now
        return undo
    if kind == Kind.REMINDER:
        last_mail_before = Q(reminded_at__lt=due_before) | Q(
            reminded_at__isnull=True, invited_at__lt=due_before
        )
        claimed = answers.filter(last_mail_before, status__in=AWAITING).update(
            reminded_at=now, reminders=F("reminders") + 1
        )
        if not claimed:
            return None
        undo = {"reminded_at": answer.reminded_at, "reminders": answer.reminders}
        answer.reminded_at, answer.reminders = now, answer.reminders + 1
        return undo
    return {}


def _undo(answer: RoundAnswer, undo: dict[str, Any]) -> None:
    """Put back what the claim changed, in the database and in `answer`."""
    if not undo:
        return
    stored = dict(undo)
    if "reminders" in stored:
        stored["reminders"] = F("reminders") - 1
    RoundAnswer.objects.filter(pk=answer.pk).update(**stored)
    for field, value in undo.items():
        setattr(answer, field, value)
