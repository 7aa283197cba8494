"""Admission rules where the work happens: the warning on saving, the pre-filled fix, requests, the checks."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.models import AdmissionRule, Membership, MembershipRequest, Organisation
from tests.factories import FederationFactory, MembershipFactory, OrganisationFactory

TODAY = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=datetime.UTC)
ADD_MEMBERSHIP = reverse("admin:members_membership_add")
ADD_REQUEST = reverse("admin:members_membershiprequest_add")
REQUESTS = reverse("admin:members_membershiprequest_changelist")
CHECKS = reverse("admin:members_organisation_consistency")


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(TODAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def network(db):
    cicopa = FederationFactory(
        slug="cicopa", name="CICOPA", acronym="CICOPA", kind=Organisation.Kind.INTERNATIONAL
    )
    cecop = FederationFactory(slug="cecop", name="CECOP", acronym="CECOP", kind=Organisation.Kind.REGIONAL)
    AdmissionRule.objects.create(
        federation=cecop, requires=cicopa, description="CECOP admits only CICOPA members."
    )
    newcomer = OrganisationFactory(slug="newcomer", name="Newcomer", country="IT")
    return {"cicopa": cicopa, "cecop": cecop, "newcomer": newcomer}


@pytest.fixture
def administrator(client, staff_member):
    client.force_login(staff_member("administrator"))
    return client


@pytest.fixture
def cecop_editor_user(staff_member, network):
    return staff_member("editor", [network["cecop"]])


@pytest.fixture
def cecop_editor(client, cecop_editor_user):
    client.force_login(cecop_editor_user)
    return client


def _messages(response):
    return list(get_messages(response.wsgi_request))


def _warnings(response):
    return [str(m) for m in _messages(response) if m.level_tag == "warning"]


def _link(html, label):
    start = html.index(label)
    href = html.rindex('href="', 0, start) + len('href="')
    url = html[href : html.index('"', href)].replace("&amp;", "&")
    parts = urlsplit(url)
    return parts.path, {name: values[0] for name, values in parse_qs(parts.query).items()}


def _membership_form(member, federation, joined_on="2024-03-01", precision="month", **extra):
    return {
        "member": member.pk,
        "federation": federation.pk,
        "category": "full",
        "joined_on": joined_on,
        "joined_precision": precision,
        "left_precision": "day",
        **extra,
    }


def _inline_form(client, organisation, federation, joined_on="2024-03-01", precision="month"):
    """The organisation's page as its form sends it, with one new membership row."""
    page = client.get(reverse("admin:members_organisation_change", args=[organisation.pk]))
    data = {"_continue": "1"}
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(
            {f"{formset.prefix}-{name}": value for name, value in formset.management_form.initial.items()}
        )
        if formset.model is Membership and inline.has_add_permission:
            row = f"{formset.prefix}-{formset.total_form_count()}"
            data[f"{formset.prefix}-TOTAL_FORMS"] = formset.total_form_count() + 1
            data.update(
                {
                    f"{row}-federation": federation.pk,
                    f"{row}-category": "full",
                    f"{row}-joined_on": joined_on,
                    f"{row}-joined_precision": precision,
                    f"{row}-left_precision": "day",
                    f"{row}-member": organisation.pk,
                }
            )
    return data


def test_saving_a_membership_that_breaks_a_rule_saves_it_and_offers_the_missing_one(administrator, network):
    newcomer, cecop, cicopa = network["newcomer"], network["cecop"], network["cicopa"]

    response = administrator.post(ADD_MEMBERSHIP, _membership_form(newcomer, cecop), follow=True)

    assert Membership.objects.filter(member=newcomer, federation=cecop).exists()
    (warning,) = _warnings(response)
    assert "breaks an admission rule" in warning
    assert "from March 2024 but not of CICOPA" in warning
    path, params = _link(warning, "Add the missing membership")
    assert path == ADD_MEMBERSHIP
    assert params == {
        "member": str(newcomer.pk),
        "federation": str(cicopa.pk),
        "category": "full",
        "joined_on": "2024-03-01",
        "joined_precision": "month",
    }
    # The link opens the add form with every field filled in.
    form = administrator.get(path, params).context["adminform"].form
    assert {name: str(form[name].value()) for name in params} == params


def test_saving_a_membership_that_breaks_no_rule_warns_of_nothing(administrator, network):
    newcomer = network["newcomer"]
    MembershipFactory(member=newcomer, federation=network["cicopa"], joined_on=datetime.date(2020, 1, 1))

    response = administrator.post(ADD_MEMBERSHIP, _membership_form(newcomer, network["cecop"]), follow=True)

    assert response.status_code == 200
    assert _warnings(response) == []


