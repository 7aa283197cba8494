"""The member's form: last year's declaration, the year's figures, coming back to change them."""

import datetime

import pytest
from bs4 import BeautifulSoup
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext

from members.models import DeclaredFigures, Organisation, RoundAnswer, Source
from members.rounds.links import answer_url, reissue_link
from tests.round_factories import answer_of, open_cicopa_round

pytestmark = pytest.mark.django_db

Status = RoundAnswer.Status


@pytest.fixture
def cicopa_round(immediate_tasks):
    return open_cicopa_round()


def in_language(path, language):
    return f"/{language}/" + path.split("/", 2)[2]


def answer(client, path, **figures):
    data = {
        "enterprises": "",
        "employment": "",
        "member_organisations": "",
        "countries": "",
        "note": "",
        "source": "",
    }
    data.update({name: str(value) for name, value in figures.items()})
    return client.post(path, data)


def text_of(response):
    return " ".join(BeautifulSoup(response.content, "html.parser").get_text(" ").split())


def test_the_form_shows_the_federations_message_and_the_organisations_name(client, cicopa_round):
    smart = answer_of(cicopa_round, "smart")

    page = text_of(client.get(answer_url(smart)))

    assert cicopa_round.message in page
    assert smart.organisation.name in page


def test_the_form_shows_last_years_declaration_with_its_date_and_source(client, cicopa_round):
    smart = answer_of(cicopa_round, "smart")
    seed_declaration = DeclaredFigures.objects.get(organisation=smart.organisation)
    assert seed_declaration.year < cicopa_round.year

    response = client.get(answer_url(smart))
    soup = BeautifulSoup(response.content, "html.parser")
    previous = soup.select_one(".previous-figures")

    employment = previous.select_one('[data-field="employment"]')
    assert employment.name == "data" and employment["value"] == str(seed_declaration.employment)
    # SMart declared only its employment: the rest is "not declared", never 0.
    assert previous.select_one('[data-field="enterprises"]').get_text() == "not declared"
    assert seed_declaration.source.title in text_of(response)
    assert "21 June 2017" in text_of(response)


def test_a_declaration_of_the_rounds_own_year_is_not_shown_as_last_years(client, cicopa_round):
    smart = answer_of(cicopa_round, "smart")
    DeclaredFigures.objects.create(
        organisation=smart.organisation, year=2018, declared_on=datetime.date(2019, 2, 1), employment=1
    )

    previous = BeautifulSoup(client.get(answer_url(smart)).content, "html.parser").select_one(
        ".previous-figures"
    )

    assert previous.select_one('[data-field="employment"]')["value"] == "75000"


def test_an_organisation_that_never_declared_is_told_not_declared(client, cicopa_round):
    ligacoop = answer_of(cicopa_round, "ligacoop")
    assert not DeclaredFigures.objects.filter(organisation=ligacoop.organisation).exists()

    page = text_of(client.get(in_language(answer_url(ligacoop), "en")))

    assert "no earlier declaration" in page and "not declared" in page


def test_answering_records_the_figures_the_time_and_the_pages_language(client, cicopa_round):
    ligacoop = answer_of(cicopa_round, "ligacoop")
    path = answer_url(ligacoop)
    assert path.startswith("/es/")

    response = answer(client, path, enterprises=120, employment=3400, source="Informe anual 2018")

    assert response.status_code == 302 and response["Location"] == path
    ligacoop.refresh_from_db()
    assert (ligacoop.enterprises, ligacoop.employment) == (120, 3400)
    assert ligacoop.member_organisations is None and ligacoop.countries is None
    assert ligacoop.status == Status.ANSWERED
    assert ligacoop.answered_at is not None and ligacoop.answer_language == "es"
    assert ligacoop.source == "Informe anual 2018"


def test_the_page_honours_the_language_of_its_address_whatever_the_contacts(client, cicopa_round):
    ligacoop = answer_of(cicopa_round, "ligacoop")

    answer(client, in_language(answer_url(ligacoop), "fr"), employment=10)

    ligacoop.refresh_from_db()
    assert ligacoop.answer_language == "fr"


def test_answering_twice_updates_the_one_answer(client, cicopa_round):
    ligacoop = answer_of(cicopa_round, "ligacoop")
    path = answer_url(ligacoop)

    answer(client, path, employment=3400)
    answer(client, path, employment=3500, countries=1)

    rows = RoundAnswer.objects.filter(round=cicopa_round, organisation=ligacoop.organisation)
    assert rows.count() == 1
    assert (rows.get().employment, rows.get().countries) == (3500, 1)
    assert rows.get().history.filter(employment=3400).exists(), "the first answer stays in the history"


def test_the_page_says_the_answer_was_received_and_can_still_be_changed(client, cicopa_round):
    smart = answer_of(cicopa_round, "smart")
    path = in_language(answer_url(smart), "en")
    answer(client, path, employment=76000)

    page = text_of(client.get(path))

    assert "Your answer was received" in page
    soup = BeautifulSoup(client.get(path).content, "html.parser")
    assert soup.select_one('input[name="employment"]')["value"] == "76000"


def test_an_empty_field_is_not_declared_never_zero(client, cicopa_round):
    smart = answer_of(cicopa_round, "smart")

    answer(client, answer_url(smart), employment=0, enterprises="")

    smart.refresh_from_db()
    assert smart.employment == 0, "a 0 the member typed is theirs"
    assert smart.enterprises is None


