"""The round's e-mails: in the contact's language, text and HTML, through the task queue.

Invitations on opening, reminders (on demand and on the schedule), "your
answer was returned" and the receipt of an answer. A send the mail server
refuses marks the contact bounced and is not tried again.
"""

import datetime
import io
import re
import socket
import zoneinfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_tasks_db.models import DBTaskResult

from members.models import Contact, FiguresRound, RoundAnswer
from members.rounds.mail import SUBJECTS, Kind, send_returned
from members.rounds.opening import send_reminders_now, send_scheduled_mail
from tests.round_factories import ContactFactory, answer_of, open_cicopa_round
from tests.smtp_server import RefusingSMTPServer

pytestmark = pytest.mark.django_db

Status = RoundAnswer.Status
ZONE = zoneinfo.ZoneInfo(settings.TIME_ZONE)
OPENED = datetime.datetime(2019, 3, 1, 10, 0, tzinfo=ZONE)
CLOSES_ON = datetime.date(2019, 3, 31)


@pytest.fixture
def march_2019():
    with time_machine.travel(OPENED, tick=False) as traveller:
        yield traveller


@pytest.fixture
def cicopa_round(immediate_tasks, march_2019):
    return open_cicopa_round(closes_on=CLOSES_ON, reminder_days=7)


def mail_to(address, outbox=None):
    return [message for message in (outbox if outbox is not None else mail.outbox) if message.to == [address]]


def html_of(message):
    (html, mimetype), *_ = message.alternatives
    assert mimetype == "text/html"
    return html


def link_in(text):
    return re.search(r"https?://\S+/round/\S+/", text).group(0)


def test_opening_a_round_invites_each_main_contact_once_in_text_and_html(cicopa_round):
    contacts = Contact.objects.filter(round_answers__round=cicopa_round)

    assert {tuple(message.to) for message in mail.outbox} == {(contact.email,) for contact in contacts}
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert message.body.strip() and "<html" not in message.body
        assert "<html" in html_of(message)
        assert cicopa_round.message in message.body and cicopa_round.message in html_of(message)
    invited = cicopa_round.answers.filter(contact__isnull=False)
    assert all(answer.invited_at == OPENED for answer in invited)


def test_organisations_without_a_main_contact_are_invited_but_not_mailed(cicopa_round):
    smart = answer_of(cicopa_round, "smart")

    assert smart.contact is None and smart.invited_at is None
    assert smart.status == Status.INVITED


@pytest.mark.parametrize(
    ("slug", "language", "closing_day"),
    [("credit-cooperatif", "fr", "31 mars 2019"), ("ligacoop", "es", "31 de marzo de 2019")],
)
def test_the_invitation_is_written_in_the_contacts_language(cicopa_round, slug, language, closing_day):
    answer = answer_of(cicopa_round, slug)
    (message,) = mail_to(answer.contact.email)

    assert message.extra_headers["Content-Language"] == language
    assert f'<html lang="{language}">' in html_of(message)
    assert closing_day in message.body and closing_day in html_of(message)
    assert f"/{language}/round/" in link_in(message.body)
    with translation.override(language):
        subject = str(SUBJECTS[Kind.INVITATION]) % {
            "federation": "CICOPA",
            "year": 2018,
            "organisation": answer.organisation.short_name,
        }
    assert message.subject == subject


def test_the_link_in_the_invitation_is_absolute_and_opens_that_organisations_form(client, cicopa_round):
    answer = answer_of(cicopa_round, "credit-cooperatif")
    (message,) = mail_to(answer.contact.email)
    link = link_in(message.body)

    assert link.startswith(settings.SITE_URL + "/")
    assert f'href="{link}"' in html_of(message)
    response = client.get(link.removeprefix(settings.SITE_URL))
    assert response.status_code == 200
    assert answer.organisation.name in response.content.decode()


def test_names_in_the_text_part_are_not_html_escaped(cicopa_round):
    answer = answer_of(cicopa_round, "credit-cooperatif")
    Contact.objects.filter(pk=answer.contact_id).update(name="Anne-Marie O'Neil & Co")
    answer.refresh_from_db()
    mail.outbox.clear()

    send_returned_for = RoundAnswer.objects.filter(pk=answer.pk)
    send_returned_for.update(status=Status.RETURNED, review_message="Merci d'indiquer la source.")
    send_returned(send_returned_for.get())

    (message,) = mail.outbox
    assert "Anne-Marie O'Neil & Co" in message.body
    assert "Merci d'indiquer la source." in message.body
    assert "&amp;" in html_of(message) and "&#x27;" in html_of(message)


