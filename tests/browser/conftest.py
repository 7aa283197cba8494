"""Real-browser fixtures: Debian's Chromium driven by Playwright against the live server.

Playwright's own browser download is never used (`playwright install` fetches a
build from outside the package registries); the tests launch the distribution's
Chromium by its path, which `.ci/run` installs.
"""

import datetime
import io
import json
import os
import threading
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django_tasks_db.management.commands.db_worker import Worker

from members.models import Organisation, Source
from tests.browser.pages import LONG_NAME, LONG_NAME_SLUG
from tests.factories import MembershipFactory, OrganisationFactory

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture
def browser(monkeypatch):
    """A headless Chromium, started for one test.

    Started per test and after the database fixtures on purpose: while Playwright's
    sync API runs, Django's `connections` hands this thread a different connection
    object, so a browser kept across tests would make the transactional flush miss
    the serialized migration data and leave the database without it.
    """
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread, which makes Django
    # refuse ORM calls from the test itself ("SynchronousOnlyOperation"). The
    # tests only set up data there, before and between page loads, never
    # concurrently with a request.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()
        # The connections the test body opened under Playwright are its own; close
        # them so the test database can be dropped at the end of the run.
        connections.close_all()


@pytest.fixture
def plain_static_names(settings):
    """Serve static files by their plain names.

    The suite renders pages through collectstatic's hashed-name manifest, but the
    live server's static handler looks files up by their source name; without
    this the browser would get the pages without their CSS.
    """
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def site(live_server, plain_static_names):
    """The live server holding the register as `load_seed` leaves it."""
    call_command("load_seed", stdout=io.StringIO())
    return live_server


@pytest.fixture
def long_name(site):
    """An organisation with a long name and website, a member of CICOPA, on top of the seed."""
    organisation = OrganisationFactory(
        name=LONG_NAME,
        slug=LONG_NAME_SLUG,
        kind=Organisation.Kind.NATIONAL,
        country="DE",
        city="Castrop-Rauxel-Habinghorst-Frohlinde",
        website="https://www.arbeitsgemeinschaftsgenossenschaftsverband.example/mitglieder/verzeichnis/2017/",
    )
    MembershipFactory(
        member=organisation,
        federation=Organisation.objects.get(slug="cicopa"),
        joined_on=datetime.date(2018, 3, 1),
        source=Source.objects.first(),
    )
    return organisation


class Visitor:
    """A reader in a fresh browser context, with helpers that read as what they do."""

    def __init__(self, context, base_url, failed_requests):
        self.context = context
        self.base_url = base_url
        self.page = context.new_page()
        self.failed_requests = failed_requests

    def url(self, path):
        return self.base_url + path

    def open(self, path, width=1280):
        self.page.set_viewport_size({"width": width, "height": 900})
        response = self.page.goto(self.url(path))
        return response

    def axe_violations(self):
        """Run axe-core's WCAG 2.1 A and AA rules on the current page."""
        # Evaluated through the DevTools protocol, which the site's strict
        # Content-Security-Policy rightly does not let a <script> tag do.
        self.page.evaluate(AXE_JS.read_text(encoding="utf-8"))
        result = self.page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
            WCAG_21_AA,
        )
        return result["violations"]

    def screenshot(self, name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def describe_violations(violations):
    """axe's violations as lines a developer can act on: rule, impact, help, where."""
    lines = []
    for violation in violations:
        lines.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']} — {violation['helpUrl']}"
        )
        for node in violation["nodes"][:5]:
            lines.append(
                f"    at {json.dumps(node['target'])}: {node['failureSummary'].splitlines()[-1].strip()}"
            )
            lines.append(f"       {node['html'][:200]}")
        if len(violation["nodes"]) > 5:
            lines.append(f"    … and {len(violation['nodes']) - 5} more")
    return "\n".join(lines)


@pytest.fixture
def visitor(site, browser):
    """A reader of the seeded site; fails the test if any request leaves the site."""
    context = browser.new_context(locale="en-GB", accept_downloads=True)
    failed = []
    outside = []

    def watch(route):
        # No CDN, no tiles, no fonts from elsewhere: anything not served by the
        # live server is refused and remembered.
        if route.request.url.startswith(site.url) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", watch)
    context.on("requestfailed", lambda request: failed.append(request.url))
    reader = Visitor(context, site.url, failed)
    yield reader
    context.close()
    assert not outside, f"requests left the site: {outside}"


class BackgroundWorker:
    """db_worker's loop in a thread, polling the queue until stopped: the task worker of the stories
    in which staff confirm an import (the job runs as beside a real `db_worker`)."""

    def __init__(self):
        self.worker = Worker(
            queue_names=["default"],
            interval=0.2,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="browser-test-worker",
            excluded_queue_names=[],
        )
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        try:
            self.worker.run()
        finally:
            connection.close()

    def start(self):
        self.thread.start()

    def stop(self):
        self.worker.running = False
        self.thread.join(30)


@pytest.fixture
def worker():
    background = BackgroundWorker()
    yield background
    if background.thread.is_alive():
        background.stop()
