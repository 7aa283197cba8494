"""No reader waits on a recomputation: outdated pages served at once, refreshed in the background.

A change outdates the cached figures and pages without deleting them
(members/cache.py): readers are served the page as it was, marked with its
date, while one refresh per page runs (members/refresh.py); a page nobody has
stored yet is computed by one reader while the others wait for it.
"""

import datetime
import re
import threading
import time

import pytest
import time_machine
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members import cache, pagecache, refresh, stats
from members.models import CountedFigures, Organisation
from tests.factories import MembershipFactory

# The notice an outdated page carries, in whatever language the page is in (members/pagecache.py).
OUTDATED_NOTICE = b'<p class="outdated-notice"'

NOTICE = re.compile(rb'<p class="outdated-notice" role="status">[^<]*</p>')
FEDERATION_PAGE = "/en/federations/cicopa/"


def _without_notice(content):
    return NOTICE.sub(pagecache.OUTDATED_MARK, content)


def _queries_besides_the_task_queue(queries):
    # A reader served an outdated page may enqueue its refresh: one row in the tasks' table.
    return [q["sql"] for q in queries.captured_queries if "django_tasks" not in q["sql"]]


def _new_member_of_cicopa(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        MembershipFactory(
            federation=Organisation.objects.get(slug="cicopa"), joined_on=datetime.date(2016, 1, 1)
        )


def _rendered_afresh(url):
    """The page rendered for this request alone: a session cookie keeps it out of the cache."""
    visitor = Client()
    visitor.cookies["sessionid"] = "none"
    return visitor.get(url).content


def _shared_pages():
    return cache.is_shared(caches[pagecache.PAGES])


def test_after_a_change_a_reader_is_served_the_previous_page_at_once_marked_with_its_date(
    client, seeded, django_capture_on_commit_callbacks
):
    made = datetime.datetime(2026, 12, 1, 17, 42, tzinfo=datetime.UTC)  # 18:42 in Brussels (TIME_ZONE)
    with time_machine.travel(made, tick=True) as traveller:
        before = client.get(FEDERATION_PAGE)
        traveller.shift(datetime.timedelta(seconds=30))  # within local memory's minute
        _new_member_of_cicopa(django_capture_on_commit_callbacks)
        with CaptureQueriesContext(connection) as queries:
            outdated = client.get(FEDERATION_PAGE)
    assert outdated.status_code == 200
    assert _queries_besides_the_task_queue(queries) == []  # nothing recomputed for this reader
    assert b"Figures as computed at 18:42 on 1 December 2026; being brought up to date." in outdated.content
    assert _without_notice(outdated.content) == before.content
    assert 30 <= int(outdated["Age"]) < 60
    assert outdated["ETag"] != before["ETag"]
    assert outdated["Cache-Control"] == "no-cache"
    assert outdated["Last-Modified"] == "Tue, 01 Dec 2026 17:42:00 GMT"


def test_readers_of_an_outdated_page_ask_for_one_refresh_between_them(
    client, seeded, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    if not _shared_pages():
        pytest.skip("a task worker cannot reach one process's memory: nothing is enqueued")
    client.get(FEDERATION_PAGE)
    _new_member_of_cicopa(django_capture_on_commit_callbacks)
    DBTaskResult.objects.all().delete()  # the change's own refresh, tested below
    for _ in range(5):
        assert OUTDATED_NOTICE in client.get(FEDERATION_PAGE).content
    asked = DBTaskResult.objects.filter(task_path="members.refresh.refresh_page")
    assert [result.args_kwargs["args"][0]["path"] for result in asked] == [FEDERATION_PAGE]


def test_the_refresh_brings_the_outdated_pages_up_to_date_in_every_language(
    client, seeded, django_capture_on_commit_callbacks
):
    pages = ["/en/", "/fr/", "/en/statistics/", "/es/statistics/", FEDERATION_PAGE, "/fr/federations/cicopa/"]
    before = {url: client.get(url).content for url in pages}
    _new_member_of_cicopa(django_capture_on_commit_callbacks)
    assert [url for url in pages if OUTDATED_NOTICE not in client.get(url).content] == []

    cicopa = Organisation.objects.get(slug="cicopa")
    refresh.refresh_federation.call(cicopa.pk)  # as a task worker runs it

    for url in pages:
        with CaptureQueriesContext(connection) as queries:
            served = client.get(url)
        assert len(queries) == 0, url  # from the cache
        assert OUTDATED_NOTICE not in served.content, url
        rendered = _rendered_afresh(url)
        assert served.content == rendered, url
    assert client.get(FEDERATION_PAGE).content != before[FEDERATION_PAGE]


def test_the_figures_after_the_refresh_equal_a_fresh_computation(seeded, django_capture_on_commit_callbacks):
    cicopa = Organisation.objects.get(slug="cicopa")
    today = timezone.localdate()
    before = cache.federation_figures(cicopa, today)
    _new_member_of_cicopa(django_capture_on_commit_callbacks)
    refresh.refresh_federation.call(cicopa.pk)
    with CaptureQueriesContext(connection) as queries:
        refreshed = cache.federation_figures(cicopa, today)
    assert len(queries) == 0  # computed by the refresh
    assert refreshed == stats.federation_figures(cicopa, today)
    assert refreshed.members == before.members + 1


def test_the_refresh_reaches_the_federations_above_the_one_that_changed(
    seeded, django_capture_on_commit_callbacks
):
    # A federation that is itself a member: its change shows in the figures of those above it.
    membership = (
        MembershipFactory._meta.model.objects.filter(member__in=Organisation.objects.federations())
        .select_related("member", "federation")
        .first()
    )
    assert membership is not None
    refreshed = refresh.refresh_federation.call(membership.member_id)
    assert {membership.member.slug, membership.federation.slug} <= set(refreshed)
    # Once per version of the register: a second task for the same change does nothing again.
    assert refresh.refresh_federation.call(membership.member_id) == []


def test_a_burst_of_saves_enqueues_one_refresh_per_federation(seeded, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    if not _shared_pages():
        pytest.skip("a task worker cannot reach one process's memory: nothing is enqueued")
    cicopa = Organisation.objects.get(slug="cicopa")
    cecop = Organisation.objects.get(slug="cecop")
    with django_capture_on_commit_callbacks(execute=True):
        memberships = [MembershipFactory(federation=cicopa) for _ in range(5)]
        MembershipFactory(federation=cecop)
    enqueued = [
        result.args_kwargs["args"][0]
        for result in DBTaskResult.objects.filter(task_path="members.refresh.refresh_federation")
    ]
    assert enqueued.count(cicopa.pk) == 1
    assert enqueued.count(cecop.pk) == 1
    assert len(enqueued) == len(set(enqueued))
    assert {m.member_id for m in memberships} <= set(enqueued)  # each new organisation's own


def test_with_tasks_run_at_once_the_change_commits_with_its_pages_refreshed(
    client, seeded, immediate_tasks, django_capture_on_commit_callbacks
):
    client.get(FEDERATION_PAGE)
    _new_member_of_cicopa(django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as queries:
        served = client.get(FEDERATION_PAGE)
    assert len(queries) == 0
    assert OUTDATED_NOTICE not in served.content
    assert served.content == _rendered_afresh(FEDERATION_PAGE)


def test_a_page_first_asked_for_after_a_change_is_made_of_the_outdated_figures_and_says_so(
    client, seeded, django_capture_on_commit_callbacks
):
    client.get("/en/statistics/")  # the figures of the top-level federations, cached
    _new_member_of_cicopa(django_capture_on_commit_callbacks)
    variant = "/en/statistics/?federation=cecop"  # never asked for: rendered now
    first = client.get(variant)
    assert OUTDATED_NOTICE in first.content
    address = pagecache.Address("http", "testserver", "/en/statistics/", (("federation", "cecop"),), "en")
    assert pagecache.is_outdated(address)  # stored, as old as the figures it shows

    assert refresh.refresh_page.call(address.as_json()) == 200
    with CaptureQueriesContext(connection) as queries:
        refreshed = client.get(variant)
    assert len(queries) == 0
    assert OUTDATED_NOTICE not in refreshed.content
    assert refreshed.content == _rendered_afresh(variant)


def test_signed_in_staff_get_the_page_rendered_with_the_change(
    client, seeded, staff_member, django_capture_on_commit_callbacks
):
    client.get(FEDERATION_PAGE)
    cicopa = Organisation.objects.get(slug="cicopa")
    members_before = stats.federation_figures(cicopa).members
    _new_member_of_cicopa(django_capture_on_commit_callbacks)
    client.force_login(staff_member("administrator"))
    page = client.get(FEDERATION_PAGE)
    assert OUTDATED_NOTICE not in page.content
    assert page.context["figures"].members == members_before + 1


def test_a_refresh_no_worker_answered_is_done_by_a_reader_once_its_lock_expires(
    client, seeded, django_capture_on_commit_callbacks, monkeypatch
):
    # The worker died, or none reaches this cache: the refresh asked is never made.
    monkeypatch.setattr(cache, "REFRESH_TIMEOUT", 1)
    monkeypatch.setattr(cache, "LOCAL_REFRESH_TIMEOUT", 1)
    client.get(FEDERATION_PAGE)
    _new_member_of_cicopa(django_capture_on_commit_callbacks)
    assert OUTDATED_NOTICE in client.get(FEDERATION_PAGE).content  # asks, and is served
    assert OUTDATED_NOTICE in client.get(FEDERATION_PAGE).content  # someone is on it
    time.sleep(1.2)
    with CaptureQueriesContext(connection) as queries:
        late = client.get(FEDERATION_PAGE)
    assert len(queries) > 0  # this reader recomputed it
    assert OUTDATED_NOTICE not in late.content
    with CaptureQueriesContext(connection) as queries:
        assert client.get(FEDERATION_PAGE).content == late.content
    assert len(queries) == 0


def test_a_lock_left_by_a_process_that_died_holds_a_cold_page_up_only_until_it_expires(client, seeded):
    address = pagecache.Address("http", "testserver", FEDERATION_PAGE, (), "en")
    pages = caches[pagecache.PAGES]
    # What a process that died while computing the page leaves behind.
    assert pages.add(cache._lock_key(address.key()), cache.COMPUTING, timeout=1)
    started = time.monotonic()
    response = client.get(FEDERATION_PAGE)
    waited = time.monotonic() - started
    assert response.status_code == 200
    assert 0.9 <= waited < cache.COMPUTE_TIMEOUT / 2
    assert isinstance(pages.get(address.key()), cache.Entry)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_readers_of_a_cold_page_compute_its_figures_once():
    call_command("load_seed", verbosity=0)
    start = threading.Barrier(2)
    computed, served = [], []
    counted_table = CountedFigures._meta.db_table

    def reader():
        try:
            start.wait()
            with CaptureQueriesContext(connections["default"]) as queries:
                response = Client().get("/en/statistics/")
            served.append(response.content)
            # Only a reader that computed the figures sums the network's counted figures.
            # The other may still render the page around the figures the first one stored.
            computed.append(any(counted_table in q["sql"] for q in queries.captured_queries))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(computed) == [False, True]
    assert served[0] == served[1]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_refresh_delay_is_measured_with_a_real_task_worker():
    from django_tasks_db.management.commands.db_worker import Worker

    from tests.devtools.refresh_delay import measure_refresh_delay

    if not _shared_pages():
        pytest.skip("a task worker cannot reach one process's memory: set DJANGO_CACHE_URL")
    call_command("load_seed", verbosity=0)
    worker = Worker(
        queue_names=["default"],
        interval=0.05,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="refresh-delay-test",
        excluded_queue_names=[],
    )

    def run():
        try:
            worker.run()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        delay = measure_refresh_delay(Client(), "cicopa", limit=60)
    finally:
        worker.running = False
        thread.join(30)
    assert 0 < delay < 60
    cicopa = Organisation.objects.get(slug="cicopa")
    with CaptureQueriesContext(connection) as queries:
        served = Client().get(FEDERATION_PAGE)
    assert len(queries) == 0  # the worker stored it
    assert OUTDATED_NOTICE not in served.content
    assert cache.federation_figures(cicopa) == stats.federation_figures(cicopa)


def test_a_page_that_is_gone_since_the_change_is_served_outdated_no_longer_once_refreshed(
    client, seeded, django_capture_on_commit_callbacks
):
    client.get(FEDERATION_PAGE)
    with django_capture_on_commit_callbacks(execute=True):
        cicopa = Organisation.objects.get(slug="cicopa")
        cicopa.slug = "cicopa-renamed"
        cicopa.save()
    assert client.get(FEDERATION_PAGE).status_code == 200  # outdated, as it was
    address = pagecache.Address("http", "testserver", FEDERATION_PAGE, (), "en")
    assert refresh.refresh_page.call(address.as_json()) == 404
    assert client.get(FEDERATION_PAGE).status_code == 404
