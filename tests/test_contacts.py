"""Contacts in the staff admin: who sees and edits which, the main contact, erasure, the export for mailing.

Three personas, as in test_admin_permissions: the administrator (every
contact), the editor of CECOP (CECOP's contacts and those of its members,
current and former) and the outsiders (read-only staff, an editor of another
federation, anonymous visitors), who see no contact of CECOP's. Every request
is a real one through the admin's URLs, typed by hand where the page would
offer no link.
"""

import csv
import datetime
import io
import json

import pytest
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.db import models
from django.urls import reverse

from members import permissions
from members.contacts import erase_contact, mailing_csv
from members.models import Contact, ContactErasure, FiguresRound, Organisation, RoundAnswer
from tests.factories import ContactFactory, FederationFactory, MembershipFactory, OrganisationFactory
from tests.test_admin_permissions import post_data_from

# Contacts of CECOP's scope, and those outside it.
INSIDE = ["federation", "member", "former member"]
OUTSIDE = ["other federation", "other member", "unaffiliated"]


@pytest.fixture
def world(db, staff_member):
    cecop = FederationFactory(name="CECOP – CICOPA Europe", acronym="CECOP", kind=Organisation.Kind.REGIONAL)
    other = FederationFactory(name="Another federation", acronym="OTHER")
    member = OrganisationFactory(name="Member co-operative")
    former = OrganisationFactory(name="Former member co-operative")
    outsider = OrganisationFactory(name="Outside co-operative")
    unaffiliated = OrganisationFactory(name="Unaffiliated co-operative")
    MembershipFactory(member=member, federation=cecop)
    MembershipFactory(member=former, federation=cecop, left_on=datetime.date(2019, 12, 31))
    MembershipFactory(member=outsider, federation=other)
    organisations = {
        "federation": cecop,
        "member": member,
        "former member": former,
        "other federation": other,
        "other member": outsider,
        "unaffiliated": unaffiliated,
    }
    contacts = {
        where: ContactFactory(organisation=organisation, name=f"Person at {organisation.name}", is_main=True)
        for where, organisation in organisations.items()
    }
    users = {
        "administrator": staff_member("administrator"),
        "editor of CECOP": staff_member("editor", [cecop]),
        "editor of OTHER": staff_member("editor", [other]),
        "read-only": staff_member("read-only"),
    }
    return {"organisations": organisations, "contacts": contacts, "users": users, "cecop": cecop}


def _as(client, user):
    client.logout()
    if user is not None:
        client.force_login(user)
    return client


def _url(name, *args):
    return reverse(f"admin:members_contact_{name}", args=args)


def _names_in_list(response):
    return {contact.name for contact in response.context["cl"].result_list}


def _csv_rows(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


# --- Who sees which contacts -------------------------------------------------------


def test_the_administrator_lists_every_contact(client, world):
    response = _as(client, world["users"]["administrator"]).get(_url("changelist"))
    assert response.status_code == 200
    assert _names_in_list(response) == {c.name for c in world["contacts"].values()}


def test_an_editor_lists_the_contacts_of_their_federation_and_its_current_and_former_members(client, world):
    response = _as(client, world["users"]["editor of CECOP"]).get(_url("changelist"))
    assert response.status_code == 200
    assert _names_in_list(response) == {world["contacts"][where].name for where in INSIDE}


@pytest.mark.parametrize("role", ["read-only", "anonymous"])
def test_other_staff_and_visitors_get_no_list_of_contacts(client, world, role):
    response = _as(client, world["users"].get(role)).get(_url("changelist"))
    if role == "anonymous":
        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]
    else:
        assert response.status_code == 403


def test_only_those_who_may_see_contacts_find_them_on_the_admin_home_page(client, world):
    seen = {
        role: reverse("admin:members_contact_changelist")
        in _as(client, user).get(reverse("admin:index")).text
        for role, user in world["users"].items()
    }
    assert seen == {
        "administrator": True,
        "editor of CECOP": True,
        "editor of OTHER": True,
        "read-only": False,
    }


