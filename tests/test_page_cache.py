"""Readers get public pages from the cache while the register is unchanged; nothing personal is shared."""

import datetime

import pytest
from django.core.management import call_command
from django.db import connection
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from members.cache import version
from members.models import Organisation
from members.pagecache import cached_page
from tests.factories import MembershipFactory, OrganisationFactory

PUBLIC_PAGES = [
    "/en/",
    "/fr/organisations/?joined=2017&sort=-name",
    "/es/federations/cicopa/?as_of=2017-06-21",
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


def test_a_new_membership_changes_the_cached_federation_page(client, seeded):
    url = "/en/statistics/"
    before = client.get(url).context["rows"]
    MembershipFactory(federation=Organisation.objects.get(slug="cicopa"), joined_on=datetime.date(2016, 1, 1))
    after = client.get(url).context["rows"]
    assert [r.members for r in after] != [r.members for r in before]


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


def test_a_worker_keeps_only_the_current_versions_pages_in_local_memory(client, seeded, settings):
    from django.core.cache import caches

    from members.cache import register_changed

    if not settings.CACHES["pages"]["BACKEND"].endswith("LocMemCache"):
        pytest.skip("pages are in a shared cache")
    client.get("/en/organisations/")
    client.get("/en/statistics/")
    register_changed()
    client.get("/en/organisations/")
    assert len(caches["pages"]._cache) == 1  # the two pages of the older version are gone
