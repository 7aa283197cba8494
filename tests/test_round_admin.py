"""Opening a figures round in the admin, and its reminders, new links and bounces.

Three personas: a registry administrator (any federation), an editor of
CICOPA (CICOPA's rounds only), and outsiders (read-only staff, an editor of
another federation), who open nothing and see nothing of CICOPA's round.
"""

import datetime
import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from members.models import Contact, FiguresRound, Organisation, RoundAnswer
from members.rounds.links import Refusal, answer_url, check_token
from tests.factories import MembershipFactory, OrganisationFactory
from tests.round_factories import ContactFactory, add_seed_contacts, answer_of, open_cicopa_round

pytestmark = pytest.mark.django_db

Status = RoundAnswer.Status
ADD = reverse("admin:members_figuresround_add")
ROUNDS = reverse("admin:members_figuresround_changelist")
ANSWERS = reverse("admin:members_roundanswer_changelist")


@pytest.fixture
def seed(immediate_tasks):
    call_command("load_seed", stdout=io.StringIO())
    add_seed_contacts()


def organisation(slug):
    return Organisation.objects.get(slug=slug)


def signed_in(client, user):
    client.force_login(user)
    return client


def open_form(federation, **changes):
    data = {
        "federation": str(federation.pk),
        "year": "2018",
        "closes_on": (timezone.localdate() + datetime.timedelta(days=30)).isoformat(),
        "message": "Please send us your 2018 figures.",
        "reminder_days": "7",
    }
    data.update(changes)
    return data


def test_an_administrator_opens_a_round_for_the_federations_counted_members_of_the_day(
    client, seed, staff_member
):
    # A member of LIGACOOP answers to LIGACOOP, not to CICOPA.
    MembershipFactory(
        member=OrganisationFactory(name="Cooperativa de Ponce"), federation=organisation("ligacoop")
    )
    admin = signed_in(client, staff_member("administrator"))

    response = admin.post(ADD, open_form(organisation("cicopa")))

    assert response.status_code == 302
    figures_round = FiguresRound.objects.get(federation__slug="cicopa", year=2018)
    invited = set(figures_round.answers.values_list("organisation__slug", flat=True))
    # CECOP is CICOPA's regional organisation, ULCCS left at the end of 2022: neither is invited.
    assert invited == {"ligacoop", "credit-cooperatif", "smart"}
    assert figures_round.opened_by is not None
    answers = {answer.organisation.slug: answer for answer in figures_round.answers.select_related("contact")}
    assert answers["ligacoop"].contact == Contact.objects.get(organisation__slug="ligacoop", is_main=True)
    assert answers["smart"].contact is None
    assert len({answer.link_key for answer in answers.values()}) == 3
    assert all(len(answer.link_key) >= 32 for answer in answers.values())
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        Contact.objects.filter(is_main=True).values_list("email", flat=True)
    )


def test_the_round_page_shows_who_has_no_main_contact(client, seed, staff_member):
    admin = signed_in(client, staff_member("administrator"))
    admin.post(ADD, open_form(organisation("cicopa")))
    figures_round = FiguresRound.objects.get()

    page = admin.get(reverse("admin:members_figuresround_change", args=[figures_round.pk])).content.decode()

    assert "no main contact" in page
    assert "María Rivera" in page


def test_a_round_cannot_close_before_the_day_it_opens(client, seed, staff_member):
    admin = signed_in(client, staff_member("administrator"))
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()

    response = admin.post(ADD, open_form(organisation("cicopa"), closes_on=yesterday))

    assert response.status_code == 200
    assert not FiguresRound.objects.exists()


def test_a_federation_has_one_round_a_year(client, seed, staff_member):
    admin = signed_in(client, staff_member("administrator"))
    admin.post(ADD, open_form(organisation("cicopa")))

    response = admin.post(ADD, open_form(organisation("cicopa")))

    assert "already has a figures round for that year" in response.content.decode()
    assert FiguresRound.objects.count() == 1


def test_an_editor_opens_a_round_of_their_own_federation(client, seed, staff_member):
    editor = signed_in(client, staff_member("editor", [organisation("cicopa")]))

    assert editor.post(ADD, open_form(organisation("cicopa"))).status_code == 302

    assert FiguresRound.objects.filter(federation__slug="cicopa").exists()


def test_an_editors_crafted_post_for_another_federation_opens_nothing(client, seed, staff_member):
    editor = signed_in(client, staff_member("editor", [organisation("cicopa")]))

    response = editor.post(ADD, open_form(organisation("cecop")))

    assert response.status_code in (200, 403)
    assert not FiguresRound.objects.exists()
    assert not RoundAnswer.objects.exists()
    assert mail.outbox == []


def test_the_editors_menu_offers_only_their_federations(client, seed, staff_member):
    editor = signed_in(client, staff_member("editor", [organisation("cicopa")]))

    response = editor.get(ADD)

    field = response.context["adminform"].form.fields["federation"]
    assert list(field.queryset) == [organisation("cicopa")]