def test_a_regional_organisations_link_breaks_no_rule(administrator, network):
    region = OrganisationFactory(slug="region", country="IT")

    response = administrator.post(
        ADD_MEMBERSHIP, _membership_form(region, network["cecop"], category="regional"), follow=True
    )

    assert Membership.objects.filter(member=region, category="regional").exists()
    assert _warnings(response) == []


def test_ending_a_membership_another_requires_warns_with_the_checks_of_that_day(administrator, network):
    newcomer = network["newcomer"]
    required = MembershipFactory(
        member=newcomer, federation=network["cicopa"], joined_on=datetime.date(2020, 1, 1)
    )
    MembershipFactory(member=newcomer, federation=network["cecop"], joined_on=datetime.date(2021, 1, 1))
    form = _membership_form(newcomer, network["cicopa"], "2020-01-01", "day", left_on="2025-01-01")

    response = administrator.post(
        reverse("admin:members_membership_change", args=[required.pk]), form, follow=True
    )

    (warning,) = _warnings(response)
    assert "is still a member of CECOP" in warning
    assert _link(warning, "See the checks of that day") == (CHECKS, {"as_of": "2025-01-01"})


def test_an_editor_who_may_not_add_the_missing_membership_is_offered_to_ask_the_secretariat(
    cecop_editor, cecop_editor_user, network
):
    newcomer, cicopa = network["newcomer"], network["cicopa"]
    page = reverse("admin:members_organisation_change", args=[newcomer.pk])

    response = cecop_editor.post(page, _inline_form(cecop_editor, newcomer, network["cecop"]), follow=True)

    assert Membership.objects.filter(member=newcomer, federation=network["cecop"]).exists()
    (warning,) = _warnings(response)
    assert "Add the missing membership" not in warning
    path, params = _link(warning, "Ask the secretariat to add it")
    assert path == ADD_REQUEST
    assert params["federation"] == str(cicopa.pk)
    assert params["joined_on"] == "2024-03-01"
    assert params["joined_precision"] == "month"
    assert "CECOP admits only CICOPA members." in params["note"]

    # The request form opens filled in; the editor sends it as it is.
    form = cecop_editor.get(path, params).context["adminform"].form
    fields = ("member", "federation", "category", "joined_on", "joined_precision", "note")
    sent = {name: form[name].value() for name in fields}
    cecop_editor.post(ADD_REQUEST, {**sent, "status": "done"})

    asked = MembershipRequest.objects.get()
    assert (asked.member, asked.federation, asked.joined_on) == (newcomer, cicopa, datetime.date(2024, 3, 1))
    assert asked.requested_by == cecop_editor_user
    # A crafted status is not the editor's to set.
    assert asked.status == MembershipRequest.Status.OPEN
    assert not Membership.objects.filter(member=newcomer, federation=cicopa).exists()


def _request(network, by, **fields):
    wanted = {
        "member": network["newcomer"],
        "federation": network["cicopa"],
        "joined_on": datetime.date(2024, 3, 1),
        "joined_precision": "month",
        "requested_by": by,
    }
    return MembershipRequest.objects.create(**{**wanted, **fields})


def test_an_editor_sees_their_own_requests_only(cecop_editor, cecop_editor_user, staff_member, network):
    mine = _request(network, cecop_editor_user)
    theirs = _request(
        network, staff_member("editor", [network["cicopa"]]), joined_on=datetime.date(2025, 1, 1)
    )

    listed = cecop_editor.get(REQUESTS).context["cl"].result_list

    assert list(listed) == [mine]
    assert (
        cecop_editor.get(reverse("admin:members_membershiprequest_change", args=[theirs.pk])).status_code
        == 302
    )


def test_an_editor_can_neither_change_nor_decline_a_request(cecop_editor, cecop_editor_user, network):
    mine = _request(network, cecop_editor_user)

    cecop_editor.post(
        reverse("admin:members_membershiprequest_change", args=[mine.pk]), {"status": "declined"}
    )
    cecop_editor.post(REQUESTS, {"action": "mark_declined", "_selected_action": [mine.pk]})

    mine.refresh_from_db()
    assert mine.status == MembershipRequest.Status.OPEN


def test_the_secretariat_adds_the_membership_asked_for_and_the_request_is_done(
    administrator, cecop_editor_user, network
):
    asked = _request(network, cecop_editor_user)
    listing = administrator.get(REQUESTS).content.decode()
    path, params = _link(listing, "Add the membership")

    assert path == ADD_MEMBERSHIP
    response = administrator.post(path, {**params, "left_precision": "day"}, follow=True)

    added = Membership.objects.get(member=network["newcomer"], federation=network["cicopa"])
    assert (added.joined_on, added.joined_precision) == (datetime.date(2024, 3, 1), "month")
    asked.refresh_from_db()
    assert asked.status == MembershipRequest.Status.DONE
    assert asked.membership == added
    assert "request is marked done" in " ".join(str(m) for m in _messages(response))


