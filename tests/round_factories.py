"""Factories and set-ups for the figures round's tests: contacts, rounds, answers.

The seed names no person, so the contacts of its organisations are made here,
each with the language the story gives them: LIGACOOP's writes in Spanish,
Crédit Coopératif's in French.
"""

import datetime
import io

import factory
from django.core.management import call_command
from django.utils import timezone

from members.models import Contact, FiguresRound, Organisation, RoundAnswer
from members.rounds.links import new_link_key
from members.rounds.opening import open_round
from tests.factories import FederationFactory, OrganisationFactory


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Contact Person {n}")
    email = factory.Sequence(lambda n: f"contact{n}@members.example")
    language = "en"
    is_main = True
    kept_because = "Main contact for the yearly figures."


class FiguresRoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FiguresRound

    federation = factory.SubFactory(FederationFactory)
    year = 2018
    closes_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=30))
    message = "Please send us your figures."


class RoundAnswerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoundAnswer

    round = factory.SubFactory(FiguresRoundFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    contact = factory.LazyAttribute(lambda answer: ContactFactory(organisation=answer.organisation))
    link_key = factory.LazyFunction(new_link_key)


# The seed's organisations whose contacts the stories write to, and in which language.
SEED_CONTACTS = {
    "ligacoop": ("María Rivera", "maria.rivera@ligacoop.example", "es"),
    "credit-cooperatif": ("Claire Dubois", "claire.dubois@credit-cooperatif.example", "fr"),
}


def add_seed_contacts():
    """Give LIGACOOP and Crédit Coopératif a main contact each (the seed's own, if it has one)."""
    for slug, (name, email, language) in SEED_CONTACTS.items():
        organisation = Organisation.objects.get(slug=slug)
        Contact.objects.update_or_create(
            organisation=organisation,
            is_main=True,
            defaults={
                "name": name,
                "email": email,
                "language": language,
                "kept_because": "Main contact for the yearly figures.",
            },
        )


def open_cicopa_round(closes_on=None, reminder_days=None):
    """Load the seed, give it its contacts and open CICOPA's 2018 round; return the round."""
    call_command("load_seed", stdout=io.StringIO())
    add_seed_contacts()
    figures_round = FiguresRound.objects.create(
        federation=Organisation.objects.get(slug="cicopa"),
        year=2018,
        closes_on=closes_on or timezone.localdate() + datetime.timedelta(days=30),
        message="CICOPA asks its members for their 2018 figures.",
        reminder_days=reminder_days,
    )
    open_round(figures_round)
    return figures_round


def answer_of(figures_round, slug):
    return figures_round.answers.select_related("contact", "organisation", "round__federation").get(
        organisation__slug=slug
    )
