"""The personal link of a round answer: it opens one organisation's form, and nothing else.

Expired, altered, superseded and cross-organisation links are refused with a
plain page of the site (403 or 410) that says whom to write to and shows
nothing of the organisation.
"""

import datetime
import zoneinfo

import pytest
import time_machine
from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from members.models import RoundAnswer
from members.rounds import links
from members.rounds.links import Refusal, answer_url, check_token, make_token, reissue_link
from tests.round_factories import (
    ContactFactory,
    FiguresRoundFactory,
    RoundAnswerFactory,
    answer_of,
    open_cicopa_round,
)

pytestmark = pytest.mark.django_db


def token_of(path):
    return path.rstrip("/").rsplit("/", 1)[-1]


def path_for(token, language="en"):
    return f"/{language}/round/{token}/"


def assert_refused(response, status, organisation, why=None):
    assert response.status_code == status
    content = response.content.decode()
    assert 'class="site-header"' in content, "a refusal is a page of the site"
    assert "Traceback" not in content
    if '<html lang="en">' in content:
        assert "write to" in content
    assert organisation.name not in content
    assert 'name="enterprises"' not in content
    if why is not None:
        assert f'data-refusal="{why.value}"' in content


@pytest.fixture
def cicopa_round(immediate_tasks):
    return open_cicopa_round()


def test_a_link_opens_the_form_of_its_own_organisation(client, cicopa_round):
    answer = answer_of(cicopa_round, "ligacoop")

    response = client.get(answer_url(answer))

    assert response.status_code == 200
    assert answer.organisation.name in response.content.decode()
    assert 'name="enterprises"' in response.content.decode()


def test_the_link_carries_the_answer_id_and_is_in_the_contacts_language(cicopa_round):
    answer = answer_of(cicopa_round, "credit-cooperatif")

    path = answer_url(answer)

    assert path.startswith("/fr/round/")
    assert token_of(path).split(".")[0] == str(answer.pk)


def test_a_link_with_its_signature_altered_is_refused(client, cicopa_round):
    answer = answer_of(cicopa_round, "ligacoop")
    token = token_of(answer_url(answer))
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")

    assert_refused(client.get(path_for(altered)), 403, answer.organisation, Refusal.INVALID)


def test_a_link_with_its_answer_id_changed_is_refused(client, cicopa_round):
    answer = answer_of(cicopa_round, "ligacoop")
    other = answer_of(cicopa_round, "credit-cooperatif")
    _, key, timestamp, signature = token_of(answer_url(answer)).split(".")

    response = client.get(path_for(f"{other.pk}.{key}.{timestamp}.{signature}"))

    assert_refused(response, 403, other.organisation)
    assert answer.organisation.name not in response.content.decode()


def test_one_organisations_signed_link_given_anothers_answer_id_and_key_is_refused(client, cicopa_round):
    """Org A's token made to carry org B's id and key: the signature was A's, so it opens nothing."""
    mine = answer_of(cicopa_round, "ligacoop")
    theirs = answer_of(cicopa_round, "credit-cooperatif")
    _, _, timestamp, signature = token_of(answer_url(mine)).split(".")

    response = client.get(path_for(f"{theirs.pk}.{theirs.link_key}.{timestamp}.{signature}"))

    assert_refused(response, 403, theirs.organisation)


def test_a_value_signed_for_another_purpose_is_refused(client, cicopa_round):
    answer = answer_of(cicopa_round, "ligacoop")
    elsewhere = signing.TimestampSigner(salt="another.purpose", sep=".").sign(
        f"{answer.pk}.{answer.link_key}"
    )

    assert_refused(client.get(path_for(elsewhere)), 403, answer.organisation)


def test_a_link_of_a_round_that_closed_yesterday_is_refused(client):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    answer = RoundAnswerFactory(round=FiguresRoundFactory(closes_on=yesterday))

    response = client.get(answer_url(answer))

    assert_refused(response, 410, answer.organisation, Refusal.CLOSED)


def test_a_link_made_while_the_round_was_open_stops_at_the_end_of_its_closing_day(client):
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    answer = RoundAnswerFactory(round=FiguresRoundFactory(closes_on=datetime.date(2019, 3, 31)))
    with time_machine.travel(datetime.datetime(2019, 3, 1, 9, 0, tzinfo=zone), tick=False):
        path = answer_url(answer)

    last_minute = datetime.datetime(2019, 3, 31, 23, 59, tzinfo=zone)
    with time_machine.travel(last_minute, tick=False):
        assert client.get(path).status_code == 200
    # Midnight in the register's time zone, not in UTC: an hour or two before UTC's.
    with time_machine.travel(datetime.datetime(2019, 4, 1, 0, 0, 1, tzinfo=zone), tick=False):
        assert_refused(client.get(path), 410, answer.organisation, Refusal.CLOSED)


