"""The staff lists agree with the statistics: regional links apart, periods, scoped autocompletes, exports."""

import csv
import datetime
import io

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from members import stats
from members.models import Membership, Organisation
from tests.factories import DeclaredFiguresFactory, MembershipFactory, OrganisationFactory

TODAY = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=datetime.UTC)
MEMBERSHIPS = reverse("admin:members_membership_changelist")
ORGANISATIONS = reverse("admin:members_organisation_changelist")
AUTOCOMPLETE = reverse("admin:autocomplete")


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def register(seeded):
    return {o.slug: o for o in Organisation.objects.all()}


@pytest.fixture
def administrator(client, staff_member):
    client.force_login(staff_member("administrator"))
    return client


@pytest.fixture
def cecop_editor(client, staff_member, register):
    client.force_login(staff_member("editor", [register["cecop"]]))
    return client


def _rows(response):
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def _members(response):
    return sorted(m.member.slug for m in _rows(response))


def _slugs(response):
    return sorted(o.slug for o in _rows(response))


def _message(response):
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


# Regional links apart from members


def test_the_membership_list_of_a_federation_counts_what_the_statistics_count(administrator, register):
    cicopa = register["cicopa"]

    current = _rows(administrator.get(MEMBERSHIPS, {"federation": cicopa.pk}))
    # Every membership that joined in 2017, current or not (ULCCS has since left).
    joined_2017 = _rows(
        administrator.get(MEMBERSHIPS, {"federation": cicopa.pk, "joined": "2017", "status": "all"})
    )

    # ULCCS left at the end of 2022 (the seed): three members today.
    assert len(current) == stats.federation_figures(cicopa).members == 3
    growth_2017 = next(year for year in stats.growth(cicopa) if year.year == 2017)
    assert len(joined_2017) == growth_2017.joins
    assert "cecop" not in {m.member.slug for m in joined_2017}


def test_the_organisation_list_of_a_federation_counts_what_the_statistics_count(administrator, register):
    cicopa = register["cicopa"]

    joined_2017 = _slugs(administrator.get(ORGANISATIONS, {"federation": cicopa.pk, "joined": "2017"}))
    current = _slugs(administrator.get(ORGANISATIONS, {"federation": cicopa.pk, "status": "current"}))

    assert joined_2017 == ["credit-cooperatif", "ligacoop", "smart", "ulccs"]
    # ULCCS left at the end of 2022 (the seed).
    assert current == ["credit-cooperatif", "ligacoop", "smart"]
    assert len(current) == stats.federation_figures(cicopa).members


def test_regional_links_are_listed_apart_when_asked_for(administrator, register):
    links = administrator.get(MEMBERSHIPS, {"federation": register["cicopa"].pk, "category": "regional"})
    organisations = administrator.get(ORGANISATIONS, {"category": "regional"})
    page = administrator.get(ORGANISATIONS, {"q": "CECOP"}).text

    assert _members(links) == ["cecop"]
    assert "Regional links (not members)" in links.text
    assert "Members (any category)" in links.text
    assert _slugs(organisations) == ["cecop"]
    assert "regional organisation of CICOPA" in page


def test_an_organisation_with_only_a_regional_link_is_never_a_member(administrator, register):
    never = _slugs(administrator.get(ORGANISATIONS, {"status": "never"}))
    current = _slugs(administrator.get(ORGANISATIONS, {"status": "current"}))

    assert "cecop" in never
    assert "cecop" not in current


# Periods


@pytest.fixture
def periods(register):
    cicopa = register["cicopa"]
    early = OrganisationFactory(slug="early", country="IT")
    late = OrganisationFactory(slug="late", country="IT")
    attested = OrganisationFactory(slug="attested", country="IT")
    gone = OrganisationFactory(slug="gone", country="IT")
    MembershipFactory(member=early, federation=cicopa, joined_on=datetime.date(2019, 2, 10))
    MembershipFactory(member=late, federation=cicopa, joined_on=datetime.date(2019, 9, 1))
    attested_on = datetime.date(2019, 3, 1)
    MembershipFactory(member=attested, federation=cicopa, joined_on=attested_on, joined_precision="by")
    left_on = datetime.date(2022, 12, 31)
    MembershipFactory(member=gone, federation=cicopa, joined_on=datetime.date(2010, 1, 1), left_on=left_on)
    return cicopa


