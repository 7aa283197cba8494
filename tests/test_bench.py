"""The synthetic register (generate_synthetic) and the benchmark, run at a tiny size."""

import datetime
import shutil
import subprocess
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise

import pytest
from django.db.models import Count

from members import validation
from members.models import DeclaredFigures, Membership, Organisation, Source
from tests.devtools import served_load
from tests.devtools.management.commands import bench
from tests.devtools.management.commands.generate_synthetic import SOURCE_TITLE, clear_synthetic, generate
from tests.factories import MembershipFactory, OrganisationFactory


def register_snapshot():
    organisations = list(Organisation.objects.order_by("slug").values_list("slug", "name", "kind", "country"))
    memberships = list(
        Membership.objects.order_by("member__slug", "federation__slug", "joined_on").values_list(
            "member__slug", "federation__slug", "category", "joined_on", "left_on"
        )
    )
    return organisations, memberships


# --- generate_synthetic ---------------------------------------------------------


@pytest.mark.django_db
def test_the_same_seed_generates_the_same_register_and_another_seed_a_different_one():
    generate(80, seed=7, method="bulk")
    first = register_snapshot()
    clear_synthetic()
    generate(80, seed=7, method="bulk")
    assert register_snapshot() == first
    clear_synthetic()
    generate(80, seed=8, method="bulk")
    assert register_snapshot() != first


@pytest.mark.django_db
def test_every_generated_record_says_it_is_synthetic():
    result = generate(80, seed=1, method="bulk")
    organisations = Organisation.objects.all()
    assert organisations.count() == result.organisations == 80
    assert all("synthétique" in o.name for o in organisations)
    assert Organisation.objects.exclude(source__title=SOURCE_TITLE).count() == 0
    assert result.memberships > 80 * 5
    assert Membership.objects.exclude(source__title=SOURCE_TITLE).count() == 0
    assert DeclaredFigures.objects.exclude(source__title=SOURCE_TITLE).count() == 0
    kinds = set(organisations.values_list("kind", flat=True))
    assert {
        Organisation.Kind.INTERNATIONAL,
        Organisation.Kind.NATIONAL,
        Organisation.Kind.COOPERATIVE,
    } <= set(kinds)
    assert Membership.objects.filter(category=Membership.Category.REGIONAL).exists()


@pytest.mark.django_db
def test_generated_periods_of_a_pair_never_overlap_and_no_organisation_joins_its_own_members():
    generate(80, seed=3, method="bulk")
    periods = {}
    for member, federation, joined, left in Membership.objects.order_by("joined_on").values_list(
        "member_id", "federation_id", "joined_on", "left_on"
    ):
        periods.setdefault((member, federation), []).append((joined, left))
    for spans in periods.values():
        for (_joined, left), (next_joined, _next_left) in pairwise(spans):
            assert left is not None and left <= next_joined
    # No stored membership closes a loop: none could be added again.
    day = datetime.date(2020, 1, 1)
    assert validation.cycles([validation.Period(m, f, day, None) for m, f in periods]) == []


@pytest.mark.django_db
def test_clear_removes_the_synthetic_register_and_leaves_real_records_alone(seeded):
    before = register_snapshot()
    generate(40, seed=1, method="bulk")
    clear_synthetic()
    assert register_snapshot() == before
    assert not Organisation.objects.filter(source__title=SOURCE_TITLE).exists()
    assert not Source.objects.filter(title=SOURCE_TITLE).exists()


@pytest.mark.django_db
def test_clear_removes_what_rests_on_the_synthetic_source_whatever_its_name(seeded):
    generate(20, seed=1, method="bulk")
    source = Source.objects.get(title=SOURCE_TITLE)
    cicopa = Organisation.objects.get(slug="cicopa")
    by_hand = OrganisationFactory(name="Not named as such", source=source)
    MembershipFactory(member=by_hand, federation=cicopa, source=source)
    real_member = MembershipFactory(federation=cicopa)
    clear_synthetic()
    assert not Organisation.objects.filter(pk=by_hand.pk).exists()
    assert Membership.objects.filter(pk=real_member.pk).exists()
    assert Organisation.objects.filter(slug="cicopa").exists()


@pytest.mark.postgresql
@pytest.mark.django_db
def test_copy_and_bulk_create_generate_the_same_register():
    generate(60, seed=5, method="copy")
    copied = register_snapshot()
    clear_synthetic()
    generate(60, seed=5, method="bulk")
    assert register_snapshot() == copied


# --- the benchmark, at a tiny size --------------------------------------------------