# The pages of one contact, typed by hand: (name of the view, method).
ONE_CONTACT = [("change", "get"), ("change", "post"), ("history", "get"), ("erase", "get"), ("erase", "post")]


@pytest.mark.parametrize(("view", "method"), ONE_CONTACT)
@pytest.mark.parametrize("where", INSIDE + OUTSIDE)
def test_an_editor_reaches_a_contact_of_their_scope_and_gets_404_for_any_other(
    client, world, view, method, where
):
    contact = world["contacts"][where]
    editor = _as(client, world["users"]["editor of CECOP"])
    data = {"name": "Renamed", "organisation": contact.organisation_id, "kept_because": "x", "language": "en"}

    response = getattr(editor, method)(_url(view, contact.pk), data if method == "post" else None)

    if where in INSIDE:
        assert response.status_code in {200, 302}
    else:
        assert response.status_code == 404
        assert contact.name not in response.text
        assert Contact.objects.filter(pk=contact.pk, name=contact.name).exists()


@pytest.mark.parametrize(("view", "method"), ONE_CONTACT)
def test_read_only_staff_reach_no_contact_by_its_address(client, world, view, method):
    contact = world["contacts"]["member"]
    response = getattr(_as(client, world["users"]["read-only"]), method)(_url(view, contact.pk), {})
    assert response.status_code in {403, 404}
    assert contact.name not in response.text


@pytest.mark.parametrize("method", ["get", "post"])
def test_no_old_version_of_another_federations_contact_is_shown_or_restored(client, world, method):
    contact = world["contacts"]["other member"]
    contact.name = "Renamed once"
    contact.save()
    version = contact.history.earliest("history_date").history_id
    url = reverse("admin:members_contact_simple_history", args=[contact.pk, version])

    response = getattr(_as(client, world["users"]["editor of CECOP"]), method)(url, {})

    assert response.status_code == 404
    assert "Person at" not in response.text
    contact.refresh_from_db()
    assert contact.name == "Renamed once"


def test_the_administrator_sees_a_contacts_history_and_an_editor_that_of_their_own(client, world):
    contact = world["contacts"]["member"]
    contact.role = "Treasurer"
    contact.save()
    for role in ["administrator", "editor of CECOP"]:
        response = _as(client, world["users"][role]).get(_url("history", contact.pk))
        assert response.status_code == 200
        assert "Treasurer" in response.text


def test_the_autocomplete_offers_only_the_contacts_the_user_may_see(client, world):
    url = reverse("admin:autocomplete")
    params = {"app_label": "members", "model_name": "roundanswer", "field_name": "contact", "term": "Person"}

    editor = _as(client, world["users"]["editor of CECOP"]).get(url, params)
    read_only = _as(client, world["users"]["read-only"]).get(url, params)

    assert editor.status_code == 200
    offered = {item["text"] for item in editor.json()["results"]}
    assert offered == {str(world["contacts"][where]) for where in INSIDE}
    assert read_only.status_code == 403


# --- The organisation's page ---------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "where", "shown"),
    [
        ("administrator", "other member", True),
        ("editor of CECOP", "member", True),
        ("editor of CECOP", "former member", True),
        ("editor of CECOP", "other member", False),
        ("editor of CECOP", "unaffiliated", False),
        ("read-only", "member", False),
    ],
)
def test_an_organisations_page_shows_its_contacts_only_to_those_who_may_see_them(
    client, world, role, where, shown
):
    organisation = world["organisations"][where]
    url = reverse("admin:members_organisation_change", args=[organisation.pk])
    response = _as(client, world["users"][role]).get(url)
    assert response.status_code == 200
    assert (world["contacts"][where].name in response.text) is shown
    assert ('name="contacts-TOTAL_FORMS"' in response.text) is shown


def test_an_editor_cannot_add_a_contact_through_another_federations_organisation_page(client, world):
    editor = world["users"]["editor of CECOP"]
    organisation = world["organisations"]["other member"]
    url = reverse("admin:members_organisation_change", args=[organisation.pk])
    data = post_data_from(_as(client, editor).get(url))
    data.update(
        {
            "contacts-TOTAL_FORMS": "1",
            "contacts-INITIAL_FORMS": "0",
            "contacts-0-name": "Smuggled in",
            "contacts-0-language": "en",
            "contacts-0-kept_because": "x",
        }
    )

    client.post(url, data)

    assert not Contact.objects.filter(name="Smuggled in").exists()