def test_the_lists_filter_memberships_joined_between_two_days(administrator, periods):
    between = {"joined_from": "2019-01-01", "joined_to": "2019-06-30"}

    assert _members(administrator.get(MEMBERSHIPS, between)) == ["early"]
    assert _slugs(administrator.get(ORGANISATIONS, {**between, "federation": periods.pk})) == ["early"]


def test_a_half_year_is_a_period_and_a_start_only_attested_is_no_join(administrator, periods):
    first = administrator.get(MEMBERSHIPS, {"joined_half": "2019-1"})
    second = administrator.get(MEMBERSHIPS, {"joined_half": "2019-2"})

    assert _members(first) == ["early"]
    assert _members(second) == ["late"]
    assert "first half of 2019" in first.text
    growth_2019 = next(year for year in stats.growth(periods) if year.year == 2019)
    assert growth_2019.joins == 2 == len(_rows(administrator.get(MEMBERSHIPS, {"joined": "2019"})))


def test_the_lists_filter_by_the_year_left_and_a_period_of_leaving(administrator, periods):
    left_2022 = administrator.get(MEMBERSHIPS, {"left": "2022"})
    left_between = administrator.get(MEMBERSHIPS, {"left_from": "2022-07-01", "left_to": "2022-12-31"})
    organisations = administrator.get(ORGANISATIONS, {"left": "2022", "federation": periods.pk})

    # The list of those who left shows them, though none is current. The seed's ULCCS left CICOPA
    # "at the end of 2022" (stored as 1 January 2023): a departure of 2022, dated 31 December.
    assert _members(left_2022) == _members(left_between) == ["gone", "ulccs"]
    assert _slugs(organisations) == ["gone", "ulccs"]
    assert _members(administrator.get(MEMBERSHIPS, {"left": "2021"})) == []


def test_the_period_form_keeps_the_lists_other_filters(administrator, periods):
    page = administrator.get(MEMBERSHIPS, {"federation": periods.pk, "joined_half": "2019-1"}).text

    assert f'<input type="hidden" name="federation" value="{periods.pk}">' in page
    assert '<option value="2019-1" selected>' in page


@pytest.mark.parametrize(
    "params",
    [
        {"joined_from": "2019-02-30"},
        {"joined_from": "yesterday"},
        {"joined_to": "99999-01-01"},
        {"joined_from": "2019-07-01", "joined_to": "2019-01-01"},
        {"joined_half": "2019-3"},
        {"joined_half": "0001-1"},
        {"joined_half": "2019-1 "},
        {"left_from": "1700-01-01"},
        {"left": "99999999999999999999"},
        {"left": "abc"},
        {"category": "everything"},
    ],
)
@pytest.mark.parametrize("url", [MEMBERSHIPS, ORGANISATIONS])
def test_a_crafted_period_is_refused_with_a_message_never_an_error(administrator, periods, url, params):
    response = administrator.get(url, params, follow=True)

    assert response.status_code == 200
    assert "could not be filtered" in _message(response)


# Autocompletes offer what may be saved


def _offered(client, model, field, term=""):
    response = client.get(
        AUTOCOMPLETE, {"app_label": "members", "model_name": model, "field_name": field, "term": term}
    )
    assert response.status_code == 200
    return {int(result["id"]) for result in response.json()["results"]}


def test_a_cecop_editors_federation_autocomplete_offers_only_cecop(cecop_editor, register):
    offered = _offered(cecop_editor, "membership", "federation")

    assert offered == {register["cecop"].pk}
    assert register["cicopa"].pk not in _offered(cecop_editor, "membership", "federation", "CICOPA")


def test_a_cecop_editors_member_autocomplete_offers_any_organisation_that_may_join(cecop_editor, register):
    # Any organisation may join CECOP: the member field is not the editor's scope.
    assert _offered(cecop_editor, "membership", "member") == {o.pk for o in register.values()}


def test_a_cecop_editors_declaration_autocomplete_offers_only_what_they_may_declare_for(
    cecop_editor, register
):
    only_cecop = OrganisationFactory(slug="only-cecop")
    MembershipFactory(member=only_cecop, federation=register["cecop"])
    DeclaredFiguresFactory(organisation=only_cecop)

    offered = _offered(cecop_editor, "declaredfigures", "organisation")

    # SMart and Crédit Coopératif are CICOPA's too: shared, not the CECOP editor's.
    assert offered == {register["cecop"].pk, only_cecop.pk}


