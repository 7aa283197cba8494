"""A figures round on the seed, in a real browser, from its opening to the public pages.

Staff open CICOPA's 2018 round in the admin; LIGACOOP's contact answers in
Spanish and Crédit Coopératif's in French, each through the personal link of
the invitation they were mailed; staff approve LIGACOOP's answer and return
Crédit Coopératif's with a message; the coverage the round's dashboard shows
for CICOPA rises; LIGACOOP's figures appear on the public pages with the
round as their source.
"""

import datetime
import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from members import permissions
from members.models import Contact, DeclaredFigures, FiguresRound, Organisation, RoundAnswer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SOURCE_TITLE = "CICOPA 2018 figures round, answer of Liga de Cooperativas de Puerto Rico"
LINK = re.compile(r"https?://[^\s\"'<>]+/round/[^\s\"'<>]+")


def _staff(username):
    user = User.objects.create_user(username, password=f"{username}-pass-1234", is_staff=True)
    user.groups.add(Group.objects.get(name=permissions.REGISTRY_ADMINISTRATORS))
    return user


def _sign_in(visitor, username):
    visitor.open(reverse("admin:login"))
    visitor.page.fill("#id_username", username)
    visitor.page.fill("#id_password", f"{username}-pass-1234")
    visitor.page.click("input[type=submit]")
    visitor.page.wait_for_selector("#site-name")


def _contact(slug, name, email, language):
    return Contact.objects.create(
        organisation=Organisation.objects.get(slug=slug),
        name=name,
        email=email,
        language=language,
        is_main=True,
        kept_because="Main contact for the yearly figures",
    )


def _link_mailed_to(outbox, email):
    """The path of the personal link in the (last) invitation mailed to the address."""
    (message,) = [m for m in outbox if email in m.to]
    (link,) = set(LINK.findall(message.body))
    return urlsplit(link).path


def _coverage(page):
    return (
        page.locator("#round-coverage").inner_text(),
        page.locator("#covered-members").inner_text(),
        page.locator("#computed-employment").inner_text(),
    )


