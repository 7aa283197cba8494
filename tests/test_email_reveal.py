"""The organisation page shows its e-mail address on request, a limited number of times per client an hour."""

import datetime

import pytest
import time_machine
from django.core.cache import caches

from tests.factories import OrganisationFactory

ADDRESS = "contact@example.coop"
# 10:15 in the hour's window: the count starts again in 45 minutes.
QUARTER_PAST = datetime.datetime(2026, 3, 2, 10, 15, tzinfo=datetime.UTC)


@pytest.fixture
def organisation(db):
    return OrganisationFactory(email=ADDRESS, slug="reveal-test")


@pytest.fixture
def limit(settings):
    settings.EMAIL_REVEALS_PER_HOUR = 3
    return 3


def _reveal(client, organisation, remote_addr="203.0.113.7", language="en", **headers):
    return client.post(f"/{language}/organisations/{organisation.slug}/", REMOTE_ADDR=remote_addr, **headers)


def test_one_client_is_shown_the_address_no_more_than_the_hourly_limit(client, organisation, limit):
    with time_machine.travel(QUARTER_PAST, tick=False):
        shown = [_reveal(client, organisation) for _ in range(limit)]
        refused = _reveal(client, organisation)

    assert all(r.status_code == 200 and ADDRESS in r.content.decode() for r in shown)
    assert refused.status_code == 429
    assert ADDRESS not in refused.content.decode()
    assert "mailto:" not in refused.content.decode()
    assert refused["Retry-After"] == str(45 * 60)
    assert "Try again in 45 minutes." in refused.content.decode()


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "Réessayez dans 45 minutes."),
        ("es", "Vuelva a intentarlo dentro de 45 minutos."),
    ],
)
def test_the_refusal_says_when_to_try_again_in_the_readers_language(
    client, organisation, limit, language, expected
):
    with time_machine.travel(QUARTER_PAST, tick=False):
        for _ in range(limit):
            _reveal(client, organisation, language=language)
        refused = _reveal(client, organisation, language=language)
    assert refused.status_code == 429
    assert expected in refused.content.decode()


def test_the_last_minute_of_the_hour_is_one_minute(client, organisation, limit):
    with time_machine.travel(QUARTER_PAST.replace(minute=59, second=30), tick=False):
        for _ in range(limit):
            _reveal(client, organisation)
        refused = _reveal(client, organisation)
    assert "Try again in 1 minute." in refused.content.decode()


def test_the_count_starts_again_the_next_hour(client, organisation, limit):
    with time_machine.travel(QUARTER_PAST, tick=False):
        for _ in range(limit + 1):
            _reveal(client, organisation)
    with time_machine.travel(QUARTER_PAST + datetime.timedelta(minutes=45), tick=False):
        assert _reveal(client, organisation).status_code == 200


def test_another_client_is_still_shown_the_address(client, organisation, limit):
    with time_machine.travel(QUARTER_PAST, tick=False):
        for _ in range(limit + 1):
            _reveal(client, organisation)
        other = _reveal(client, organisation, remote_addr="198.51.100.9")
    assert other.status_code == 200
    assert ADDRESS in other.content.decode()


def test_every_organisation_counts_towards_the_same_limit(client, organisation, limit):
    others = [OrganisationFactory(email=f"o{n}@example.coop") for n in range(limit)]
    with time_machine.travel(QUARTER_PAST, tick=False):
        for other in others:
            assert _reveal(client, other).status_code == 200
        assert _reveal(client, organisation).status_code == 429


def test_the_addresses_of_one_ipv6_network_share_a_limit(client, organisation, limit):
    with time_machine.travel(QUARTER_PAST, tick=False):
        for host in range(limit):
            _reveal(client, organisation, remote_addr=f"2001:db8:1:2::{host + 1}")
        refused = _reveal(client, organisation, remote_addr="2001:db8:1:2:ffff::9")
        other_network = _reveal(client, organisation, remote_addr="2001:db8:1:3::1")
    assert refused.status_code == 429
    assert other_network.status_code == 200


def test_behind_a_proxy_each_client_has_its_own_limit(client, organisation, limit, settings):
    # What registry/settings.py makes of DJANGO_PROXY_COUNT=1 (tests/test_admin_login.py reads it there).
    settings.AXES_IPWARE_PROXY_COUNT = 1
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    proxy = "10.0.0.2"
    with time_machine.travel(QUARTER_PAST, tick=False):
        for _ in range(limit):
            _reveal(client, organisation, proxy, HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.1")
        refused = _reveal(client, organisation, proxy, HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.1")
        other = _reveal(client, organisation, proxy, HTTP_X_FORWARDED_FOR="198.51.100.9, 10.0.0.1")
    assert refused.status_code == 429
    assert other.status_code == 200


def test_without_a_proxy_a_client_cannot_escape_the_limit_by_sending_x_forwarded_for(
    client, organisation, limit
):
    with time_machine.travel(QUARTER_PAST, tick=False):
        answers = [
            _reveal(client, organisation, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code
            for n in range(limit + 1)
        ]
    assert answers[-1] == 429


def test_the_count_is_kept_in_the_default_cache_that_every_process_shares(client, organisation, limit):
    # Redis when DJANGO_CACHE_URL is set: each process and server adds to the same count.
    with time_machine.travel(QUARTER_PAST, tick=False):
        for _ in range(limit):
            _reveal(client, organisation)
        assert _reveal(client, organisation).status_code == 429
        caches["default"].clear()
        assert _reveal(client, organisation).status_code == 200


def test_the_address_is_shown_when_the_cache_is_unreachable(client, organisation, limit, settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        },
    }
    response = _reveal(client, organisation)
    assert response.status_code == 200
    assert ADDRESS in response.content.decode()
