"""The review list and the dashboard of a figures round, through the admin's real addresses.

Three personas: an administrator (every round), an editor of the round's
federation, and an editor of another federation, whose hand-made requests
are answered 403 and change nothing.
"""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from members import refresh
from members.models import Contact, DeclaredFigures, Organisation, RoundAnswer
from members.rounds.dashboard import LATE_AFTER_DAYS, dashboard
from tests.factories import DeclaredFiguresFactory, FederationFactory, MembershipFactory, OrganisationFactory
from tests.test_round_review import make_answer, make_round

D = datetime.date


@pytest.fixture
def world(db, staff_member):
    cicopa = FederationFactory(name="CICOPA", acronym="CICOPA", kind=Organisation.Kind.INTERNATIONAL)
    cecop = FederationFactory(name="CECOP", acronym="CECOP", kind=Organisation.Kind.REGIONAL)
    ligacoop = FederationFactory(name="Liga de Cooperativas de Puerto Rico", acronym="LIGACOOP")
    bank = OrganisationFactory(name="Crédit Coopératif")
    for member in (ligacoop, bank):
        MembershipFactory(member=member, federation=cicopa, joined_on=D(2017, 1, 1))
    MembershipFactory(member=bank, federation=cecop, joined_on=D(2017, 1, 1))
    figures_round = make_round(cicopa, closes_on=D(2019, 3, 31))
    return {
        "cicopa": cicopa,
        "ligacoop": ligacoop,
        "bank": bank,
        "round": figures_round,
        "administrator": staff_member("administrator"),
        "cicopa editor": staff_member("editor", [cicopa]),
        "cecop editor": staff_member("editor", [cecop]),
    }


def browser(user):
    client = Client()
    client.force_login(user)
    return client


def review_url(figures_round):
    return reverse("round-review:review", args=[figures_round.pk])


def dashboard_url(figures_round):
    return reverse("round-review:dashboard", args=[figures_round.pk])


# The review list


def test_the_review_list_shows_last_years_figure_the_difference_and_flags_a_large_change(world):
    DeclaredFiguresFactory(
        organisation=world["ligacoop"], year=2017, declared_on=D(2018, 3, 1), enterprises=100, employment=2000
    )
    make_answer(world["round"], world["ligacoop"], enterprises=110, employment=3000)

    response = browser(world["administrator"]).get(review_url(world["round"]))

    assert response.status_code == 200
    ((row, may_approve),) = response.context["to_review"]
    assert may_approve is True
    changes = {change.field: change for change in row.changes}
    assert (changes["enterprises"].shown_difference, changes["enterprises"].large) == ("+10", False)
    assert (changes["employment"].shown_difference, changes["employment"].shown_percent) == (
        "+1,000",
        "+50.0%",
    )
    assert changes["employment"].large is True
    page = response.text
    assert "+50.0%" in page
    assert 'class="employment large-change"' in page
    assert 'class="enterprises"' in page


def test_an_answer_not_yet_given_is_not_in_the_review_list(world):
    make_answer(world["round"], world["ligacoop"], status=RoundAnswer.Status.INVITED)

    response = browser(world["administrator"]).get(review_url(world["round"]))

    assert response.context["to_review"] == []
    assert response.context["reviewed"] == []


def test_approving_from_the_review_list_declares_the_figures_and_says_so(world):
    answer = make_answer(world["round"], world["ligacoop"])

    response = browser(world["cicopa editor"]).post(
        reverse("round-review:approve", args=[answer.pk]), follow=True
    )

    assert response.redirect_chain[-1][0] == review_url(world["round"])
    assert "answer is approved" in response.text
    declaration = DeclaredFigures.objects.get(organisation=world["ligacoop"])
    assert declaration.history.get().history_user == world["cicopa editor"]
    assert [row.answer.pk for row in response.context["reviewed"]] == [answer.pk]


def test_an_answer_the_member_sent_again_after_the_page_was_opened_is_not_approved(world):
    answer = make_answer(world["round"], world["ligacoop"])
    seen = answer.answered_at.isoformat()
    RoundAnswer.objects.filter(pk=answer.pk).update(
        employment=99_999, answered_at=answer.answered_at + datetime.timedelta(hours=1)
    )

    response = browser(world["administrator"]).post(
        reverse("round-review:approve", args=[answer.pk]), {"answered_at": seen}, follow=True
    )

    assert "changed the answer after you opened this page" in response.text
    assert not DeclaredFigures.objects.exists()


def test_the_approve_button_carries_when_the_answer_shown_was_sent(world):
    answer = make_answer(world["round"], world["ligacoop"])
    client = browser(world["administrator"])
    page = client.get(review_url(world["round"])).text

    assert f'name="answered_at" value="{answer.answered_at.isoformat()}"' in page