def test_an_administrators_autocomplete_offers_every_organisation(administrator, register):
    assert _offered(administrator, "membership", "federation") == {o.pk for o in register.values()}


def test_the_autocomplete_choice_an_editor_is_offered_is_one_the_form_saves(cecop_editor, register):
    newcomer = OrganisationFactory(slug="newcomer", country="IT")
    (federation,) = _offered(cecop_editor, "membership", "federation")

    response = cecop_editor.post(
        reverse("admin:members_membership_add"),
        {
            "member": newcomer.pk,
            "federation": federation,
            "category": "full",
            "joined_on": "2020-01-01",
            "joined_precision": "day",
            "left_precision": "day",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Membership.objects.filter(member=newcomer, federation_id=federation).exists()


# Exports


def _csv(response, delimiter=","):
    text = b"".join(response.streaming_content).decode()
    return text, list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter))


def test_an_export_filtered_by_a_federation_writes_only_that_federations_memberships(administrator, register):
    cecop = register["cecop"]

    export = reverse("admin:members_organisation_export_csv")

    _text, rows = _csv(administrator.get(export, {"federation": cecop.pk, "status": "current"}))

    assert sorted((r["slug"], r["federation"]) for r in rows) == [
        ("credit-cooperatif", "cecop"),
        ("smart", "cecop"),
    ]
    assert len(rows) == stats.federation_figures(cecop).members


def test_an_export_without_membership_filters_writes_every_membership(administrator, register):
    _text, rows = _csv(administrator.get(reverse("admin:members_organisation_export_csv"), {"q": "SMart"}))

    assert sorted(r["federation"] for r in rows) == ["cecop", "cicopa"]


def test_the_export_screen_offers_the_separator_and_the_byte_order_mark(administrator, register):
    cecop = register["cecop"]
    changelist = administrator.get(ORGANISATIONS, {"federation": cecop.pk, "status": "current"}).text
    screen_url = reverse("admin:members_organisation_export") + f"?federation={cecop.pk}&status=current"

    screen = administrator.get(screen_url)

    assert screen_url.replace("&", "&amp;") in changelist
    assert 'name="delimiter" value="semicolon"' in screen.text
    assert 'name="bom"' in screen.text
    assert "2 organisations will be exported" in screen.text
    assert f'<input type="hidden" name="federation" value="{cecop.pk}">' in screen.text
    # What the screen's form sends: its hidden filters, the choices ticked, its button.
    download = administrator.get(
        reverse("admin:members_organisation_export_csv"),
        {"federation": cecop.pk, "status": "current", "delimiter": "semicolon", "bom": "on", "download": "1"},
    )
    text, rows = _csv(download, delimiter=";")
    assert text.startswith("\ufeffslug;")
    assert {r["federation"] for r in rows} == {"cecop"}


def test_the_export_of_selected_organisations_asks_how_the_file_is_written_first(administrator, register):
    smart = register["smart"]
    data = {"action": "export_selected_csv", "_selected_action": [smart.pk]}

    screen = administrator.post(ORGANISATIONS, data)
    download = administrator.post(ORGANISATIONS, {**data, "download": "1", "delimiter": "semicolon"})

    assert screen.status_code == 200
    assert 'name="delimiter" value="semicolon"' in screen.text
    assert f'name="_selected_action" value="{smart.pk}"' in screen.text
    text, rows = _csv(download, delimiter=";")
    assert not text.startswith("\ufeff")
    assert sorted(r["federation"] for r in rows) == ["cecop", "cicopa"]


def test_an_export_screen_of_filters_the_list_cannot_use_exports_nothing_and_says_so(administrator, register):
    response = administrator.get(reverse("admin:members_organisation_export"), {"joined_half": "2017-9"})

    assert response.status_code == 302
    assert "Nothing was exported" in _message(response)


def test_the_export_screen_sends_a_visitor_to_sign_in_and_refuses_staff_who_may_not_view(
    client, django_user_model, register
):
    screen = reverse("admin:members_organisation_export")
    assert "login" in client.get(screen)["Location"]

    client.force_login(django_user_model.objects.create_user("clerk", is_staff=True))

    assert client.get(screen).status_code == 403