@pytest.mark.postgresql
# Serialized: a plain flush re-creates content types, and the serialized tests after
# this one (browser, production) then fail to restore the migrations' data.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_benchmark_measures_every_row_at_a_tiny_size(tmp_path):
    rows = bench.run(
        small_size=30,
        large_size=60,
        repeats=1,
        throughput_seconds=1,
        import_samples=(10, 20),
        log=lambda message: None,
    )
    measures = "\n".join(row.measure for row in rows)
    for expected in (
        "Directory, first page",
        "Directory, filtered",
        "Directory, search",
        "Federation page, uncached",
        "Federation page, served from the cache",
        "Statistics page",
        "Organisation page",
        "Federation figures as of",
        "conditional GET",
        "CSV export",
        "peak memory",
        "django-import-export defaults",
        "django-import-export bulk",
        "the confirmation's request",
        "the background job",
        "the worker's peak memory",
        "gunicorn",
        "Directory, last page",
        "Membership save at 60, new: a co-operative",
        "Membership save at 60, change",
        "Random directory pages at 60",
        "Random “as of” dates",
        "/healthz meanwhile",
        "From a change to the refreshed page being served",
    ):
        assert expected in measures
    conditional = next(row for row in rows if "conditional GET" in row.measure)
    assert conditional.met
    if shutil.which("wrk"):
        served = next(row for row in rows if "throughput" in row.measure)
        assert "req/s" in served.value
    path = bench.write_results(rows, tmp_path, "make bench")
    assert "| Goal met |" in path.read_text(encoding="utf-8")


@pytest.mark.django_db
def test_clear_leaves_a_real_source_of_the_same_title_and_what_rests_on_it(seeded):
    generate(20, seed=1, method="bulk")
    real = Source.objects.create(title=SOURCE_TITLE, published_on=datetime.date(2020, 5, 1))
    kept = OrganisationFactory(name="Cites a real source", source=real)
    clear_synthetic()
    assert Organisation.objects.filter(pk=kept.pk).exists()
    assert Source.objects.filter(pk=real.pk).exists()


# --- the benchmark's parts, each on its own --------------------------------------------


def test_sizes_are_read_in_thousands_and_millions_smallest_first():
    assert bench.parse_sizes("100k,1k,1m") == [1000, 100_000, 1_000_000]
    assert bench.parse_sizes("1000, 2.5K") == [1000, 2500]
    for wrong in ("1k", "1k,lots", "1k,5", "1k,1.5", "1k,,100k"):
        with pytest.raises(ValueError):
            bench.parse_sizes(wrong)


def test_the_command_refuses_sizes_it_cannot_read():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--sizes"):
        call_command("bench", "--sizes", "1k")


def test_databases_and_rows_name_a_million_in_millions():
    assert [bench._size_label(n) for n in (60, 1000, 100_000, 1_000_000, 1_500_000)] == [
        "60",
        "1k",
        "100k",
        "1m",
        "1500k",
    ]


def test_the_file_exported_and_imported_stays_near_a_hundred_thousand_rows_at_any_size():
    # Every tenth organisation up to 100k; past that, fewer and fewer of them.
    for size in (1000, 100_000, 300_000, 1_000_000, 3_000_000):
        share = bench.export_share(size)
        assert share >= bench.EXPORT_SHARE
        assert size // share <= max(size // bench.EXPORT_SHARE, bench.EXPORT_MOST)
    assert bench.export_share(100_000) == bench.EXPORT_SHARE


