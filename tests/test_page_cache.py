"""Readers get public pages from the cache while the register is unchanged; nothing personal is shared."""

import datetime
import os

import pytest
from django.core.management import call_command
from django.db import connection
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from members import pagecache
from members.cache import is_kept_day, version
from members.models import Organisation
from members.pagecache import STORED_PAGES, cached_page
from tests.factories import MembershipFactory, OrganisationFactory

PUBLIC_PAGES = [
    "/en/",
    "/fr/organisations/?joined=2017&sort=-name",
    "/es/federations/cicopa/?as_of=2017-06-30",
    "/en/statistics/?federation=cecop",
    "/en/feeds/events.rss",
]


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_a_readers_second_visit_is_served_from_the_cache_without_sql(client, seeded, url):
    first = client.get(url)
    with CaptureQueriesContext(connection) as queries:
        second = client.get(url)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert len(queries) == 0


def test_a_change_to_the_register_is_on_the_next_page_served(client, seeded):
    url = "/en/organisations/?q=newcomer"
    assert "Newcomer Co-operative" not in client.get(url).content.decode()
    OrganisationFactory(name="Newcomer Co-operative")
    assert "Newcomer Co-operative" in client.get(url).content.decode()


def test_a_new_membership_changes_the_cached_federation_page_once_refreshed(
    client, seeded, immediate_tasks, django_capture_on_commit_callbacks
):
    # Readers are served the page as it was until the refresh the change enqueued has run
    # (here at once, on commit: tests/test_refresh.py has the page served meanwhile).
    url = "/en/statistics/"
    before = client.get(url).context["rows"]
    with django_capture_on_commit_callbacks(execute=True):
        MembershipFactory(
            federation=Organisation.objects.get(slug="cicopa"), joined_on=datetime.date(2016, 1, 1)
        )
    after = client.get(url)
    assert after.context is None  # from the cache, as the refresh stored it
    assert b"being brought up to date" not in after.content
    visitor = Client()
    visitor.cookies["sessionid"] = "none"  # a session cookie: rendered afresh
    rendered = visitor.get(url)
    assert [r.members for r in rendered.context["rows"]] != [r.members for r in before]
    assert after.content == rendered.content


def test_pages_differ_by_query_string_and_language(client, seeded):
    english = client.get("/en/organisations/?joined=2017").content
    assert client.get("/en/organisations/?joined=2016").content != english
    assert client.get("/fr/organisations/?joined=2017").content != english


def test_signed_in_staff_are_never_served_a_cached_page(client, seeded, staff_member):
    url = "/en/organisations/"
    client.get(url)  # cached for readers
    client.force_login(staff_member("administrator"))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert len(queries) > 0


def test_an_invalid_date_is_answered_afresh_each_time(client, seeded):
    url = "/en/statistics/?as_of=yesterday"
    assert client.get(url).status_code == 400
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 400
    assert len(queries) > 0


def test_a_page_with_a_csrf_token_is_never_stored(db):
    rendered = []

    @cached_page
    def page_with_a_form(request):
        rendered.append(1)
        return HttpResponse(f'<input name="csrfmiddlewaretoken" value="{get_token(request)}">')

    factory = RequestFactory()
    first = page_with_a_form(factory.get("/en/form/"))
    second = page_with_a_form(factory.get("/en/form/"))
    assert len(rendered) == 2
    assert first.content != second.content  # each reader gets a token of their own


def test_the_organisation_page_with_its_e_mail_form_is_rendered_for_each_reader(client, seeded):
    url = "/en/organisations/smart/"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert len(queries) > 0


def test_the_same_parameters_in_another_order_are_the_same_page(client, seeded):
    client.get("/en/organisations/?joined=2017&sort=-name")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/en/organisations/?sort=-name&joined=2017").status_code == 200
    assert len(queries) == 0


def test_an_address_with_a_parameter_the_page_does_not_read_is_never_stored(client, seeded):
    url = "/en/organisations/?joined=2017&utm_source=newsletter"
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert len(queries) > 0