def test_read_only_staff_open_no_round(client, seed, staff_member):
    reader = signed_in(client, staff_member("read-only"))

    assert reader.get(ADD).status_code == 403
    assert reader.post(ADD, open_form(organisation("cicopa"))).status_code == 403
    assert not FiguresRound.objects.exists()


def test_an_editor_of_another_federation_sees_nothing_of_the_round(client, seed, staff_member):
    figures_round = open_cicopa_round()
    outsider = signed_in(client, staff_member("editor", [organisation("ligacoop")]))
    answer = answer_of(figures_round, "ligacoop")

    assert "María Rivera" not in outsider.get(ANSWERS).content.decode()
    assert str(figures_round) not in outsider.get(ROUNDS).content.decode()
    change = outsider.get(reverse("admin:members_figuresround_change", args=[figures_round.pk]))
    assert change.status_code in (302, 404)
    answer_page = outsider.get(reverse("admin:members_roundanswer_change", args=[answer.pk]))
    assert answer_page.status_code in (302, 404)


def test_reminders_now_from_the_list_of_rounds(client, seed, staff_member):
    figures_round = open_cicopa_round()
    RoundAnswer.objects.filter(invited_at__isnull=False).update(
        invited_at=timezone.now() - datetime.timedelta(days=1)
    )
    RoundAnswer.objects.filter(organisation__slug="ligacoop").update(status=Status.ANSWERED)
    mail.outbox.clear()
    admin = signed_in(client, staff_member("administrator"))

    response = admin.post(
        ROUNDS, {"action": "send_reminders", "_selected_action": [figures_round.pk]}, follow=True
    )

    assert "1 reminder queued." in response.content.decode()
    assert [message.to for message in mail.outbox] == [
        [answer_of(figures_round, "credit-cooperatif").contact.email]
    ]


def test_an_editors_crafted_reminder_for_another_federations_round_sends_nothing(client, seed, staff_member):
    figures_round = open_cicopa_round()
    RoundAnswer.objects.update(invited_at=timezone.now() - datetime.timedelta(days=1))
    mail.outbox.clear()
    outsider = signed_in(client, staff_member("editor", [organisation("cecop")]))

    outsider.post(ROUNDS, {"action": "send_reminders", "_selected_action": [figures_round.pk]})

    assert mail.outbox == []
    assert not RoundAnswer.objects.filter(reminders__gt=0).exists()


def test_sending_a_new_link_refuses_the_old_one_and_mails_the_new(client, seed, staff_member):
    figures_round = open_cicopa_round()
    answer = answer_of(figures_round, "credit-cooperatif")
    old = answer_url(answer)
    mail.outbox.clear()
    admin = signed_in(client, staff_member("administrator"))

    admin.post(ANSWERS, {"action": "send_new_links", "_selected_action": [answer.pk]})

    assert check_token(old.rstrip("/").rsplit("/", 1)[-1]).refusal is Refusal.SUPERSEDED
    (message,) = mail.outbox
    answer.refresh_from_db()
    assert answer_url(answer).rsplit(".", 2)[0] in message.body


def test_changing_the_contact_supersedes_the_link_and_invites_the_new_contact(client, seed, staff_member):
    figures_round = open_cicopa_round()
    answer = answer_of(figures_round, "credit-cooperatif")
    old = answer_url(answer)
    Contact.objects.filter(pk=answer.contact_id).update(is_main=False)
    newcomer = ContactFactory(organisation=answer.organisation, language="fr")
    mail.outbox.clear()
    admin = signed_in(client, staff_member("administrator"))

    response = admin.post(
        reverse("admin:members_roundanswer_change", args=[answer.pk]), {"contact": newcomer.pk}
    )

    assert response.status_code == 302
    assert client.get(old).status_code == 410
    assert [message.to for message in mail.outbox] == [[newcomer.email]]


def test_the_contact_of_an_answer_is_one_of_its_organisations(client, seed, staff_member):
    figures_round = open_cicopa_round()
    answer = answer_of(figures_round, "credit-cooperatif")
    stranger = Contact.objects.get(organisation__slug="ligacoop")
    admin = signed_in(client, staff_member("administrator"))

    response = admin.post(
        reverse("admin:members_roundanswer_change", args=[answer.pk]), {"contact": stranger.pk}
    )

    assert response.status_code == 200
    answer.refresh_from_db()
    assert answer.contact.organisation == answer.organisation


def test_staff_mark_an_answers_mail_bounced_and_it_is_written_to_no_more(client, seed, staff_member):
    figures_round = open_cicopa_round()
    answer = answer_of(figures_round, "ligacoop")
    admin = signed_in(client, staff_member("administrator"))

    admin.post(ANSWERS, {"action": "mark_bounced", "_selected_action": [answer.pk]})

    answer.refresh_from_db()
    assert answer.bounced_at is not None and answer.contact.bounced_on == timezone.localdate()
    mail.outbox.clear()
    RoundAnswer.objects.update(invited_at=timezone.now() - datetime.timedelta(days=1))
    admin.post(ROUNDS, {"action": "send_reminders", "_selected_action": [figures_round.pk]})
    assert answer.contact.email not in [message.to[0] for message in mail.outbox]
    assert "mail bounced on" in admin.get(ANSWERS).content.decode()
