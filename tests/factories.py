"""factory-boy factories for the register's models."""

import datetime

import factory
from django.utils.text import slugify

from members.models import Contact, DeclaredFigures, Membership, Organisation, Source


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    title = factory.Sequence(lambda n: f"Annual report {n}")
    publisher = "Test publisher"
    published_on = datetime.date(2020, 1, 1)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Co-operative {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    kind = Organisation.Kind.COOPERATIVE
    country = "FR"


class FederationFactory(OrganisationFactory):
    name = factory.Sequence(lambda n: f"Federation {n}")
    acronym = factory.Sequence(lambda n: f"FED{n}")
    kind = Organisation.Kind.NATIONAL


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    member = factory.SubFactory(OrganisationFactory)
    federation = factory.SubFactory(FederationFactory)
    category = Membership.Category.FULL
    joined_on = datetime.date(2015, 1, 1)


class DeclaredFiguresFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeclaredFigures

    organisation = factory.SubFactory(OrganisationFactory)
    year = 2016
    declared_on = datetime.date(2016, 6, 1)
    enterprises = 10
    employment = 100


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "auth.User"

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    is_staff = True
    # Hashing a real password costs a third of a second; tests that sign in set one.
    password = "!unusable"


class FederationEditorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "members.FederationEditor"

    user = factory.SubFactory(UserFactory)
    federation = factory.SubFactory(FederationFactory)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Contact Person {n}")
    role = "Secretary"
    email = factory.Sequence(lambda n: f"person{n}@example.coop")
    kept_because = "Main contact for the yearly figures"