def test_replies_go_to_the_federations_public_address_when_it_has_one(immediate_tasks, march_2019):
    from members.models import Organisation

    call_command("load_seed", stdout=io.StringIO())
    Organisation.objects.filter(slug="cicopa").update(email="secretariat@cicopa.example")
    ContactFactory(organisation=Organisation.objects.get(slug="smart"), language="fr")
    FiguresRound.objects.all().delete()
    from members.rounds.opening import open_round

    open_round(
        FiguresRound.objects.create(
            federation=Organisation.objects.get(slug="cicopa"), year=2018, closes_on=CLOSES_ON
        )
    )

    (message,) = mail.outbox
    assert message.reply_to == ["secretariat@cicopa.example"]


def test_contacts_without_an_address_or_whose_mail_bounced_are_not_written_to(immediate_tasks, march_2019):
    call_command("load_seed", stdout=io.StringIO())
    from members.models import Organisation
    from members.rounds.opening import open_round

    ContactFactory(organisation=Organisation.objects.get(slug="ligacoop"), email="")
    ContactFactory(organisation=Organisation.objects.get(slug="smart"), bounced_on=datetime.date(2019, 1, 5))
    written = ContactFactory(organisation=Organisation.objects.get(slug="credit-cooperatif"))

    opening = open_round(
        FiguresRound.objects.create(
            federation=Organisation.objects.get(slug="cicopa"), year=2018, closes_on=CLOSES_ON
        )
    )

    assert [message.to for message in mail.outbox] == [[written.email]]
    assert (opening.mailed, opening.not_mailable) == (1, 2)


def test_opening_a_round_only_queues_the_mail_for_a_worker(march_2019):
    """With the project's queue (django-tasks-db) nothing is sent while the request runs."""
    open_cicopa_round(closes_on=CLOSES_ON)

    assert mail.outbox == []
    queued = DBTaskResult.objects.filter(task_path="members.rounds.tasks.send_round_mail")
    assert queued.count() == 2


def test_a_send_the_server_refuses_marks_the_contact_bounced_and_is_not_retried(
    settings, immediate_tasks, march_2019
):
    with RefusingSMTPServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        figures_round = open_cicopa_round(closes_on=CLOSES_ON, reminder_days=7)
        assert server.connections == 2
        march_2019.shift(datetime.timedelta(days=8))

        send_scheduled_mail()
        send_reminders_now(figures_round)

        assert server.connections == 2, "a bounced address is not tried again"
    for answer in figures_round.answers.filter(contact__isnull=False).select_related("contact"):
        assert answer.bounced_at == OPENED
        assert answer.contact.bounced_on == OPENED.date()
        assert answer.invited_at is None


def test_an_unreachable_mail_server_fails_the_task_and_the_schedule_sends_it_later(
    settings, immediate_tasks, march_2019
):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port

    figures_round = open_cicopa_round(closes_on=CLOSES_ON)

    answers = figures_round.answers.filter(contact__isnull=False)
    assert all(answer.invited_at is None and answer.bounced_at is None for answer in answers)
    assert not Contact.objects.filter(bounced_on__isnull=False).exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    march_2019.shift(datetime.timedelta(hours=1))

    assert send_scheduled_mail().invitations == 2
    assert len(mail.outbox) == 2


def test_reminders_now_go_to_those_who_have_not_answered(client, cicopa_round, march_2019):
    ligacoop = answer_of(cicopa_round, "ligacoop")
    credit = answer_of(cicopa_round, "credit-cooperatif")
    link = link_in(mail_to(ligacoop.contact.email)[0].body).removeprefix(settings.SITE_URL)
    client.post(link, {"employment": "3400"})
    mail.outbox.clear()
    march_2019.shift(datetime.timedelta(hours=2))

    assert send_reminders_now(cicopa_round) == 1

    (reminder,) = mail.outbox
    assert reminder.to == [credit.contact.email]
    assert html_of(reminder) and "31 mars 2019" in reminder.body
    credit.refresh_from_db()
    assert credit.reminders == 1 and credit.reminded_at == OPENED + datetime.timedelta(hours=2)


