"""The round's e-mails: invitation, reminder, "your answer was returned" and receipt of an answer.

Each is written in the contact's own language (translation.override), with a
plain-text body and an HTML alternative (templates/rounds/email/<kind>.txt and
.html), and carries the contact's personal link as an absolute address
(settings.SITE_URL). Replies go to the federation's public e-mail address
when it has one.

Nothing here sends inside a request: the send_* functions enqueue
members/rounds/tasks.py's task, which a worker runs through Django's e-mail
backend. A contact with no e-mail address, or whose mail bounced
(`Contact.bounced_on`), is not written to; `mail_problem` says why, for the
admin.
"""

from __future__ import annotations

import datetime
import enum
import re
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from members.dates import format_date
from members.models import Contact, RoundAnswer
from members.rounds.links import answer_url


class Kind(enum.StrEnum):
    """The round's e-mails, named as their templates are."""

    INVITATION = "invitation"
    REMINDER = "reminder"
    RETURNED = "returned"
    RECEIPT = "receipt"


SUBJECTS = {
    Kind.INVITATION: _("%(federation)s %(year)s figures round: the figures of %(organisation)s"),
    Kind.REMINDER: _("Reminder: %(federation)s %(year)s figures round, the figures of %(organisation)s"),
    Kind.RETURNED: _("%(federation)s %(year)s figures round: your answer was returned"),
    Kind.RECEIPT: _("%(federation)s %(year)s figures round: your answer was received"),
}


def mail_problem(contact: Contact | None) -> str:
    """Return why this contact is not written to ("no main contact", "no e-mail address", …), or ""."""
    if contact is None:
        return gettext("no main contact")
    if not contact.email:
        return gettext("no e-mail address")
    if contact.bounced_on is not None:
        return gettext("mail bounced on %(date)s") % {"date": format_date(contact.bounced_on)}
    return ""


def can_be_mailed(contact: Contact | None) -> bool:
    """Whether the register writes to this contact: one with an e-mail address that has not bounced."""
    return contact is not None and bool(contact.email) and contact.bounced_on is None


def absolute_answer_url(answer: RoundAnswer) -> str:
    """Return the answer's personal link as an absolute address, in its contact's language."""
    return settings.SITE_URL + answer_url(answer)


def build_message(
    answer: RoundAnswer, kind: Kind, now: datetime.datetime | None = None
) -> EmailMultiAlternatives:
    """Return the e-mail of this kind to the answer's contact, in the contact's language."""
    contact = answer.contact
    if contact is None or not contact.email:
        raise ValueError("The answer has no contact to write to.")
    figures_round = answer.round
    federation = figures_round.federation
    with translation.override(contact.language):
        context: dict[str, Any] = {
            "answer": answer,
            "contact": contact,
            "figures_round": figures_round,
            "federation": federation.short_name,
            "organisation": answer.organisation.name,
            "year": figures_round.year,
            "closes_on": format_date(figures_round.closes_on),
            "is_open": figures_round.is_open(timezone.localdate(now)),
            "link": absolute_answer_url(answer),
            "language": contact.language,
        }
        subject = str(SUBJECTS[kind]) % {
            "federation": federation.short_name,
            "year": figures_round.year,
            "organisation": answer.organisation.short_name,
        }
        text = render_to_string(f"rounds/email/{kind}.txt", context)
        html = render_to_string(f"rounds/email/{kind}.html", context)
    message = EmailMultiAlternatives(
        # One line (a header), keeping the no-break spaces French puts before its colons.
        subject=re.sub(r"[\r\n\t ]+", " ", subject).strip(),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[contact.email],
        reply_to=[federation.email] if federation.email else None,
        # Not a message a vacation responder should answer; a person still may.
        headers={"Auto-Submitted": "auto-generated", "Content-Language": contact.language},
    )
    message.attach_alternative(html, "text/html")
    return message


def _enqueue(answer: RoundAnswer, kind: Kind, due_before: datetime.datetime | None = None) -> None:
    from members.rounds.tasks import send_round_mail

    # An invitation or reminder sent after this moment answers the same need (a double
    # click, a second run of the schedule): the task then sends nothing.
    send_round_mail.enqueue(answer.pk, kind.value, (due_before or timezone.now()).isoformat())


def send_invitation(answer: RoundAnswer) -> None:
    """Enqueue the invitation, with the answer's current link, to its contact."""
    _enqueue(answer, Kind.INVITATION)


def send_reminder(answer: RoundAnswer, due_before: datetime.datetime | None = None) -> None:
    """Enqueue a reminder to the answer's contact, sent if it still awaits an answer and has had no
    invitation or reminder since `due_before` (by default, since now)."""
    _enqueue(answer, Kind.REMINDER, due_before)


def send_returned(answer: RoundAnswer) -> None:
    """Enqueue the e-mail telling the answer's contact it was returned, with the reviewer's message."""
    _enqueue(answer, Kind.RETURNED)


def send_receipt(answer: RoundAnswer) -> None:
    """Enqueue the confirmation that the member's answer was received."""
    _enqueue(answer, Kind.RECEIPT)