def test_an_editor_adds_a_contact_on_the_page_of_a_member_of_their_federation(client, world):
    editor = world["users"]["editor of CECOP"]
    organisation = world["organisations"]["member"]
    url = reverse("admin:members_organisation_change", args=[organisation.pk])
    data = post_data_from(_as(client, editor).get(url))
    data.update(
        {
            "contacts-TOTAL_FORMS": str(int(data["contacts-TOTAL_FORMS"]) + 1),
            "contacts-1-name": "Newly added",
            "contacts-1-language": "es",
            "contacts-1-kept_because": "Treasurer, for the round",
        }
    )

    response = client.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    added = Contact.objects.get(name="Newly added")
    assert (added.organisation, added.language, added.is_main) == (organisation, "es", False)


def test_an_editor_cannot_give_a_contact_to_an_organisation_outside_their_scope(client, world):
    editor = _as(client, world["users"]["editor of CECOP"])
    outside = world["organisations"]["other member"]
    base = {"name": "New person", "language": "en", "kept_because": "x"}

    added = editor.post(_url("add"), {**base, "organisation": outside.pk})
    contact = world["contacts"]["member"]
    page = editor.get(_url("change", contact.pk))
    moved = editor.post(_url("change", contact.pk), {**post_data_from(page), "organisation": outside.pk})

    assert added.status_code == moved.status_code == 200
    assert "organisation" in added.context["adminform"].form.errors
    assert "organisation" in moved.context["adminform"].form.errors
    assert not Contact.objects.filter(name="New person").exists()
    contact.refresh_from_db()
    assert contact.organisation == world["organisations"]["member"]


def test_no_one_deletes_a_contact_as_django_deletes_it_since_erasure_takes_its_place(client, world):
    contact = world["contacts"]["member"]
    response = _as(client, world["users"]["administrator"]).post(_url("delete", contact.pk), {"post": "yes"})
    assert response.status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()


# --- Validation ------------------------------------------------------------------------


def _contact_form(client, user, **fields):
    return _as(client, user).post(
        _url("add"), {"name": "A second person", "language": "fr", "kept_because": "x", **fields}
    )


def test_a_second_main_contact_is_refused_with_a_message_on_the_field(client, world):
    organisation = world["organisations"]["member"]
    response = _contact_form(
        client, world["users"]["administrator"], organisation=organisation.pk, is_main="on"
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["is_main"]
    assert "already has a main contact" in errors["is_main"][0]
    assert not Contact.objects.filter(name="A second person").exists()


def test_an_ordinary_second_contact_is_accepted(client, world):
    organisation = world["organisations"]["member"]
    response = _contact_form(client, world["users"]["administrator"], organisation=organisation.pk)
    assert response.status_code == 302
    assert Contact.objects.filter(organisation=organisation, name="A second person", is_main=False).exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"email": "not an address"}, "email"), ({"kept_because": ""}, "kept_because")],
)
def test_an_invalid_address_or_no_reason_to_keep_the_contact_is_refused(client, world, fields, field):
    organisation = world["organisations"]["member"]
    response = _contact_form(client, world["users"]["administrator"], organisation=organisation.pk, **fields)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Contact.objects.filter(name="A second person").exists()


def _organisation_page(client, user, organisation):
    url = reverse("admin:members_organisation_change", args=[organisation.pk])
    return url, post_data_from(_as(client, user).get(url))


def test_two_main_contacts_on_an_organisations_page_are_refused_with_a_message(client, world):
    organisation = world["organisations"]["member"]
    url, data = _organisation_page(client, world["users"]["administrator"], organisation)
    data.update(
        {
            "contacts-TOTAL_FORMS": "2",
            "contacts-1-name": "Another main",
            "contacts-1-language": "en",
            "contacts-1-kept_because": "x",
            "contacts-1-is_main": "on",
        }
    )

    response = client.post(url, data)

    assert response.status_code == 200
    assert "one main contact" in response.text
    assert not Contact.objects.filter(name="Another main").exists()