def test_a_second_approval_of_the_same_answer_is_refused_with_a_message(world):
    answer = make_answer(world["round"], world["ligacoop"])
    client = browser(world["administrator"])
    client.post(reverse("round-review:approve", args=[answer.pk]))

    response = client.post(reverse("round-review:approve", args=[answer.pk]), follow=True)

    assert "already been approved" in response.text
    assert DeclaredFigures.objects.filter(organisation=world["ligacoop"]).count() == 1


def test_returning_from_the_review_list_keeps_the_message(world):
    answer = make_answer(world["round"], world["bank"])

    browser(world["cicopa editor"]).post(
        reverse("round-review:return", args=[answer.pk]), {"message": "Vérifiez les effectifs."}
    )

    answer.refresh_from_db()
    assert (answer.status, answer.review_message) == (RoundAnswer.Status.RETURNED, "Vérifiez les effectifs.")


def test_returning_without_a_message_is_refused_and_says_why(world):
    answer = make_answer(world["round"], world["bank"])

    response = browser(world["administrator"]).post(
        reverse("round-review:return", args=[answer.pk]), {"message": ""}, follow=True
    )

    assert "Write the message" in response.text
    assert RoundAnswer.objects.get(pk=answer.pk).status == RoundAnswer.Status.ANSWERED


def test_an_editor_is_offered_no_approval_for_a_shared_organisation_and_a_crafted_post_is_forbidden(world):
    answer = make_answer(world["round"], world["bank"])
    client = browser(world["cicopa editor"])

    ((_row, may_approve),) = client.get(review_url(world["round"])).context["to_review"]
    response = client.post(reverse("round-review:approve", args=[answer.pk]))

    assert may_approve is False
    assert response.status_code == 403
    assert not DeclaredFigures.objects.exists()


@pytest.mark.parametrize("page", ["review", "dashboard"])
def test_an_editor_of_another_federation_cannot_see_the_rounds_pages(world, page):
    response = browser(world["cecop editor"]).get(reverse(f"round-review:{page}", args=[world["round"].pk]))

    assert response.status_code == 403


@pytest.mark.parametrize("action", ["approve", "return"])
def test_a_crafted_post_for_another_federations_round_is_forbidden_and_changes_nothing(world, action):
    answer = make_answer(world["round"], world["ligacoop"])

    response = browser(world["cecop editor"]).post(
        reverse(f"round-review:{action}", args=[answer.pk]), {"message": "Not yours"}
    )

    assert response.status_code == 403
    answer.refresh_from_db()
    assert (answer.status, answer.review_message) == (RoundAnswer.Status.ANSWERED, "")
    assert not DeclaredFigures.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in_and_nothing_is_approved(world):
    answer = make_answer(world["round"], world["ligacoop"])

    response = Client().post(reverse("round-review:approve", args=[answer.pk]))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    assert not DeclaredFigures.objects.exists()