def test_the_secretariat_declines_a_request(administrator, cecop_editor_user, network):
    asked = _request(network, cecop_editor_user)

    administrator.post(REQUESTS, {"action": "mark_declined", "_selected_action": [asked.pk]})

    asked.refresh_from_db()
    assert asked.status == MembershipRequest.Status.DECLINED


def test_read_only_staff_see_every_request_and_may_ask_for_none(
    client, staff_member, cecop_editor_user, network
):
    asked = _request(network, cecop_editor_user)
    client.force_login(staff_member("read-only"))

    assert list(client.get(REQUESTS).context["cl"].result_list) == [asked]
    assert client.get(ADD_REQUEST).status_code == 403


def test_a_visitor_is_sent_to_sign_in_from_the_requests(client, db):
    for url in (REQUESTS, ADD_REQUEST, CHECKS):
        assert "login" in client.get(url)["Location"]


# The Checks page


@pytest.fixture
def breach(network):
    return MembershipFactory(
        member=network["newcomer"],
        federation=network["cecop"],
        joined_on=datetime.date(2019, 7, 1),
        joined_precision="half",
        left_on=datetime.date(2024, 1, 1),
    )


def test_the_checks_page_shows_the_breaches_of_the_day_chosen(administrator, breach):
    today = administrator.get(CHECKS)
    then = administrator.get(CHECKS, {"as_of": "2020-06-30"})

    assert today.context["rows"] == []
    assert [b.organisation for b, _fix in then.context["rows"]] == [breach.member]
    assert "30 June 2020" in then.content.decode()


def test_the_checks_pages_fix_carries_the_federation_and_the_date(administrator, breach, network):
    page = administrator.get(CHECKS, {"as_of": "2020-06-30"}).content.decode()

    path, params = _link(page, "Add the missing membership")
    assert path == ADD_MEMBERSHIP
    assert (params["federation"], params["joined_on"], params["joined_precision"]) == (
        str(network["cicopa"].pk),
        "2019-07-01",
        "half",
    )


def test_a_cecop_editors_fix_on_the_checks_page_is_a_request_with_the_date(cecop_editor, breach, network):
    page = cecop_editor.get(CHECKS, {"as_of": "2020-06-30"}).content.decode()

    path, params = _link(page, "Ask the secretariat to add it")

    assert path == ADD_REQUEST
    assert (params["federation"], params["joined_on"]) == (str(network["cicopa"].pk), "2019-07-01")


@pytest.mark.parametrize("day", ["2020-02-30", "yesterday", "99999-01-01", "1700-01-01", "2020-1-1x"])
def test_a_crafted_day_on_the_checks_page_is_refused_with_a_message(administrator, breach, day):
    response = administrator.get(CHECKS, {"as_of": day})

    assert response.status_code == 200
    assert response.context["rows"] == []
    assert "Choose the day again" in response.content.decode()


# The admin's home


def test_the_admin_home_counts_todays_breaches_and_links_to_the_checks(administrator, network):
    MembershipFactory(
        member=network["newcomer"], federation=network["cecop"], joined_on=datetime.date(2025, 1, 1)
    )

    page = administrator.get(reverse("admin:index")).content.decode()

    assert f'<a href="{CHECKS}">1 admission-rule breach today</a>' in page


def test_the_admin_homes_count_is_computed_once_per_version_of_the_register(
    administrator, network, frozen_today
):
    MembershipFactory(
        member=network["newcomer"], federation=network["cecop"], joined_on=datetime.date(2025, 1, 1)
    )
    home = reverse("admin:index")
    administrator.get(home)

    with CaptureQueriesContext(connection) as cached:
        again = administrator.get(home).content.decode()
    # The register's version is a time: the clock moves on before the change.
    frozen_today.shift(datetime.timedelta(seconds=1))
    MembershipFactory(
        member=network["newcomer"], federation=network["cicopa"], joined_on=datetime.date(2024, 1, 1)
    )
    after_a_change = administrator.get(home).content.decode()

    assert not [q for q in cached.captured_queries if "admissionrule" in q["sql"]]
    assert "1 admission-rule breach today" in again
    assert "0 admission-rule breaches today" in after_a_change


def test_the_secretariat_sees_the_open_requests_on_the_admin_home(administrator, cecop_editor_user, network):
    _request(network, cecop_editor_user)
    _request(network, cecop_editor_user, joined_on=datetime.date(2025, 1, 1), status="done")

    page = administrator.get(reverse("admin:index")).content.decode()

    assert "1 membership request waits" in page