def test_no_reminder_once_the_round_has_closed(cicopa_round, march_2019):
    mail.outbox.clear()
    march_2019.move_to(datetime.datetime(2019, 4, 1, 8, tzinfo=ZONE))

    assert send_reminders_now(cicopa_round) == 0
    assert send_scheduled_mail().reminders == 0
    assert mail.outbox == []


def test_the_schedule_reminds_after_the_rounds_interval_and_only_once_per_interval(cicopa_round, march_2019):
    mail.outbox.clear()

    march_2019.shift(datetime.timedelta(days=6))
    call_command("send_round_reminders", stdout=io.StringIO())
    assert mail.outbox == [], "not yet due: invited six days ago"

    march_2019.shift(datetime.timedelta(days=1, minutes=1))
    call_command("send_round_reminders", stdout=io.StringIO())
    call_command("send_round_reminders", stdout=io.StringIO())
    assert len(mail.outbox) == 2, "one reminder to each contact, however often it runs"

    march_2019.shift(datetime.timedelta(days=7, minutes=1))
    call_command("send_round_reminders", stdout=io.StringIO())
    assert len(mail.outbox) == 4
    assert set(cicopa_round.answers.filter(contact__isnull=False).values_list("reminders", flat=True)) == {2}


def test_the_schedule_leaves_answered_answers_and_rounds_without_an_interval_alone(cicopa_round, march_2019):
    RoundAnswer.objects.filter(organisation__slug="ligacoop").update(status=Status.ANSWERED)
    FiguresRound.objects.create(
        federation=cicopa_round.federation, year=2019, closes_on=CLOSES_ON, reminder_days=None
    )
    mail.outbox.clear()
    march_2019.shift(datetime.timedelta(days=8))

    output = io.StringIO()
    call_command("send_round_reminders", stdout=output)

    assert [message.to for message in mail.outbox] == [
        [answer_of(cicopa_round, "credit-cooperatif").contact.email]
    ]
    assert output.getvalue().strip() == "Reminders queued: 1; invitations queued: 0."


def test_two_reminders_queued_before_a_worker_runs_send_one(cicopa_round, march_2019):
    """Two clicks on "send reminders now" before the worker takes the first: one e-mail."""
    from members.rounds.tasks import send_round_mail

    credit = answer_of(cicopa_round, "credit-cooperatif")
    mail.outbox.clear()
    march_2019.shift(datetime.timedelta(hours=1))
    clicked_at = timezone.now().isoformat()
    march_2019.shift(datetime.timedelta(seconds=30))

    outcomes = [send_round_mail.call(credit.pk, Kind.REMINDER.value, clicked_at) for _ in range(2)]

    assert outcomes == ["sent", "skipped: already sent"]
    assert len(mail.outbox) == 1


def test_the_returned_answer_mail_carries_the_reviewers_message_in_both_parts(cicopa_round):
    ligacoop = answer_of(cicopa_round, "ligacoop")
    RoundAnswer.objects.filter(pk=ligacoop.pk).update(
        status=Status.RETURNED, review_message="¿Son 3.400 personas o 34.000?"
    )
    mail.outbox.clear()

    send_returned(RoundAnswer.objects.get(pk=ligacoop.pk))

    (message,) = mail.outbox
    assert message.to == [ligacoop.contact.email]
    assert "¿Son 3.400 personas o 34.000?" in message.body
    assert "¿Son 3.400 personas o 34.000?" in html_of(message)
    assert "/es/round/" in link_in(message.body)


def test_the_returned_mail_is_not_sent_for_an_answer_that_is_not_returned(cicopa_round):
    mail.outbox.clear()

    send_returned(answer_of(cicopa_round, "ligacoop"))

    assert mail.outbox == []


def test_answering_sends_a_receipt_with_the_figures_in_the_contacts_language(client, cicopa_round):
    ligacoop = answer_of(cicopa_round, "ligacoop")
    link = link_in(mail_to(ligacoop.contact.email)[0].body).removeprefix(settings.SITE_URL)
    mail.outbox.clear()

    client.post(link, {"employment": "3400", "source": "Informe anual"})

    (receipt,) = mail.outbox
    assert receipt.to == [ligacoop.contact.email]
    with translation.override("es"):
        not_declared = gettext("not declared")
    assert not_declared != "not declared"
    # Grouped as Spanish writes it (a space, since Django's Spanish formats), whatever the grouping.
    assert re.search(r"\b3\D?400\b", receipt.body)
    assert not_declared in receipt.body and not_declared in html_of(receipt)
    assert receipt.extra_headers["Content-Language"] == "es"