def test_approving_needs_a_post_with_the_csrf_token(world):
    answer = make_answer(world["round"], world["ligacoop"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["administrator"])

    assert client.get(reverse("round-review:approve", args=[answer.pk])).status_code == 405
    assert client.post(reverse("round-review:approve", args=[answer.pk])).status_code == 403
    assert not DeclaredFigures.objects.exists()


# The dashboard


def _contact(organisation, **fields):
    return Contact.objects.create(
        organisation=organisation,
        name=f"Contact of {organisation.short_name}",
        email="someone@example.org",
        kept_because="Main contact for the yearly figures",
        **fields,
    )


def test_a_federation_editor_sees_the_dashboard_of_their_federations_round(world):
    assert browser(world["cicopa editor"]).get(dashboard_url(world["round"])).status_code == 200


def test_the_dashboard_counts_and_lists_each_state_of_the_round(world, time_machine):
    time_machine.move_to(datetime.datetime(2019, 3, 20, 12, tzinfo=datetime.UTC))
    cicopa, figures_round = world["cicopa"], world["round"]
    late, recent, bounced, answered, returned, approved = (
        OrganisationFactory(name=name)
        for name in ("Late", "Recent", "Bounced", "Answered", "Returned", "Approved")
    )
    long_ago = timezone.now() - datetime.timedelta(days=LATE_AFTER_DAYS + 1)
    yesterday = timezone.now() - datetime.timedelta(days=1)
    for organisation in (late, recent, bounced, answered, returned):
        MembershipFactory(member=organisation, federation=cicopa)
        _contact(organisation, is_main=True)
    invited = RoundAnswer.Status.INVITED
    make_answer(figures_round, late, status=invited, invited_at=long_ago, reminders=2, reminded_at=yesterday)
    make_answer(figures_round, recent, status=invited, invited_at=yesterday)
    make_answer(figures_round, bounced, status=invited, invited_at=yesterday, bounced_at=yesterday)
    make_answer(figures_round, answered, invited_at=long_ago)
    make_answer(figures_round, returned, status=RoundAnswer.Status.RETURNED, invited_at=long_ago)
    make_answer(figures_round, approved, status=RoundAnswer.Status.APPROVED, invited_at=long_ago)

    response = browser(world["administrator"]).get(dashboard_url(figures_round))

    board = response.context["board"]
    names = {group.status: [a.organisation.name for a in group.answers] for group in board.statuses}
    assert names == {
        "invited": ["Bounced", "Late", "Recent"],
        "answered": ["Answered"],
        "returned": ["Returned"],
        "approved": ["Approved"],
    }
    assert [a.organisation.name for a in board.late] == ["Late"]
    assert [a.organisation.name for a in board.bounced] == ["Bounced"]
    assert [a.organisation.name for a in board.no_main_contact] == ["Approved"]
    assert len(board.invited) == 6
    assert board.reminders == 2
    assert board.last_reminded_at == yesterday
    assert response.status_code == 200


def test_once_the_round_has_closed_every_answer_not_given_is_late(world, time_machine):
    time_machine.move_to(datetime.datetime(2019, 4, 1, 12, tzinfo=datetime.UTC))
    make_answer(
        world["round"], world["ligacoop"], status=RoundAnswer.Status.INVITED, invited_at=timezone.now()
    )

    board = browser(world["administrator"]).get(dashboard_url(world["round"])).context["board"]

    assert [a.organisation for a in board.late] == [world["ligacoop"]]


def test_the_coverage_shown_rises_as_answers_are_approved(world):
    answer = make_answer(world["round"], world["ligacoop"], enterprises=None, employment=3400)
    make_answer(world["round"], world["bank"])
    client = browser(world["administrator"])

    before = client.get(dashboard_url(world["round"])).context["board"].coverage
    client.post(reverse("round-review:approve", args=[answer.pk]))
    after_response = client.get(dashboard_url(world["round"]))
    after = after_response.context["board"].coverage

    assert (before.members, before.approved, before.figures.covered_members) == (2, 0, 0)
    assert before.figures.employment is None
    assert (after.members, after.approved, after.figures.covered_members) == (2, 1, 1)
    assert after.figures.employment == 3400
    # The day the figures are computed for: the round's closing day, which counts every answer.
    assert after.as_of == world["round"].closes_on
    assert "1 of its 2 direct members" in after_response.text


def test_the_admin_home_links_to_each_rounds_dashboard_with_the_answers_waiting(world):
    make_answer(world["round"], world["ligacoop"])

    page = browser(world["cicopa editor"]).get(reverse("admin:index")).text

    assert dashboard_url(world["round"]) in page
    assert "1 answer to review" in page


def test_the_admin_home_lists_no_round_of_another_federation(world):
    page = browser(world["cecop editor"]).get(reverse("admin:index")).text

    assert dashboard_url(world["round"]) not in page


# The public pages after approval


def test_approved_figures_appear_on_the_organisation_page_with_their_source(world):
    answer = make_answer(world["round"], world["ligacoop"])
    page_before = Client().get(world["ligacoop"].get_absolute_url()).text

    browser(world["administrator"]).post(reverse("round-review:approve", args=[answer.pk]))
    page = Client().get(world["ligacoop"].get_absolute_url()).text

    title = "CICOPA 2018 figures round, answer of Liga de Cooperativas de Puerto Rico"
    assert title not in page_before
    assert title in page
    assert "3,400" in page


def test_approved_figures_reach_the_federations_cached_page_once_the_worker_refreshes_it(world):
    answer = make_answer(world["round"], world["ligacoop"], employment=3400, enterprises=None)
    federation_page = reverse("members:federation-detail", args=[world["cicopa"].slug])
    before = Client().get(federation_page)  # now in the page cache
    assert 'data-field="employment">3,400<' not in before.text

    browser(world["administrator"]).post(reverse("round-review:approve", args=[answer.pk]))
    # Until the refresh has run, readers get the page as it was, marked outdated (members/pagecache.py).
    meanwhile = Client().get(federation_page).text
    assert 'class="outdated-notice"' in meanwhile
    refresh.refresh_federation.call(world["cicopa"].pk)  # as a task worker runs it
    after = Client().get(federation_page).text

    assert 'class="outdated-notice"' not in after
    assert 'data-provenance="computed" data-field="employment">3,400<' in after
    # LIGACOOP's own page as a federation shows its declaration and the round as its source.
    ligacoop_page = Client().get(reverse("members:federation-detail", args=[world["ligacoop"].slug])).text
    assert "CICOPA 2018 figures round, answer of Liga de Cooperativas de Puerto Rico" in ligacoop_page


def test_the_answer_day_is_the_day_in_the_registers_time_zone(world):
    # 23:30 UTC on 14 March is already 15 March in Brussels.
    late_evening = datetime.datetime(2019, 3, 14, 23, 30, tzinfo=datetime.UTC)
    answer = make_answer(world["round"], world["ligacoop"], answered_at=late_evening)

    browser(world["administrator"]).post(reverse("round-review:approve", args=[answer.pk]))

    assert DeclaredFigures.objects.get(organisation=world["ligacoop"]).declared_on == D(2019, 3, 15)


def test_the_dashboard_costs_the_same_few_queries_however_many_answers(world, django_assert_num_queries):
    for number in range(6):
        organisation = OrganisationFactory(name=f"Member {number}")
        MembershipFactory(member=organisation, federation=world["cicopa"])
        make_answer(world["round"], organisation, status=RoundAnswer.Status.APPROVED)

    # 1 the answers with their organisations, contacts and reviewers; 2 the reminders;
    # 3 the members and approved answers on the closing day; 4-7 members/stats.py's figures.
    with django_assert_num_queries(7):
        board = dashboard(world["round"])

    assert len(board.answers) == 6
    assert board.coverage.approved == 6


# Read-only staff, the round's page and reminders


def test_read_only_staff_see_the_review_list_and_dashboard_without_any_button_and_cannot_post(
    world, staff_member
):
    answer = make_answer(world["round"], world["ligacoop"])
    client = browser(staff_member("read-only"))

    review_page = client.get(review_url(world["round"]))
    dashboard_page = client.get(dashboard_url(world["round"]))
    approved = client.post(reverse("round-review:approve", args=[answer.pk]))
    returned = client.post(reverse("round-review:return", args=[answer.pk]), {"message": "No"})

    assert (review_page.status_code, dashboard_page.status_code) == (200, 200)
    assert "approve-answer" not in review_page.text
    assert "return-answer" not in review_page.text
    assert "send-reminders" not in dashboard_page.text
    assert (approved.status_code, returned.status_code) == (403, 403)
    assert RoundAnswer.objects.get(pk=answer.pk).status == RoundAnswer.Status.ANSWERED


def test_the_rounds_admin_page_links_to_its_dashboard_and_review_list(world):
    page = browser(world["administrator"]).get(
        reverse("admin:members_figuresround_change", args=[world["round"].pk])
    )

    assert page.status_code == 200
    assert dashboard_url(world["round"]) in page.text
    assert review_url(world["round"]) in page.text


def _open_round_waiting_for(world, time_machine):
    time_machine.move_to(datetime.datetime(2019, 3, 20, 12, tzinfo=datetime.UTC))
    contact = _contact(world["ligacoop"], is_main=True, language="es")
    return make_answer(
        world["round"],
        world["ligacoop"],
        status=RoundAnswer.Status.INVITED,
        contact=contact,
        invited_at=timezone.now() - datetime.timedelta(days=3),
    )


def test_the_dashboards_button_reminds_those_who_have_not_answered(
    world, time_machine, mailoutbox, immediate_tasks
):
    answer = _open_round_waiting_for(world, time_machine)
    make_answer(world["round"], world["bank"])  # answered: not reminded
    client = browser(world["cicopa editor"])
    assert "send-reminders" in client.get(dashboard_url(world["round"])).text

    response = client.post(reverse("round-review:remind", args=[world["round"].pk]), follow=True)

    assert "1 reminder queued." in response.text
    assert [message.to for message in mailoutbox] == [["someone@example.org"]]
    answer.refresh_from_db()
    assert answer.reminders == 1
    assert response.context["board"].reminders == 1


def test_an_editor_of_another_federation_cannot_send_the_rounds_reminders(
    world, time_machine, mailoutbox, immediate_tasks
):
    _open_round_waiting_for(world, time_machine)

    response = browser(world["cecop editor"]).post(reverse("round-review:remind", args=[world["round"].pk]))

    assert response.status_code == 403
    assert mailoutbox == []


def test_no_reminder_is_sent_once_the_round_has_closed(world, time_machine, mailoutbox, immediate_tasks):
    _open_round_waiting_for(world, time_machine)
    time_machine.move_to(datetime.datetime(2019, 4, 2, 12, tzinfo=datetime.UTC))
    client = browser(world["administrator"])
    assert "send-reminders" not in client.get(dashboard_url(world["round"])).text

    response = client.post(reverse("round-review:remind", args=[world["round"].pk]), follow=True)

    assert "can no longer answer" in response.text
    assert mailoutbox == []
