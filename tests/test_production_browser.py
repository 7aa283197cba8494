"""In a real Chromium, the Content-Security-Policy blocks nothing the site or the admin needs.

The markup checks in test_production_csp.py find inline code; this test loads
the pages in Debian's Chromium under the real headers and listens for the
browser's own CSP violation reports, and checks that the admin's scripts ran.
"""

import io
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from members.models import Organisation

# Serialized like the other browser tests: the flush after a live-server test must
# not take the regions the migrations seeded away from the transactional tests after it.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


@pytest.fixture
def chromium_page(monkeypatch):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test touches the
    # ORM only between page loads, never while a request is being served.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        violations = []
        page.on(
            "console",
            lambda message: (
                violations.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        yield page, violations
        browser.close()


@pytest.fixture
def live_site(live_server, settings):
    # The live server finds static files by their source names, not the manifest's.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("load_seed", stdout=io.StringIO())
    return live_server.url


def test_public_pages_and_admin_run_under_the_policy_without_a_violation(
    chromium_page, live_site, django_user_model
):
    page, violations = chromium_page
    django_user_model.objects.create_superuser("csp-check", "csp@example.org", "a long test password 1")
    cicopa = Organisation.objects.get(acronym="CICOPA")
    admin = live_site + "/" + settings.ADMIN_PATH

    for path in ["/en/", "/en/organisations/", "/en/federations/cicopa/", "/en/statistics/"]:
        assert page.goto(live_site + path).status == 200

    page.goto(admin + "login/")
    page.fill("#id_username", "csp-check")
    page.fill("#id_password", "a long test password 1")
    page.click("input[type=submit]")
    page.wait_for_url(admin)
    page.goto(admin + f"members/organisation/{cicopa.pk}/change/")
    # The inline formsets' "Add another" links are created by the admin's scripts.
    page.wait_for_selector(".add-row a", timeout=10_000)
    page.goto(admin + "members/organisation/")
    page.goto(admin + "members/membership/add/")

    assert violations == []
