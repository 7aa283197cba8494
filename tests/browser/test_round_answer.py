"""Staff open CICOPA's 2018 figures round; LIGACOOP's contact answers in Spanish in Chromium.

The invitation is the one the task worker (django-tasks-db's loop, as `db_worker`
runs it) put in the outbox; the contact opens its link, is told what is missing in
Spanish, answers, and receives the receipt.
"""

import datetime
import re
import time

import pytest
from django.core import mail
from django.utils import timezone

from members.models import Organisation, RoundAnswer
from tests.browser.conftest import Visitor, describe_violations
from tests.round_factories import SEED_CONTACTS, add_seed_contacts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def wait_for_mail(to, count=1, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = [message for message in mail.outbox if message.to == [to]]
        if len(messages) >= count:
            return messages
        time.sleep(0.2)
    raise AssertionError(f"no e-mail to {to} within {timeout} s: {[m.to for m in mail.outbox]}")


def test_a_contact_opens_the_link_of_the_invitation_and_answers_in_spanish(
    site, browser, worker, settings, django_user_model
):
    settings.SITE_URL = site.url
    add_seed_contacts()
    _, ligacoop_email, _ = SEED_CONTACTS["ligacoop"]
    django_user_model.objects.create_superuser("secretariat", "secretariat@example.org", "a long passphrase")
    worker.start()

    # Staff open the round in the admin.
    staff = browser.new_context(locale="en-GB").new_page()
    staff.goto(site.url + "/admin/login/")
    staff.fill("#id_username", "secretariat")
    staff.fill("#id_password", "a long passphrase")
    staff.click("input[type=submit]")
    staff.goto(site.url + "/admin/members/figuresround/add/")
    staff.locator("#id_federation").select_option(value=str(Organisation.objects.get(slug="cicopa").pk))
    staff.fill("#id_year", "2018")
    staff.fill("#id_closes_on", (timezone.localdate() + datetime.timedelta(days=30)).isoformat())
    staff.fill("#id_message", "CICOPA pide a sus miembros sus cifras de 2018.")
    staff.click("input[name=_save]")
    assert "organisations invited" in staff.locator(".messagelist").inner_text()

    (invitation,) = wait_for_mail(ligacoop_email)
    link = re.search(r"https?://\S+/round/\S+/", invitation.body).group(0)
    assert link.startswith(site.url + "/es/round/")

    context = browser.new_context(locale="es-ES")
    contact = Visitor(context, site.url, [])
    page = contact.page
    response = page.goto(link)
    assert response.status == 200
    assert page.locator("html").get_attribute("lang") == "es"
    assert "Liga de Cooperativas de Puerto Rico" in page.locator("h1").inner_text()
    assert "CICOPA pide a sus miembros sus cifras de 2018." in page.locator("main").inner_text()
    violations = contact.axe_violations()
    assert not violations, describe_violations(violations)

    # Sent empty: the page says, in Spanish, that one figure at least is needed.
    page.click("form.round-form button[type=submit]")
    assert "Introduzca al menos una cifra." in page.locator("form.round-form").inner_text()

    page.fill("input[name=enterprises]", "120")
    page.fill("input[name=employment]", "3400")
    page.fill("input[name=source]", "Informe anual 2018 de LIGACOOP")
    page.click("form.round-form button[type=submit]")
    page.wait_for_load_state()
    assert page.url == link
    assert page.locator(".round-status").count() == 1
    assert page.locator("input[name=employment]").input_value() == "3400"
    contact.screenshot("round-answer-es")

    answer = RoundAnswer.objects.get(organisation__slug="ligacoop")
    assert (answer.enterprises, answer.employment, answer.member_organisations) == (120, 3400, None)
    assert answer.status == RoundAnswer.Status.ANSWERED and answer.answer_language == "es"
    _, receipt = wait_for_mail(ligacoop_email, count=2)
    assert receipt.extra_headers["Content-Language"] == "es"
    assert receipt.alternatives and "/es/round/" in receipt.body
    context.close()
    worker.stop()