def test_an_answer_without_any_figure_is_refused_and_saves_nothing(client, cicopa_round):
    smart = answer_of(cicopa_round, "smart")

    response = answer(client, in_language(answer_url(smart), "en"), note="We will answer later.")

    assert response.status_code == 400
    assert "Enter at least one figure." in text_of(response)
    smart.refresh_from_db()
    assert smart.status == Status.INVITED and smart.note == "" and smart.answered_at is None


@pytest.mark.parametrize("language", ["es", "fr"])
def test_a_wrong_figure_is_named_in_the_pages_language(client, cicopa_round, language):
    ligacoop = answer_of(cicopa_round, "ligacoop")
    with translation.override(language):
        expected = gettext("Enter a whole number.")
    assert expected != "Enter a whole number."

    response = answer(client, in_language(answer_url(ligacoop), language), employment="a lot", enterprises=-3)

    assert response.status_code == 400
    soup = BeautifulSoup(response.content, "html.parser")
    employment = soup.select_one('input[name="employment"]')
    assert employment["aria-invalid"] == "true"
    assert not employment.has_attr("value"), "a number input holds only a number"
    assert expected in text_of(response)
    ligacoop.refresh_from_db()
    assert ligacoop.status == Status.INVITED


def test_a_returned_answer_shows_the_reviewers_message_and_becomes_answered_again(client, cicopa_round):
    smart = answer_of(cicopa_round, "smart")
    path = in_language(answer_url(smart), "en")
    answer(client, path, employment=76000)
    RoundAnswer.objects.filter(pk=smart.pk).update(
        status=Status.RETURNED, review_message="Is that 76,000 people or 7,600?"
    )

    assert "Is that 76,000 people or 7,600?" in text_of(client.get(path))
    answer(client, path, employment=7600)

    smart.refresh_from_db()
    assert smart.status == Status.ANSWERED and smart.employment == 7600


def test_a_review_made_while_the_member_typed_is_kept(client, cicopa_round):
    smart = answer_of(cicopa_round, "smart")
    path = answer_url(smart)
    RoundAnswer.objects.filter(pk=smart.pk).update(review_message="Please give the source.")

    answer(client, path, employment=7600, source="Annual report")

    smart.refresh_from_db()
    assert smart.review_message == "Please give the source."


def test_an_answer_posted_after_the_round_closed_saves_nothing(client, cicopa_round):
    smart = answer_of(cicopa_round, "smart")
    path = answer_url(smart)
    cicopa_round.closes_on = timezone.localdate() - datetime.timedelta(days=1)
    cicopa_round.save()

    response = answer(client, path, employment=7600)

    assert response.status_code == 410
    smart.refresh_from_db()
    assert smart.employment is None and smart.status == Status.INVITED


def test_an_answer_posted_through_a_replaced_link_saves_nothing(client, cicopa_round):
    smart = answer_of(cicopa_round, "smart")
    path = answer_url(smart)
    reissue_link(smart)

    assert answer(client, path, employment=7600).status_code == 410
    smart.refresh_from_db()
    assert smart.employment is None


def test_the_form_is_protected_against_cross_site_posts(cicopa_round):
    smart = answer_of(cicopa_round, "smart")
    client = Client(enforce_csrf_checks=True)

    response = client.post(answer_url(smart), {"employment": "1"})

    assert response.status_code == 403
    smart.refresh_from_db()
    assert smart.employment is None


def test_the_form_shows_no_contact_data(client, cicopa_round):
    ligacoop = answer_of(cicopa_round, "ligacoop")
    contact = ligacoop.contact

    content = client.get(answer_url(ligacoop)).content.decode()

    assert contact.name not in content and contact.email not in content
    assert contact.name.split()[0] not in content


def test_the_form_names_its_own_organisation_only(client, cicopa_round):
    ligacoop = answer_of(cicopa_round, "ligacoop")
    others = Organisation.objects.filter(round_answers__round=cicopa_round).exclude(
        pk=ligacoop.organisation_id
    )

    page = text_of(client.get(answer_url(ligacoop)))

    assert all(other.name not in page for other in others)


def test_the_source_of_last_years_figures_is_shown_with_its_words(client, cicopa_round):
    smart = answer_of(cicopa_round, "smart")
    source = Source.objects.get(declarations__organisation=smart.organisation)

    page = text_of(client.get(answer_url(smart)))

    assert source.title in page


def test_the_form_its_errors_and_a_refusal_have_no_nu_html_checker_error(client, cicopa_round, tmp_path):
    from tests.test_html_validity import VNU_JAR, errors, run_vnu

    if not VNU_JAR.is_file():
        pytest.skip("the Nu HTML Checker is not installed (make vnu-install)")
    smart = answer_of(cicopa_round, "smart")
    ligacoop = answer_of(cicopa_round, "ligacoop")
    answer(client, answer_url(ligacoop), employment=3400)
    pages = {
        "form": client.get(answer_url(smart)),
        "errors": answer(client, answer_url(smart), employment="many"),
        "answered": client.get(answer_url(ligacoop)),
        "refused": client.get("/fr/round/not-a-link/"),
    }
    files = []
    for name, response in pages.items():
        path = tmp_path / f"round-{name}.html"
        path.write_bytes(response.content)
        files.append(path)

    found = errors(run_vnu(files))

    assert found == [], "\n".join(found)