def test_a_link_older_than_a_year_is_refused_even_if_its_round_is_still_open():
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    answer = RoundAnswerFactory(round=FiguresRoundFactory(closes_on=datetime.date(2021, 12, 31)))
    with time_machine.travel(datetime.datetime(2019, 3, 1, tzinfo=zone), tick=False):
        token = make_token(answer)

    within_a_year = check_token(token, now=datetime.datetime(2020, 2, 28, tzinfo=zone))
    after_it = check_token(token, now=datetime.datetime(2020, 3, 2, tzinfo=zone))

    assert within_a_year.refusal is None
    assert after_it.refusal is Refusal.CLOSED


def test_moving_the_closing_day_later_keeps_the_links_sent_working(client):
    answer = RoundAnswerFactory(round=FiguresRoundFactory(closes_on=timezone.localdate()))
    path = answer_url(answer)
    tomorrow = timezone.now() + datetime.timedelta(days=1)
    answer.round.closes_on = timezone.localdate() + datetime.timedelta(days=7)
    answer.round.save()

    with time_machine.travel(tomorrow, tick=False):
        assert client.get(path).status_code == 200


def test_a_link_superseded_by_a_new_one_is_refused_and_the_new_one_works(client, cicopa_round):
    answer = answer_of(cicopa_round, "ligacoop")
    old = answer_url(answer)

    reissue_link(answer)

    assert_refused(client.get(old), 410, answer.organisation, Refusal.SUPERSEDED)
    assert client.get(answer_url(answer)).status_code == 200


def test_a_signed_link_binding_one_rounds_key_to_another_rounds_answer_is_refused(client, cicopa_round):
    """The register's own signature over the id of this year's answer and last year's key."""
    this_year = answer_of(cicopa_round, "ligacoop")
    last_year = RoundAnswerFactory(
        organisation=this_year.organisation,
        contact=this_year.contact,
        round=FiguresRoundFactory(federation=cicopa_round.federation, year=2017),
    )
    mixed = links._signer().sign(f"{this_year.pk}.{last_year.link_key}")

    assert_refused(client.get(path_for(mixed)), 410, this_year.organisation, Refusal.SUPERSEDED)


def test_a_link_used_after_approval_says_so_and_is_no_longer_a_form(client, cicopa_round):
    answer = answer_of(cicopa_round, "ligacoop")
    path = answer_url(answer)
    RoundAnswer.objects.filter(pk=answer.pk).update(status=RoundAnswer.Status.APPROVED)

    response = client.get(path)

    assert_refused(response, 410, answer.organisation, Refusal.APPROVED)
    assert client.post(path, {"enterprises": "5"}).status_code == 410
    answer.refresh_from_db()
    assert answer.enterprises is None


def test_a_link_to_an_answer_that_no_longer_exists_is_refused(client):
    answer = RoundAnswerFactory()
    path = answer_url(answer)
    organisation = answer.organisation
    answer.round.delete()

    assert_refused(client.get(path), 410, organisation)


@pytest.mark.parametrize("token", ["nonsense", "1.2.3.4", "..", "%00", "9" * 40])
def test_a_made_up_link_is_refused_without_an_error(client, token):
    response = client.get(f"/en/round/{token}/")

    assert response.status_code in (400, 403)
    assert "Traceback" not in response.content.decode()


def test_the_refusal_is_in_the_language_of_the_address(client):
    response = client.get(reverse("members:round-answer", kwargs={"token": "x.y.z"}).replace("/en/", "/fr/"))

    assert response.status_code == 403
    assert '<html lang="fr">' in response.content.decode()


def test_the_form_is_kept_out_of_search_engines_and_caches(client, cicopa_round):
    response = client.get(answer_url(answer_of(cicopa_round, "ligacoop")))

    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert '<meta name="robots" content="noindex, nofollow">' in response.content.decode()
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "same-origin"


def test_the_form_is_not_served_through_the_public_page_cache(client, cicopa_round):
    """members/pagecache.py answers with an ETag and stores the page; the form goes around it."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    path = answer_url(answer_of(cicopa_round, "ligacoop"))
    caches["pages"].clear()

    response = client.get(path)

    assert not response.has_header("ETag") and not response.has_header("Last-Modified")
    if isinstance(caches["pages"], LocMemCache):  # nothing was stored
        assert not caches["pages"]._cache


def test_an_answer_without_a_contact_has_a_link_in_the_default_language():
    answer = RoundAnswerFactory(contact=None)

    assert answer_url(answer).startswith(f"/{settings.LANGUAGE_CODE}/round/")


def test_a_contacts_link_can_be_made_in_another_language():
    answer = RoundAnswerFactory(contact=ContactFactory(language="es"))

    assert answer_url(answer, language="fr").startswith("/fr/round/")
