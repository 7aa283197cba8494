"""Login protection: repeated failures lock the sign-in out until the cool-off has passed."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

PASSWORD = "correct horse battery staple"
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def editor(db, django_user_model):
    return django_user_model.objects.create_user("editor", password=PASSWORD, is_staff=True)


def _sign_in(client, password):
    return client.post(
        reverse("admin:login"),
        {"username": "editor", "password": password, "next": reverse("admin:index")},
        secure=True,
    )


def _signed_in(client):
    return client.get(reverse("admin:index"), secure=True).status_code == 200


def test_the_right_password_is_refused_once_the_failure_limit_is_reached(client, editor):
    with time_machine.travel(START, tick=False):
        answers = [_sign_in(client, "wrong").status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
        locked = _sign_in(client, PASSWORD)

    assert answers[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert answers[-1] == 429
    assert locked.status_code == 429
    assert not _signed_in(client)
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"Try again in {minutes} minutes." in locked.content.decode()


def test_one_failure_fewer_than_the_limit_still_lets_the_right_password_in(client, editor):
    with time_machine.travel(START, tick=False):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            _sign_in(client, "wrong")
        response = _sign_in(client, PASSWORD)
        signed_in = _signed_in(client)

    assert response.status_code == 302
    assert signed_in


def test_the_lockout_ends_after_the_cool_off(client, editor):
    with time_machine.travel(START, tick=False):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            _sign_in(client, "wrong")
    just_before = START + settings.AXES_COOLOFF_TIME - datetime.timedelta(minutes=1)
    just_after = START + settings.AXES_COOLOFF_TIME + datetime.timedelta(minutes=1)

    with time_machine.travel(just_before, tick=False):
        still_locked = _sign_in(client, PASSWORD)
    with time_machine.travel(just_after, tick=False):
        let_in = _sign_in(client, PASSWORD)
        signed_in = _signed_in(client)

    assert still_locked.status_code == 429
    assert let_in.status_code == 302
    assert signed_in


def test_the_lockout_settings_come_from_the_environment(monkeypatch):
    import importlib

    from django.core.exceptions import ImproperlyConfigured

    import registry.settings

    monkeypatch.setenv("DJANGO_LOGIN_FAILURE_LIMIT", "3")
    monkeypatch.setenv("DJANGO_LOGIN_COOLOFF_MINUTES", "90")
    configured = importlib.reload(registry.settings)
    assert configured.AXES_FAILURE_LIMIT == 3
    assert configured.AXES_COOLOFF_TIME.total_seconds() == 90 * 60

    monkeypatch.setenv("DJANGO_LOGIN_FAILURE_LIMIT", "0")
    with pytest.raises(ImproperlyConfigured, match="DJANGO_LOGIN_FAILURE_LIMIT"):
        importlib.reload(registry.settings)
    monkeypatch.delenv("DJANGO_LOGIN_FAILURE_LIMIT")
    monkeypatch.delenv("DJANGO_LOGIN_COOLOFF_MINUTES")
    importlib.reload(registry.settings)


# Behind the load balancer every request arrives from the proxy; the client is named in X-Forwarded-For.
PROXY = "10.0.0.2"
FIRST_CLIENT, OTHER_CLIENT = "203.0.113.7", "198.51.100.9"


@pytest.fixture
def proxies(monkeypatch, settings):
    """Configure the client's address as registry/settings.py does from the environment given."""
    import importlib

    import registry.settings

    def configure(**env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        configured = importlib.reload(registry.settings)
        for name in [n for n in dir(configured) if n.startswith("AXES_IPWARE_")]:
            setattr(settings, name, getattr(configured, name))

    yield configure
    monkeypatch.undo()
    importlib.reload(registry.settings)


def _sign_in_from(client, password, remote_addr, forwarded_for=None):
    headers = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client.post(
        reverse("admin:login"),
        {"username": "editor", "password": password, "next": reverse("admin:index")},
        secure=True,
        **headers,
    )


def test_behind_a_proxy_one_clients_failures_do_not_lock_the_user_out_for_another_client(
    client, editor, proxies
):
    proxies(DJANGO_PROXY_COUNT="1")
    with time_machine.travel(START, tick=False):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            _sign_in_from(client, "wrong", PROXY, f"{FIRST_CLIENT}, 10.0.0.1")
        locked = _sign_in_from(client, PASSWORD, PROXY, f"{FIRST_CLIENT}, 10.0.0.1")
        other = _sign_in_from(client, PASSWORD, PROXY, f"{OTHER_CLIENT}, 10.0.0.1")

    assert locked.status_code == 429
    assert other.status_code == 302


def test_behind_a_proxy_a_forwarded_for_not_ending_with_the_trusted_proxy_is_ignored(client, editor, proxies):
    proxies(DJANGO_PROXY_COUNT="1", DJANGO_PROXY_TRUSTED_IPS="10.0.0.")
    with time_machine.travel(START, tick=False):
        for number in range(settings.AXES_FAILURE_LIMIT):
            # Made up by a client that reached the application without the proxy: counted as the connection.
            _sign_in_from(client, "wrong", OTHER_CLIENT, f"192.0.2.{number}, 192.0.2.200")
        forged = _sign_in_from(client, PASSWORD, OTHER_CLIENT, "192.0.2.99, 192.0.2.200")
        through_the_proxy = _sign_in_from(client, PASSWORD, PROXY, f"{FIRST_CLIENT}, 10.0.0.1")

    assert forged.status_code == 429
    assert through_the_proxy.status_code == 302


def test_without_a_proxy_a_client_cannot_escape_the_lockout_by_sending_x_forwarded_for(
    client, editor, proxies
):
    proxies(DJANGO_PROXY_COUNT="0")
    with time_machine.travel(START, tick=False):
        for number in range(settings.AXES_FAILURE_LIMIT):
            _sign_in_from(client, "wrong", FIRST_CLIENT, f"192.0.2.{number}")
        forged = _sign_in_from(client, PASSWORD, FIRST_CLIENT, "192.0.2.99, 10.0.0.1")
        other = _sign_in_from(client, PASSWORD, OTHER_CLIENT)

    assert forged.status_code == 429
    assert other.status_code == 302