def test_the_main_contact_moves_from_one_person_to_another_on_an_organisations_page(client, world):
    organisation = world["organisations"]["member"]
    former_main = world["contacts"]["member"]
    url, data = _organisation_page(client, world["users"]["administrator"], organisation)
    data.pop("contacts-0-is_main")
    data.update(
        {
            "contacts-TOTAL_FORMS": "2",
            "contacts-1-name": "New main",
            "contacts-1-language": "en",
            "contacts-1-kept_because": "x",
            "contacts-1-is_main": "on",
        }
    )

    response = client.post(url, data)

    assert response.status_code == 302
    former_main.refresh_from_db()
    assert not former_main.is_main
    assert Contact.objects.get(organisation=organisation, is_main=True).name == "New main"


# --- Erasure ---------------------------------------------------------------------------


def _texts_in_database():
    """Every text value of every table of every installed model: where a trace of a person could remain."""
    texts = []
    for model in apps.get_models(include_auto_created=True):
        columns = [
            field.attname
            for field in model._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField | models.JSONField)
        ]
        if columns:
            for row in model._base_manager.values_list(*columns):
                texts.extend(json.dumps(value) if not isinstance(value, str) else value for value in row)
    return texts


def _traces_of(person, texts):
    forms = set()
    for text in person:
        forms |= {text, json.dumps(text)[1:-1]}
    return sorted({form for form in forms for text in texts if form in text})


@pytest.fixture
def person(world, client):
    """A contact with a history, an invitation and the admin's log entries that name it."""
    administrator = world["users"]["administrator"]
    organisation = world["organisations"]["member"]
    contact = world["contacts"]["member"]
    contact.name, contact.email, contact.phone = (
        "Zoë Quintanilla-Erasé",
        "zoe.q@erase.example",
        "+1 787 555 0199",
    )
    contact.save()
    contact.role = "Treasurer"
    contact.save()
    answer = RoundAnswer.objects.create(
        round=FiguresRound.objects.create(federation=world["cecop"], year=2018, closes_on="2019-03-31"),
        organisation=organisation,
        contact=contact,
        link_key="k",
    )
    # Through the admin: its own page, and its row on the organisation's page.
    _as(client, administrator)
    page = client.get(_url("change", contact.pk))
    assert (
        client.post(_url("change", contact.pk), {**post_data_from(page), "role": "Chair"}).status_code == 302
    )
    url, data = _organisation_page(client, administrator, organisation)
    data["contacts-0-role"] = "Chair and treasurer"
    assert client.post(url, data).status_code == 302
    return {"contact": contact, "answer": answer, "words": [contact.name, contact.email, contact.phone]}


def test_the_person_is_found_in_the_database_before_erasure(person):
    # The search below can fail: before erasure it finds the person in the history and the log.
    texts = _texts_in_database()
    assert _traces_of(person["words"], texts)
    assert any("Zo\\u00eb" in text for text in texts), "the log quotes the name as JSON writes it"


def test_erasure_leaves_nothing_of_the_person_but_the_record_that_one_was_erased(world, person):
    contact, administrator = person["contact"], world["users"]["administrator"]
    organisation = contact.organisation

    erasure = erase_contact(contact, administrator)

    assert _traces_of(person["words"], _texts_in_database()) == []
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert not Contact.history.filter(id=contact.pk).exists()
    person["answer"].refresh_from_db()
    assert person["answer"].contact is None
    assert not RoundAnswer.history.filter(contact_id=contact.pk).exists()
    assert (erasure.organisation, erasure.erased_by) == (organisation, administrator)
    assert ContactErasure.objects.count() == 1
    # The organisation's log keeps its entries, with the contact's name replaced.
    assert LogEntry.objects.filter(
        object_id=str(organisation.pk), change_message__contains="erased contact"
    ).exists()