def test_the_register_changes_again_when_a_change_commits(seeded, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        OrganisationFactory(name="Committed Later Co-operative")
        # A reader rendering now would see the register before the change
        # and store the page under this version.
        during = version()
    assert version() != during


def test_a_release_outdates_every_cached_page(db):
    before = version()
    call_command("migrate", verbosity=0)
    assert version() != before


# Nothing listens on port 9: every read and write of this cache fails.
UNREACHABLE = {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": "redis://127.0.0.1:9/0",
    "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
}


@pytest.mark.parametrize("aliases", [["pages"], ["default", "pages"]])
def test_public_pages_are_rendered_when_the_cache_is_unreachable(client, seeded, settings, aliases):
    settings.CACHES = {**settings.CACHES, **dict.fromkeys(aliases, UNREACHABLE)}
    for url in ["/en/organisations/?joined=2017", "/en/federations/cicopa/", "/en/statistics/"]:
        response = client.get(url)
        assert response.status_code == 200, url
    assert "SMart" in client.get("/en/organisations/?joined=2017").content.decode()


def test_a_change_is_saved_when_the_cache_is_unreachable(seeded, settings):
    settings.CACHES = {**settings.CACHES, "default": UNREACHABLE}
    OrganisationFactory(name="Saved Anyway Co-operative")
    assert Organisation.objects.filter(name="Saved Anyway Co-operative").exists()


def test_in_development_pages_are_always_rendered(client, seeded, settings):
    settings.DEBUG = True
    client.get("/en/organisations/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/en/organisations/").status_code == 200
    assert len(queries) > 0


def test_a_page_is_one_entry_whatever_the_version(client, seeded):
    # Entries are no longer keyed on the register's version (outdated ones are served until
    # refreshed, tests/test_refresh.py): a change replaces a page's entry, never adds one.
    from members.cache import register_changed

    client.get("/en/organisations/")
    client.get("/en/statistics/")
    for _ in range(3):
        register_changed()
        client.get("/en/organisations/")
        client.get("/en/statistics/")
    assert _stored_pages() == 2


def _stored(alias, marker):
    """How many keys of the cache hold `marker` (local memory or Redis)."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    store = caches[alias]
    if isinstance(store, LocMemCache):
        keys = list(store._cache)
    else:
        keys = [key.decode() for key in store._cache.get_client().keys(f"{store.key_prefix}:*")]
    return sum(marker in key for key in keys)


def _stored_pages():
    return _stored("pages", ":members:page:")


def test_a_flood_of_made_up_dates_searches_page_numbers_and_ports_stores_only_the_bounded_pages(
    client, seeded
):
    shared = [
        "/en/federations/cicopa/",
        "/en/federations/cicopa/?as_of=2016-12-31",
        "/en/organisations/",
        "/en/organisations/?page=1",
        "/en/statistics/",
    ]
    for url in shared:
        assert client.get(url).status_code == 200
    assert _stored_pages() == len(shared)

    for n in range(25):
        day = datetime.date(2017, 1, 1) + datetime.timedelta(days=n)  # none ends a half-year
        assert client.get(f"/en/federations/cicopa/?as_of={day}").status_code == 200
        assert client.get(f"/en/organisations/?q=flood{n}").status_code == 200
        # "01", "001"…: every one is the first page; "last" and later pages are not stored either.
        assert client.get(f"/en/organisations/?page={'0' * (n + 1)}1").status_code == 200
        assert client.get("/en/statistics/", HTTP_HOST=f"testserver:{8000 + n}").status_code == 200
    client.get("/en/organisations/?page=last")
    client.get(f"/en/organisations/?page={STORED_PAGES + 1}")

    assert _stored_pages() == len(shared)


def test_a_flood_of_valid_filter_combinations_stores_no_more_variants_than_the_bound(
    client, seeded, monkeypatch
):
    monkeypatch.setattr(pagecache, "PAGE_VARIANTS", 3)
    for year in range(1990, 2000):
        assert client.get(f"/en/organisations/?joined={year}&sort=-name").status_code == 200
    client.get("/en/organisations/")
    assert _stored_pages() == 3 + 1  # three variants and the bare page
    with CaptureQueriesContext(connection) as queries:
        client.get("/en/organisations/?joined=1990&sort=-name")
    assert len(queries) == 0  # the first ones asked for are the ones kept


def test_a_page_for_another_port_of_the_same_host_shares_the_canonical_entry(client, seeded):
    first = client.get("/en/feeds/events.rss")
    with CaptureQueriesContext(connection) as queries:
        other = client.get("/en/feeds/events.rss", HTTP_HOST="testserver:8123")
    assert len(queries) == 0
    assert other.content == first.content
    assert _stored_pages() == 1


def test_a_page_asked_for_on_a_made_up_port_is_not_stored_for_everyone(client, seeded):
    made_up = client.get("/en/feeds/events.rss", HTTP_HOST="testserver:6666")
    assert "testserver:6666" in made_up.content.decode()  # a feed links to the host it was asked on
    assert _stored_pages() == 0
    with CaptureQueriesContext(connection) as queries:
        canonical = client.get("/en/feeds/events.rss")
    assert len(queries) > 0
    assert "testserver:6666" not in canonical.content.decode()


def test_a_host_matched_only_by_a_pattern_in_allowed_hosts_is_never_cached(client, seeded, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, ".example.org"]
    client.get("/en/statistics/", HTTP_HOST="made-up.example.org")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/en/statistics/", HTTP_HOST="made-up.example.org").status_code == 200
    assert len(queries) > 0
    assert _stored_pages() == 0


def test_figures_as_of_a_day_that_is_not_kept_are_computed_and_not_stored(client, seeded):
    client.get("/en/federations/cicopa/?as_of=2017-06-21")
    assert _stored("default", ":members:figures:") == 0
    client.get("/en/federations/cicopa/?as_of=2017-06-30")
    assert _stored("default", ":members:figures:") > 0


@pytest.mark.parametrize(
    ("day", "kept"),
    [
        (datetime.date(2026, 3, 2), True),  # today
        (datetime.date(2025, 12, 31), True),
        (datetime.date(2025, 6, 30), True),
        (datetime.date(1800, 6, 30), True),
        (datetime.date(2025, 12, 30), False),
        (datetime.date(2026, 6, 30), False),  # a half-year that has not ended
        (datetime.date(1799, 12, 31), False),
    ],
)
def test_the_days_kept_are_today_and_the_last_days_of_half_years_gone_by(day, kept):
    import time_machine

    with time_machine.travel(datetime.datetime(2026, 3, 2, 12, tzinfo=datetime.UTC), tick=False):
        assert is_kept_day(day) is kept


def test_pages_live_in_a_store_of_their_own_apart_from_the_figures_and_the_version(monkeypatch):
    import importlib

    import registry.settings

    monkeypatch.setenv("DJANGO_CACHE_URL", "redis://figures.internal:6379/0")
    monkeypatch.setenv("DJANGO_PAGE_CACHE_URL", "redis://pages.internal:6379/0")
    apart = importlib.reload(registry.settings).CACHES
    monkeypatch.delenv("DJANGO_PAGE_CACHE_URL")
    shared = importlib.reload(registry.settings).CACHES
    monkeypatch.undo()
    local = importlib.reload(registry.settings).CACHES

    assert apart["default"]["LOCATION"] == "redis://figures.internal:6379/0"
    assert apart["pages"]["LOCATION"] == "redis://pages.internal:6379/0"
    # One Redis for both: the pages under a prefix of their own.
    assert shared["pages"]["LOCATION"] == shared["default"]["LOCATION"]
    assert shared["pages"]["KEY_PREFIX"] == "pages" != shared["default"].get("KEY_PREFIX", "")
    if not os.environ.get("DJANGO_CACHE_URL"):  # two stores in local memory
        assert local["pages"]["LOCATION"] != local["default"].get("LOCATION", "")
