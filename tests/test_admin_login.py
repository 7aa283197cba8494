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