def test_the_erase_button_asks_for_confirmation_then_erases(client, world, person):
    contact = person["contact"]
    editor = _as(client, world["users"]["editor of CECOP"])
    change_page = editor.get(_url("change", contact.pk))

    confirmation = editor.get(_url("erase", contact.pk))
    unconfirmed = editor.post(_url("erase", contact.pk), {"erase": "Erase"})
    assert Contact.objects.filter(pk=contact.pk).exists()
    confirmed = editor.post(_url("erase", contact.pk), {"erase": "Erase", "requested": "on"})

    assert _url("erase", contact.pk) in change_page.text
    assert confirmation.status_code == unconfirmed.status_code == 200
    assert contact.name in confirmation.text
    assert "requested" in unconfirmed.context["form"].errors
    assert confirmed.status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert _traces_of(person["words"], _texts_in_database()) == []
    erasure = ContactErasure.objects.get()
    assert erasure.erased_by == world["users"]["editor of CECOP"]


def test_the_erase_action_erases_the_selected_contacts_after_confirmation(client, world):
    selected = [world["contacts"]["member"], world["contacts"]["former member"]]
    ids = [str(contact.pk) for contact in selected]
    editor = _as(client, world["users"]["editor of CECOP"])
    action = {"action": "erase_contacts", "_selected_action": ids}

    confirmation = editor.post(_url("changelist"), {**action, "index": "0"})
    confirmed = editor.post(_url("changelist"), {**action, "erase": "Erase", "requested": "on"})

    assert confirmation.status_code == 200
    assert all(contact.name in confirmation.text for contact in selected)
    assert confirmed.status_code == 302
    assert not Contact.objects.filter(pk__in=ids).exists()
    assert ContactErasure.objects.count() == 2


def test_the_erase_action_never_reaches_a_contact_outside_the_editors_scope(client, world):
    outside = world["contacts"]["other member"]
    editor = _as(client, world["users"]["editor of CECOP"])
    editor.post(
        _url("changelist"),
        {
            "action": "erase_contacts",
            "_selected_action": [str(outside.pk)],
            "erase": "Erase",
            "requested": "on",
        },
    )
    assert Contact.objects.filter(pk=outside.pk).exists()
    assert not ContactErasure.objects.exists()


@pytest.mark.parametrize(
    ("role", "status"),
    [("administrator", 200), ("editor of CECOP", 403), ("read-only", 403)],
)
def test_only_administrators_see_the_list_of_erasures(client, world, role, status):
    erase_contact(world["contacts"]["member"], world["users"]["administrator"])
    response = _as(client, world["users"][role]).get(reverse("admin:members_contacterasure_changelist"))
    assert response.status_code == status
    if status == 200:
        assert "Member co-operative" in response.text