class _Recorder(ThreadingHTTPServer):
    """A loopback server that records the paths asked for; /missing answers 404, /slow sleeps."""

    daemon_threads = True

    def __init__(self):
        self.paths = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                recorder.paths.append(self.path)
                if self.path == "/slow":
                    time.sleep(0.5)
                status = 404 if self.path == "/missing" else 500 if self.path == "/broken" else 200
                self.send_response(status)
                self.send_header("Content-Length", "3")
                self.end_headers()
                self.wfile.write(b"ok\n")

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()

    @property
    def base(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


needs_wrk = pytest.mark.skipif(not shutil.which("wrk"), reason="wrk is not installed")


@needs_wrk
def test_the_wrk_script_asks_for_no_address_twice_while_its_list_lasts(tmp_path):
    paths = [f"/page?page={n}" for n in range(1, 100_001)]
    with _Recorder() as server:
        result = served_load.run_wrk(server.base, paths, 1, 2, tmp_path)
    asked = Counter(server.paths)
    assert asked and max(asked.values()) == 1
    assert set(asked) <= set(paths)
    assert not result.repeated
    # Every request wrk sent reached the server, and each it counted answered was.
    assert result.requests <= len(server.paths) <= result.issued
    assert result.errors == result.timeouts == 0
    assert result.distinct == len(paths)


@needs_wrk
def test_the_wrk_script_goes_round_a_short_list_and_counts_the_answers_that_are_errors(tmp_path):
    paths = ["/a", "/b", "/missing"]
    with _Recorder() as server:
        result = served_load.run_wrk(server.base, paths, 1, 2, tmp_path)
    asked = Counter(server.paths)
    assert set(asked) == set(paths)
    assert result.repeated
    assert 0 < result.status_errors <= asked["/missing"]
    assert result.requests >= result.status_errors


def test_the_wrk_script_refuses_an_address_it_could_not_write_plainly():
    with pytest.raises(ValueError):
        served_load.lua_script(["/organisations/?q=Évora"])
    with pytest.raises(ValueError):
        served_load.lua_script([])
    script = served_load.lua_script(['/a?q="x"\\'])
    assert '"/a?q=\\"x\\"\\\\"' in script


def test_the_summary_line_of_the_wrk_script_is_read_in_seconds():
    output = (
        "Running 10s test @ http://127.0.0.1:8000\n  2 threads and 32 connections\n"
        "BENCH-SUMMARY requests=120 duration_us=10000000 p50_us=250000 p99_us=1500000 max_us=4000000 "
        "connect=0 read=1 write=0 status=3 timeout=2 issued=150 distinct=4000\n"
    )
    result = served_load.parse_summary(output)
    assert result.requests == 120
    assert result.rps == pytest.approx(12.0)
    assert (result.p50, result.p99, result.max) == pytest.approx((0.25, 1.5, 4.0))
    assert (result.socket_errors, result.status_errors, result.timeouts, result.errors) == (1, 3, 2, 4)
    assert not result.repeated
    assert served_load.parse_summary("Running 10s test\nRequests/sec: 12\n") is None
    with pytest.raises(ValueError, match="issued"):
        served_load.parse_summary("BENCH-SUMMARY requests=1 duration_us=1")


def test_the_probe_counts_answers_that_fail_or_come_too_late_as_failures():
    with _Recorder() as server:
        with served_load.HealthProbe(f"{server.base}/healthz", interval=0.01) as good:
            time.sleep(0.3)
        with served_load.HealthProbe(f"{server.base}/broken", interval=0.01) as broken:
            time.sleep(0.3)
        with served_load.HealthProbe(f"{server.base}/slow", interval=0.01, timeout=0.2) as slow:
            time.sleep(0.3)
    ok = good.summary()
    assert ok.count > 3 and ok.failures == 0
    assert 0 < ok.p50 <= ok.p99 <= ok.max
    assert broken.summary().failures == broken.summary().count > 0
    assert slow.summary().failures == slow.summary().count > 0


def test_the_probe_summary_puts_failures_in_the_count_and_not_in_the_latencies():
    latencies = [n / 1000 for n in range(1, 101)]  # 1 ms to 100 ms
    summary = served_load.summarise(latencies, failures=5)
    assert summary.count == 105 and summary.failures == 5
    assert summary.p50 == pytest.approx(0.050, abs=0.001)
    assert summary.p99 == pytest.approx(0.099, abs=0.001)
    assert summary.max == 0.1
    assert served_load.summarise([], failures=2).count == 2


def test_settling_waits_while_the_database_is_still_busy():
    answers = iter([True, True, True, False])
    asked = []

    def busy():
        asked.append(1)
        return next(answers)

    with subprocess.Popen(["sleep", "30"]) as idle:
        try:
            served_load.settle(idle.pid, busy, step=0.01, timeout=5)
        finally:
            idle.kill()
    assert len(asked) == 4


@pytest.mark.django_db
def test_every_request_of_the_miss_loads_is_a_page_that_exists_and_none_is_repeated(client):
    from members.cache import is_kept_day

    generate(80, seed=2, method="bulk")
    register = bench.Register(80, 2)
    with register.active():
        loads = bench.miss_loads(register, seed=2)
    pages, *as_of = loads
    assert len(set(pages.paths)) == len(pages.paths) == bench.directory_page_count()
    for path in pages.paths:
        assert client.get(path).status_code == 200
    federation = bench.largest_federation()
    counts = Organisation.objects.filter(kind=Organisation.Kind.INTERNATIONAL).annotate(
        n=Count("affiliations")
    )
    assert federation.affiliations.count() == max(o.n for o in counts)
    days = [path.rsplit("as_of=", 1)[1] for load in as_of for path in load.paths]
    assert len(set(days)) == len(days)
    assert not any(is_kept_day(datetime.date.fromisoformat(day)) for day in days)
    assert [load.connections for load in as_of] == [8, 32]
    assert client.get(as_of[0].paths[0]).status_code == 200


@pytest.mark.django_db
def test_the_membership_saves_measured_leave_the_register_as_it_was():
    from members.models import Membership as M

    generate(80, seed=4, method="bulk")
    before = register_snapshot(), M.history.count()
    rows = bench.save_rows(bench.Register(80, 4), samples=3)
    assert (register_snapshot(), M.history.count()) == before
    assert len(rows) == 3
    assert all("median of" in row.measure and row.value.endswith(" ms") for row in rows), rows


@pytest.mark.django_db
def test_the_deep_pages_are_measured_against_the_first_at_the_same_size():
    generate(80, seed=1, method="bulk")
    rows = bench.deep_page_rows(bench.Register(80, 1), repeats=1)
    pages = bench.directory_page_count()
    assert [row.measure.split(" vs ")[0] for row in rows] == [f"Directory, last page ({pages})"]
    assert "HTTP" not in rows[0].value  # answered 200
