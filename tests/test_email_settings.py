"""The e-mail settings and the site's address, read from the environment (registry/settings.py)."""

import pytest

from tests.test_settings import DEBUG, assert_one_clear_line, run_manage


def setting(env, *names):
    program = "from django.conf import settings; print(" + ", ".join(f"settings.{n}" for n in names) + ")"
    result = run_manage(env, "shell", "-c", program)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {**DEBUG, "DJANGO_EMAIL_BACKEND": "carrier pigeon"},
            "Configuration error: DJANGO_EMAIL_BACKEND='carrier pigeon' is not an e-mail backend",
        ),
        (
            {**DEBUG, "DJANGO_EMAIL_PORT": "smtp"},
            "Configuration error: DJANGO_EMAIL_PORT='smtp' is not a whole number.",
        ),
        (
            {**DEBUG, "DJANGO_DEFAULT_FROM_EMAIL": "the register"},
            "Configuration error: DJANGO_DEFAULT_FROM_EMAIL='the register' is not an e-mail address",
        ),
        (
            {**DEBUG, "DJANGO_SITE_URL": "register.example.org"},
            "Configuration error: DJANGO_SITE_URL='register.example.org' is not the site's address",
        ),
        (
            {**DEBUG, "DJANGO_SITE_URL": "https://register.example.org/en/"},
            "Configuration error: DJANGO_SITE_URL='https://register.example.org/en/' is not the site",
        ),
    ],
)
def test_a_bad_e_mail_setting_stops_start_up_with_one_clear_line(env, expected):
    assert_one_clear_line(run_manage(env, "check"), expected)


def test_debug_prints_mail_on_the_console_and_links_point_at_the_development_server():
    assert setting(DEBUG, "EMAIL_BACKEND", "SITE_URL") == (
        "django.core.mail.backends.console.EmailBackend http://127.0.0.1:8000"
    )


def test_production_sends_through_smtp_as_configured_with_links_to_the_sites_host():
    env = {
        "DJANGO_SECRET_KEY": "x",
        "DJANGO_ALLOWED_HOSTS": ".example.org,register.example.org",
        "DJANGO_EMAIL_HOST": "mail.example.org",
        "DJANGO_EMAIL_PORT": "587",
        "DJANGO_EMAIL_USE_TLS": "1",
        "DJANGO_DEFAULT_FROM_EMAIL": "Register <register@example.org>",
    }

    shown = setting(env, "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS", "SITE_URL")

    assert shown == (
        "django.core.mail.backends.smtp.EmailBackend mail.example.org 587 True https://register.example.org"
    )
    assert setting({**env, "DJANGO_SITE_URL": "https://members.example.org/"}, "SITE_URL") == (
        "https://members.example.org"
    )