def test_the_list_of_erasures_is_read_only(client, world):
    erasure = erase_contact(world["contacts"]["member"], world["users"]["administrator"])
    administrator = _as(client, world["users"]["administrator"])
    assert administrator.get(reverse("admin:members_contacterasure_add")).status_code == 403
    deleted = administrator.post(
        reverse("admin:members_contacterasure_delete", args=[erasure.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 403
    assert ContactErasure.objects.filter(pk=erasure.pk).exists()


# --- Export for mailing ---------------------------------------------------------------------


def test_the_export_for_mailing_holds_the_contacts_the_editor_sees_and_no_other(client, world):
    response = _as(client, world["users"]["editor of CECOP"]).get(_url("export_mailing"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = _csv_rows(response)
    header, body = rows[0], rows[1:]
    assert header[2] == "name"
    assert {row[2] for row in body} == {world["contacts"][where].name for where in INSIDE}


def test_the_export_for_mailing_writes_the_list_as_filtered(client, world):
    spanish = world["contacts"]["member"]
    spanish.language, spanish.bounced_on, spanish.phone = "es", datetime.date(2024, 5, 2), "+34 91 000 00 00"
    spanish.save()
    admin_client = _as(client, world["users"]["administrator"])

    page = admin_client.get(_url("changelist"), {"language": "es"})
    response = admin_client.get(_url("export_mailing"), {"language": "es"})

    assert _url("export_mailing") + "?language=es" in page.text
    rows = _csv_rows(response)
    assert rows[1:] == [
        [
            "Member co-operative",
            "France",
            spanish.name,
            spanish.role,
            spanish.email,
            "'" + spanish.phone,  # a spreadsheet would run "+34 …" as a formula
            "es",
            "yes",
            "2024-05-02",
        ]
    ]


def test_the_export_for_mailing_neutralises_formulas(client, world):
    contact = world["contacts"]["member"]
    contact.name, contact.role = '=HYPERLINK("http://x")', "+cmd"
    contact.save()
    response = _as(client, world["users"]["administrator"]).get(_url("export_mailing"), {"q": "HYPERLINK"})
    rows = _csv_rows(response)
    assert rows[1][2:4] == ['\'=HYPERLINK("http://x")', "'+cmd"]


def test_the_export_action_writes_only_the_selected_contacts(client, world):
    chosen = world["contacts"]["former member"]
    response = _as(client, world["users"]["editor of CECOP"]).post(
        _url("changelist"),
        {"action": "export_for_mailing", "_selected_action": [str(chosen.pk)], "index": "0"},
    )
    assert [row[2] for row in _csv_rows(response)[1:]] == [chosen.name]


@pytest.mark.parametrize("role", ["read-only", "anonymous"])
def test_no_one_else_gets_the_export_for_mailing(client, world, role):
    response = _as(client, world["users"].get(role)).get(_url("export_mailing"))
    assert response.status_code in {302, 403}
    assert not hasattr(response, "streaming_content")


def test_an_editor_of_another_federation_exports_none_of_cecops_contacts(client, world):
    response = _as(client, world["users"]["editor of OTHER"]).get(_url("export_mailing"))
    names = {row[2] for row in _csv_rows(response)[1:]}
    assert names == {world["contacts"]["other federation"].name, world["contacts"]["other member"].name}


# --- The permission functions themselves ----------------------------------------------------


def test_the_scope_functions_agree_with_the_list_for_every_role_and_contact(world):
    for user in world["users"].values():
        visible = set(permissions.contacts_visible_to(user).values_list("pk", flat=True))
        for contact in world["contacts"].values():
            assert permissions.can_view_contact(user, contact) is (contact.pk in visible)
            assert permissions.can_edit_contact(user, contact) is (contact.pk in visible)


def test_an_organisation_with_contacts_is_not_deleted_before_they_are_erased(client, world):
    # Deleting it would delete its contacts as Django deletes, leaving their history behind.
    organisation = world["organisations"]["unaffiliated"]
    url = reverse("admin:members_organisation_delete", args=[organisation.pk])
    administrator = _as(client, world["users"]["administrator"])

    refused = administrator.post(url, {"post": "yes"})
    erase_contact(world["contacts"]["unaffiliated"], world["users"]["administrator"])
    deleted = administrator.post(url, {"post": "yes"})

    assert refused.status_code == 403
    assert deleted.status_code == 302
    assert not Organisation.objects.filter(pk=organisation.pk).exists()
    # The record of the erasure outlives the organisation.
    erasure = ContactErasure.objects.get()
    assert erasure.organisation is None
    assert str(erasure) == "A contact of an organisation since deleted, erased on request"


def test_an_editors_organisation_menu_on_a_contact_offers_only_their_scope(client, world):
    params = {"app_label": "members", "model_name": "contact", "field_name": "organisation", "term": ""}
    response = _as(client, world["users"]["editor of CECOP"]).get(reverse("admin:autocomplete"), params)
    offered = {int(item["id"]) for item in response.json()["results"]}
    assert offered == {world["organisations"][where].pk for where in INSIDE}


def test_the_export_for_mailing_reads_its_rows_in_one_query_whatever_their_number(
    world, django_assert_num_queries
):
    for number in range(20):
        ContactFactory(organisation=world["organisations"]["unaffiliated"], name=f"Extra {number}")

    # One query: the contacts with their organisations (a join), whatever their number.
    with django_assert_num_queries(1):
        text = "".join(mailing_csv(Contact.objects.all()))
    assert text.count("\n") == 1 + Contact.objects.count()
