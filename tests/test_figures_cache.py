"""Cached figures and pages follow the register's version: a change outdates them, nothing else does.

A federation's figures are served from the cache until the register changes
(members.cache); an unchanged page is answered 304 to a conditional GET without
a query (members.pagecache). Saving through the ORM and a CSV import both count
as changes.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members import cache
from members.models import Organisation
from tests.factories import MembershipFactory


@pytest.mark.django_db
def test_cached_figures_are_outdated_by_a_new_membership(seeded):
    cicopa = Organisation.objects.get(slug="cicopa")
    day = datetime.date(2017, 6, 30)  # a half-year's end: kept (members.cache.is_kept_day)
    before = cache.federation_figures(cicopa, day).members
    with CaptureQueriesContext(connection) as again:
        assert cache.federation_figures(cicopa, day).members == before
    assert len(again) == 0  # served from the cache
    MembershipFactory(federation=cicopa, joined_on=datetime.date(2016, 1, 1))
    assert cache.federation_figures(cicopa, day).members == before + 1


@pytest.mark.django_db
def test_an_unchanged_federation_page_is_answered_304_and_a_changed_one_in_full(client, seeded):
    url = "/en/federations/cicopa/"
    client.get(url)
    etag = client.get(url)["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    MembershipFactory(federation=Organisation.objects.get(slug="cicopa"))
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


@pytest.mark.django_db
def test_a_conditional_get_of_an_unchanged_page_runs_no_sql(client, seeded):
    url = "/en/organisations/"
    client.get(url)
    etag = client.get(url)["ETag"]
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert len(queries) == 0


@pytest.mark.django_db
def test_a_csv_import_outdates_cached_figures(seeded, django_capture_on_commit_callbacks):
    from members import csv_io

    cicopa = Organisation.objects.get(slug="cicopa")
    day = datetime.date(2017, 6, 30)  # a half-year's end: kept (members.cache.is_kept_day)
    before = cache.federation_figures(cicopa, day).members
    row = dict.fromkeys(csv_io.HEADERS, "")
    row.update(
        slug="new-coop",
        name="New co-op",
        kind="cooperative",
        country="FR",
        federation="cicopa",
        category="full",
        joined_on="2016-01-01",
        joined_precision="day",
    )
    data = (",".join(csv_io.HEADERS) + "\n" + ",".join(row[h] for h in csv_io.HEADERS) + "\n").encode()
    plan = csv_io.plan_import(data)
    assert not plan.errors
    with django_capture_on_commit_callbacks(execute=True):
        csv_io.apply_import(plan)
    assert cache.federation_figures(cicopa, day).members == before + 1