def test_a_figures_round_runs_from_its_opening_to_the_public_pages(
    visitor, browser, mailoutbox, immediate_tasks
):
    cicopa = Organisation.objects.get(slug="cicopa")
    ligacoop = Organisation.objects.get(slug="ligacoop")
    _contact("ligacoop", "Marisol Rivera", "marisol.rivera@ligacoop.example", "es")
    _contact("credit-cooperatif", "Camille Martin", "camille.martin@credit-cooperatif.example", "fr")
    _staff("secretariat")
    # Last year's declaration of the bank, which its answer is compared with.
    DeclaredFigures.objects.create(
        organisation=Organisation.objects.get(slug="credit-cooperatif"),
        year=2017,
        declared_on=datetime.date(2018, 5, 1),
        employment=2100,
    )
    closes_on = timezone.localdate() + datetime.timedelta(days=30)
    page = visitor.page

    # Staff open CICOPA's 2018 round.
    _sign_in(visitor, "secretariat")
    visitor.open(reverse("admin:members_figuresround_add"))
    page.select_option("#id_federation", value=str(cicopa.pk))
    page.fill("#id_year", "2018")
    page.fill("#id_closes_on", closes_on.isoformat())
    page.fill("#id_message", "Please send us your figures for 2018.")
    page.click("input[name=_save]")
    page.wait_for_selector("ul.messagelist li")
    figures_round = FiguresRound.objects.get(federation=cicopa, year=2018)
    assert set(figures_round.answers.values_list("organisation__slug", flat=True)) >= {
        "ligacoop",
        "credit-cooperatif",
    }

    # The dashboard before any answer: SMart and the bank have declared, LIGACOOP not yet.
    visitor.open(reverse("round-review:dashboard", args=[figures_round.pk]))
    coverage_before = _coverage(page)
    assert coverage_before[0].startswith("0 of its")

    # LIGACOOP's contact answers in Spanish through the link of the invitation.
    member = browser.new_context(locale="es-ES").new_page()
    member.goto(visitor.url(_link_mailed_to(mailoutbox, "marisol.rivera@ligacoop.example")))
    assert member.locator("html").get_attribute("lang") == "es"
    member.fill("#id_enterprises", "310")
    member.fill("#id_employment", "12500")
    member.fill("#id_member_organisations", "310")
    member.fill("#id_countries", "1")
    member.fill("#id_source", "Informe anual 2018 de la Liga")
    member.locator("form.round-form button[type=submit]").click()
    member.wait_for_selector(".round-status")

    # Crédit Coopératif's contact answers in French.
    bank = browser.new_context(locale="fr-FR").new_page()
    bank.goto(visitor.url(_link_mailed_to(mailoutbox, "camille.martin@credit-cooperatif.example")))
    assert bank.locator("html").get_attribute("lang") == "fr"
    bank.fill("#id_enterprises", "1")
    bank.fill("#id_employment", "2000000")
    bank.locator("form.round-form button[type=submit]").click()
    bank.wait_for_selector(".round-status")
    answers = {a.organisation.slug: a for a in figures_round.answers.select_related("organisation")}
    assert answers["ligacoop"].status == RoundAnswer.Status.ANSWERED
    assert answers["ligacoop"].answer_language == "es"
    assert answers["credit-cooperatif"].answer_language == "fr"

    # Staff review: approve LIGACOOP's answer, return Crédit Coopératif's (its employment looks wrong).
    visitor.open(reverse("round-review:review", args=[figures_round.pk]))
    bank_row = page.locator(f"#answer-{answers['credit-cooperatif'].pk}")
    assert bank_row.locator("h3 .large-change-flag").count() == 1
    visitor.screenshot("figures-round-review")
    page.locator(f"#answer-{answers['ligacoop'].pk} form.approve-answer button").click()
    page.wait_for_selector("ul.messagelist li.success")
    bank_row = page.locator(f"#answer-{answers['credit-cooperatif'].pk}")
    bank_row.locator("textarea[name=message]").fill(
        "Les effectifs déclarés semblent être ceux du groupe BPCE."
    )
    bank_row.locator("form.return-answer button").click()
    page.wait_for_selector("ul.messagelist li.success")
    assert RoundAnswer.objects.get(pk=answers["credit-cooperatif"].pk).status == RoundAnswer.Status.RETURNED
    returned = [m for m in mailoutbox if "camille.martin@credit-cooperatif.example" in m.to]
    assert any("groupe BPCE" in m.body for m in returned)

    # The coverage shown for CICOPA rises by LIGACOOP's answer.
    visitor.open(reverse("round-review:dashboard", args=[figures_round.pk]))
    coverage_after = _coverage(page)
    visitor.screenshot("figures-round-dashboard")
    assert coverage_after[0].startswith("1 of its")
    assert (coverage_before[1], coverage_after[1]) == ("2", "3")
    assert (coverage_before[2], coverage_after[2]) == ("77,100", "89,600")

    # The approved figures appear on the public pages with their source.
    declaration = DeclaredFigures.objects.get(organisation=ligacoop, year=2018)
    assert declaration.history.get().history_user.username == "secretariat"
    reader = browser.new_context(locale="en-GB").new_page()
    reader.goto(visitor.url(ligacoop.get_absolute_url()))
    assert SOURCE_TITLE in reader.content()
    assert "12,500" in reader.content()
    reader.goto(visitor.url(reverse("members:federation-detail", args=[ligacoop.slug])))
    assert SOURCE_TITLE in reader.content()
    reader.goto(visitor.url(reverse("members:federation-detail", args=[cicopa.slug])))
    # CICOPA's computed employment now counts LIGACOOP's 12,500 beside SMart's 75,000 and the bank's 2,100.
    assert 'data-provenance="computed" data-field="employment">89,600<' in reader.content()
