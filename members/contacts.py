"""Contacts of member organisations: erasure on request, and the staff's export for mailing.

A contact is personal data (members/models.py's Contact). Erasing one on the
person's request leaves nothing of them in the database: the contact, every
version of its history, the invitations that named it and the admin's log of
changes made to it, whose entries Django writes with the contact's name. Only
a ContactErasure remains, saying that a contact of the organisation was
erased, when and by whom.

Who may erase or export which contacts is members/permissions.py's to say;
these functions do what they are asked.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import router, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from members.csv_io import neutralise
from members.models import Contact, ContactErasure, Organisation, RoundAnswer

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# What the admin's log shows instead of an erased contact's name.
ERASED = "(erased contact)"


def erase_contact(contact: Contact, by_user: User | None) -> ContactErasure:
    """Erase the contact and every trace of the person in one transaction; return the erasure's record.

    Deleted: the contact and all its historical versions (with the one the
    deletion itself writes), and the admin's log entries about it. Cleared:
    the contact of its figures-round invitations, in their history too, and
    the contact's name wherever the admin's log of its organisation quotes it
    (an inline added or changed on the organisation's page). Added: a
    ContactErasure and a log entry for it, neither with personal data.
    """
    database = router.db_for_write(Contact)
    with transaction.atomic(using=database):
        # Locked, so that a concurrent save cannot write a new version after the history is gone.
        locked = Contact.objects.using(database).select_for_update().select_related("organisation")
        contact = locked.get(pk=contact.pk)
        organisation = contact.organisation
        traces = _personal_texts(contact)

        RoundAnswer.objects.using(database).filter(contact=contact).update(contact=None)
        RoundAnswer.history.using(database).filter(contact_id=contact.pk).update(contact=None)
        pk = contact.pk
        contact.delete()
        # After the delete: django-simple-history writes a last version ("-") as the contact goes.
        Contact.history.using(database).filter(id=pk).delete()

        log = LogEntry.objects.using(database)
        contact_type = ContentType.objects.db_manager(database).get_for_model(Contact)
        log.filter(content_type=contact_type, object_id=str(pk)).delete()
        _scrub_organisation_log(log, organisation, traces)

        erasure = ContactErasure.objects.using(database).create(organisation=organisation, erased_by=by_user)
        if by_user is not None and by_user.pk is not None:
            with override(None):  # in no reader's language, as Django writes its own entries
                LogEntry.objects.log_actions(
                    user_id=by_user.pk,
                    queryset=[erasure],
                    action_flag=ADDITION,
                    change_message=[{"added": {}}],
                    single_object=True,
                )
    return erasure


def _personal_texts(contact: Contact) -> list[str]:
    """The contact's words that must not outlive it, as written and as JSON writes them."""
    texts = {contact.name, contact.email, contact.phone}
    texts |= {json.dumps(text)[1:-1] for text in set(texts)}
    return [text for text in texts if text.strip()]


def _scrub_organisation_log(log: QuerySet[LogEntry], organisation: Organisation, traces: list[str]) -> None:
    """Name no contact with these words in the organisation's log entries (its page's inline of contacts).

    Django records a change made in an inline as `{"added": {"name":
    "contact", "object": "<the contact as text>"}}`; the object is replaced.
    An entry that is not of that shape (written by hand) has the words
    themselves replaced.
    """
    organisation_type = ContentType.objects.db_manager(log.db).get_for_model(Organisation)
    quoting = Q()
    for text in traces:
        quoting |= Q(change_message__contains=text)
    entries = log.filter(quoting, content_type=organisation_type, object_id=str(organisation.pk))
    for entry in entries:
        entry.change_message = _scrubbed(entry.change_message, traces)
        entry.save(update_fields=["change_message"])


def _scrubbed(message: str, traces: list[str]) -> str:
    def quotes(text: Any) -> bool:
        return isinstance(text, str) and any(trace in text for trace in traces)

    try:
        changes = json.loads(message)
        for change in changes:
            for details in change.values():
                if quotes(details.get("object")):
                    details["object"] = ERASED
    except (ValueError, TypeError, AttributeError):
        changes = None
    if changes is None or quotes(json.dumps(changes)):
        for trace in sorted(traces, key=len, reverse=True):
            message = message.replace(trace, ERASED)
        return message
    return json.dumps(changes)


# The export for mailing


def mailing_headers() -> list[str]:
    """The export's column headers, in the active language."""
    return [
        _("organisation"),
        _("country"),
        _("name"),
        _("role"),
        _("e-mail"),
        _("phone"),
        _("preferred language"),
        _("main contact"),
        _("mail bounced on"),
    ]


def mailing_rows(contacts: QuerySet[Contact]) -> Iterator[list[Any]]:
    """Return one row of cells per contact, in the list's order: one query, formulas neutralised."""
    yes, no = _("yes"), _("no")
    for contact in contacts.select_related("organisation").iterator(chunk_size=2000):
        organisation = contact.organisation
        yield [
            neutralise(organisation.name),
            neutralise(str(organisation.country.name or "")),
            neutralise(contact.name),
            neutralise(contact.role),
            neutralise(contact.email),
            neutralise(contact.phone),
            contact.language,
            yes if contact.is_main else no,
            contact.bounced_on.isoformat() if contact.bounced_on else "",
        ]


def mailing_csv(contacts: QuerySet[Contact], *, delimiter: str = ",", bom: bool = False) -> Iterable[str]:
    """Return the CSV text of the export for mailing, in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(mailing_headers())
    yield ("\ufeff" if bom else "") + _taken(buffer)
    for count, row in enumerate(mailing_rows(contacts), start=1):
        writer.writerow(row)
        if count % 500 == 0:
            yield _taken(buffer)
    yield _taken(buffer)


def _taken(buffer: io.StringIO) -> str:
    """The buffer's text, the buffer emptied: memory stays constant whatever the number of rows."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def mailing_filename() -> str:
    """Return the download's name, dated today."""
    return f"contacts-{timezone.localdate():%Y-%m-%d}.csv"
