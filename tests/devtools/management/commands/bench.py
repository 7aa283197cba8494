"""`make bench`: how the register behaves at 1,000 and at 100,000 organisations (or --sizes).

Builds a synthetic register (generate_synthetic) of each size in its own
PostgreSQL database, then measures, in the same run, each figure beside its
reference and prints one table with the ratio and whether the goal is met:

- public pages: SQL queries and median milliseconds, small vs large register;
- the directory's last page and page 1,000 vs its first, uncached;
- the directory served by gunicorn under wrk vs a trivial view on the same server;
- loads of cache misses under wrk (random deep pages, random "as of" dates), with
  /healthz probed meanwhile (tests/devtools/served_load.py);
- one membership saved as the admin saves it, in a transaction rolled back;
- the time from a change to the refreshed page being served, where the tree measures it;
- CSV export vs PostgreSQL's COPY of the same query, and its peak memory;
- CSV import vs django-import-export, with its defaults and in bulk mode;
- the same file imported through the admin as staff do: the confirmation's time, then
  the background job in a `db_worker` process, its rows per second and peak memory;
- a federation's statistics as of a date, uncached, and a conditional GET.

The table goes to the screen and to bench-results/ (ignored by git).
"""

import contextlib
import csv
import datetime
import functools
import io
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import (
    CaptureQueriesContext,
    override_settings,
    setup_test_environment,
    teardown_test_environment,
)
from django.urls import reverse
from django.utils import timezone

from members import cache
from members.models import Membership, Organisation
from tests.devtools.management.commands.generate_synthetic import (
    clear_synthetic,
    generate,
    synthetic_organisations,
)
from tests.devtools.served_load import WRK_TIMEOUT, HealthProbe, probe_for, run_wrk, settle

AS_OF = datetime.date(2021, 6, 30)
# A federation looked up by its acronym, as a reader would; the same at every size.
SEARCH = "SYN42"
EXPORT_SHARE = 10  # export every tenth organisation: about 100,000 rows at 100k organisations
# At most about this many organisations in the export and the import's file, whatever the
# register's size: a file staff import does not grow with the register (every hundredth at 1m).
EXPORT_MOST = 10_000


@dataclass
class Row:
    measure: str
    reference: str
    value: str
    ratio: str
    goal: str
    met: bool | None  # None: informational, no goal

    def cells(self):
        met = "—" if self.met is None else ("met" if self.met else "NOT MET")
        return [self.measure, self.reference, self.value, self.ratio, self.goal, met]


HEADER = ["Measure", "Reference", "Measured", "Ratio", "Goal", "Goal met"]


def render_table(rows):
    """Return the rows as a Markdown table."""
    lines = [HEADER, *[row.cells() for row in rows]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    out = []
    for index, line in enumerate(lines):
        out.append("| " + " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) + " |")
        if index == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def _ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def _samples(count):
    # Shown only when a slow measure was cut short (see SLOW and BUDGET).
    return "" if count > 2 else f" ({count} sample{'s' if count > 1 else ''})"


def _status(code):
    return "" if code == 200 else f" (HTTP {code})"


def _size_label(size):
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}m"
    return f"{size // 1000}k" if size >= 1000 and size % 1000 == 0 else str(size)


_SIZE_UNITS = {"": 1, "k": 1000, "m": 1_000_000}


def parse_sizes(text):
    """Return the register sizes of `--sizes` ("1k,100k,1m"), smallest first: the first is the reference."""
    sizes = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", part)
        if not match:
            raise ValueError(f"Not a size: {part.strip()!r} (write 1000, 100k or 1m).")
        number, unit = match.groups()
        size = float(number) * _SIZE_UNITS[unit.lower()]
        if size != int(size) or size < 10:
            raise ValueError(f"Not a register size (10 organisations or more): {part.strip()}.")
        sizes.append(int(size))
    sizes = sorted(set(sizes))
    if len(sizes) < 2:
        raise ValueError("Give at least two sizes: the reference and a larger register.")
    return sizes


# Databases -------------------------------------------------------------------


class Register:
    """One synthetic register of a given size, in its own database (or the current one)."""

    def __init__(self, size, seed, database=None):
        self.size = size
        self.seed = seed
        self.database = database or connection.settings_dict["NAME"]
        self.label = _size_label(size)

    @contextlib.contextmanager
    def active(self):
        """Point the default connection at this register's database while the block runs."""
        previous = connection.settings_dict["NAME"]
        if previous != self.database:
            connection.close()
            connection.settings_dict["NAME"] = self.database
        forget_cached()  # nothing cached from the other database may be served
        try:
            connection.ensure_connection()
            yield self
        finally:
            if previous != self.database:
                connection.close()
                connection.settings_dict["NAME"] = previous

    def build(self, reuse, log):
        """Fill the database with the synthetic register; return the generation row, if any."""
        with self.active():
            call_command("migrate", verbosity=0, interactive=False)
            present = synthetic_organisations().count()
            if reuse and present == self.size:
                log(f"{self.label}: reusing the {present} synthetic organisations in {self.database}")
                return None
            clear_synthetic()
            result = generate(self.size, self.seed, log=lambda m: log(f"{self.label}: {m}"))
            budget = generation_budget(self.size)
            return Row(
                f"Generate {self.label} organisations ({result.memberships:,} memberships, "
                f"{result.declarations:,} declarations, {result.method})",
                "",
                f"{result.seconds:.1f} s",
                "",
                f"< {budget / 60:.0f} min",
                result.seconds < budget,
            )


def generation_budget(size):
    """Seconds a register of `size` organisations may take to generate: 10 minutes, an hour for a million."""
    return max(600, 3.6 * size / 1000)


def ensure_database(name):
    """Create the PostgreSQL database if it does not exist."""
    import psycopg2

    params = {k: v for k, v in connection.get_connection_params().items() if k != "database"}
    params["dbname"] = "postgres"
    conn = psycopg2.connect(**params)
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()


# Pages -----------------------------------------------------------------------


def page_urls():
    """Return (label, url) of the public pages measured, for the register now active."""
    federation = synthetic_organisations().filter(kind=Organisation.Kind.INTERNATIONAL)
    federation = federation.order_by("pk").first()
    member = synthetic_organisations().filter(kind=Organisation.Kind.COOPERATIVE)
    member = member.order_by("pk").first()
    directory = reverse("members:organisation-list")
    return [
        ("Directory, first page", directory),
        ("Directory, filtered (country and kind)", f"{directory}?country=FR&kind=cooperative"),
        (f"Directory, search “{SEARCH}”", f"{directory}?{urlencode({'q': SEARCH})}"),
        ("Federation page", reverse("members:federation-detail", kwargs={"slug": federation.slug})),
        ("Statistics page", reverse("members:statistics")),
        ("Organisation page", reverse("members:organisation-detail", kwargs={"slug": member.slug})),
    ]


# A request slower than this is measured once, and each page gets at most BUDGET
# seconds of samples, so that a page that does not scale cannot stall the run.
SLOW = 5.0
BUDGET = 20.0


def sample(function, repeats, before=None):
    """Return (median seconds, samples, last result) of calling function up to `repeats` times."""
    times, result, deadline = [], None, time.perf_counter() + BUDGET
    for _ in range(repeats):
        if before:
            before()
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
        if times[-1] > SLOW or time.perf_counter() > deadline:
            break
    return statistics.median(times), len(times), result


def forget_cached():
    """Make the next request compute everything afresh, as the first reader after a cold start.

    Where the tree serves outdated entries after a change (stale-while-revalidate),
    a change is not enough: the caches are dropped (`members.cache.forget_all`).
    Elsewhere a change of the register's version outdates, and so bypasses, them all.
    """
    forget = getattr(cache, "forget_all", None)
    (forget or cache.register_changed)()


def measure_page(client, url, repeats, cached=False):
    """Return (queries, median seconds, samples, status) of GET url, uncached or from the cache."""

    def get():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
            if getattr(response, "streaming", False):
                b"".join(response.streaming_content)
        return len(captured), response.status_code

    if not cached:
        forget_cached()
    started = time.perf_counter()
    queries, status = get()  # warm-up: connection, templates, translations (and the cache when cached)
    elapsed = time.perf_counter() - started
    if not cached and elapsed > SLOW:
        # Template compilation is noise beside seconds of work: the warm-up is the sample.
        return queries, elapsed, 1, status
    median, samples, (queries, status) = sample(get, repeats, None if cached else forget_cached)
    return queries, median, samples, status


# Deep directory pages -----------------------------------------------------------


def directory_page_count():
    """How many pages the bare directory has (it lists every organisation, a page at a time)."""
    from members import views

    size = getattr(views, "DIRECTORY_PAGE_SIZE", 25)
    return max(1, -(-Organisation.objects.count() // size))


# The deep page a crawler reaches by following "next" links (issue 17 timed it at 0.71 s).
DEEP_PAGE = 1000


def deep_page_rows(register, repeats):
    """The directory's last page and page DEEP_PAGE against its first, each rendered afresh.

    Uncached as the page rows are (the register's version changes before each
    request); pages past the page cache's first ones are never stored anyway.
    """
    with register.active():
        pages = directory_page_count()
        directory = reverse("members:organisation-list")
        client = Client()
        q1, t1, n1, s1 = measure_page(client, directory, repeats)
        deep = [(f"last page ({pages:,})", pages)]
        if pages > DEEP_PAGE:
            deep.append((f"page {DEEP_PAGE:,} of {pages:,}", DEEP_PAGE))
        rows = []
        for label, number in deep:
            q2, t2, n2, s2 = measure_page(client, f"{directory}?{urlencode({'page': number})}", repeats)
            rows.append(
                Row(
                    f"Directory, {label} vs first page, uncached, at {register.label}: queries / median",
                    f"first page: {q1} q / {_ms(t1)}{_samples(n1)}{_status(s1)}",
                    f"{q2} q / {_ms(t2)}{_samples(n2)}{_status(s2)}",
                    f"{t2 / t1:.2f}×",
                    "≤ 2×",
                    s1 == s2 == 200 and t2 <= 2 * t1,
                )
            )
        return rows


# One membership saved as staff save it --------------------------------------------


def _new_memberships(count, member_kind, federation_kinds, below=False):
    """Seconds of up to `count` saves of new memberships of the kinds given, each of a pair not linked yet.

    `below`: the member must itself have members (a federation bringing its
    network along). A pair the rules refuse (a loop) is passed over, as staff
    would be told; only saves that go through are timed.
    """
    from django.core.exceptions import ValidationError
    from django.db.models import Exists, OuterRef

    members = synthetic_organisations().filter(kind=member_kind)
    if below:
        members = members.filter(Exists(Membership.objects.filter(federation=OuterRef("pk"))))
    kind_order = {kind: index for index, kind in enumerate(federation_kinds)}
    federations = sorted(
        synthetic_organisations().filter(kind__in=federation_kinds), key=lambda f: (kind_order[f.kind], f.pk)
    )
    times = []
    for member in members.order_by("pk")[: count * 4]:
        taken = set(Membership.objects.filter(member=member).values_list("federation_id", flat=True))
        free = [f for f in federations if f.pk not in taken and f.pk != member.pk]
        if not free:
            continue
        membership = Membership(
            member=member, federation=free[len(times) % len(free)], joined_on=SAVE_DAY, source=member.source
        )
        with contextlib.suppress(ValidationError):
            times.append(_timed_save(membership))
        if len(times) == count:
            break
    return times


def _timed_save(membership):
    """Seconds to check and save the membership as the admin does (full_clean, then save()), rolled back."""
    with rolled_back():
        started = time.perf_counter()
        membership.full_clean()
        membership.save()
        return time.perf_counter() - started


SAVE_DAY = datetime.date(2025, 3, 1)  # within the synthetic register's years, after every join it makes


def save_rows(large, samples=7):
    """One membership saved at the large size: new ones of two shapes, and a departure recorded.

    Each save runs full_clean() and Membership.save() as the admin's form does,
    in a transaction rolled back afterwards, so the register is left as it was;
    whatever the save keeps up to date in its transaction is in the time.
    """
    with large.active():
        kinds = Organisation.Kind
        timings = [
            (
                f"Membership save at {large.label}, new: a co-operative joins a national federation",
                _new_memberships(samples, kinds.COOPERATIVE, [kinds.NATIONAL]),
            ),
            (
                f"Membership save at {large.label}, new: a national federation with members of its own "
                "joins an international one (a regional one where none is free)",
                _new_memberships(samples, kinds.NATIONAL, [kinds.INTERNATIONAL, kinds.REGIONAL], below=True),
            ),
        ]
        # Ending a current membership of a national federation, in an international one first
        # ("international" sorts before "national" and "regional"): its network leaves with it.
        current = list(
            Membership.objects.filter(
                member__kind=Organisation.Kind.NATIONAL,
                member__in=synthetic_organisations(),
                left_on__isnull=True,
                joined_on__lt=SAVE_DAY,
            ).order_by("federation__kind", "pk")[:samples]
        )
        times = []
        for membership in current:
            membership.left_on = SAVE_DAY
            times.append(_timed_save(membership))
        timings.append(
            (
                f"Membership save at {large.label}, change: a national federation leaves an international "
                "federation, or another where it is in none (its left_on set)",
                times,
            )
        )
        cache.register_changed()
    rows = []
    for label, times in timings:
        if not times:
            rows.append(Row(label, "", "no such membership in the register", "", "≤ 100 ms", False))
            continue
        median = statistics.median(times)
        rows.append(
            Row(
                f"{label} (full_clean and save, median of {len(times)})",
                f"slowest: {_ms(max(times))}",
                _ms(median),
                "",
                "≤ 100 ms",
                median <= 0.1,
            )
        )
    return rows


# Statistics and conditional GET ------------------------------------------------


def conditional_get_row(large):
    with large.active():
        url = page_urls()[3][1]
        client = Client()
        client.get(url)  # a returning reader: holds the cookies the site sets on a first visit
        first = client.get(url)
        validators = {}
        if first.has_header("ETag"):
            validators["HTTP_IF_NONE_MATCH"] = first["ETag"]
        if first.has_header("Last-Modified"):
            validators["HTTP_IF_MODIFIED_SINCE"] = first["Last-Modified"]
        started = time.perf_counter()
        second = client.get(url, **validators)
        t304 = time.perf_counter() - started
        started = time.perf_counter()
        client.get(url)
        t200 = time.perf_counter() - started
    return Row(
        "Federation page, conditional GET when nothing changed",
        f"same page without validators: HTTP {first.status_code}, {_ms(t200)}",
        f"HTTP {second.status_code}, {_ms(t304)}" + ("" if validators else " (no ETag sent)"),
        f"{t304 / t200:.2f}×",
        "HTTP 304",
        second.status_code == 304,
    )


# CSV export --------------------------------------------------------------------


def export_share(size):
    """Export every n-th organisation: a tenth of the register, at most about EXPORT_MOST of them."""
    return max(EXPORT_SHARE, size // EXPORT_MOST)


def export_queryset(share=EXPORT_SHARE):
    from django.db.models import F

    return Organisation.objects.annotate(bucket=F("id") % share).filter(bucket=0)


class _CountingSink:
    def __init__(self):
        self.bytes = 0
        self.lines = 0

    def write(self, data):
        self.bytes += len(data)
        self.lines += data.count(b"\n") if isinstance(data, bytes) else data.count("\n")


def export_rows_of(large, repeats=3):
    from members import csv_io

    with large.active():
        queryset = export_queryset(export_share(large.size))

        def ours():
            sink = _CountingSink()
            for chunk in csv_io.stream_csv(queryset):
                sink.write(chunk.encode())
            return sink

        def copy():
            # The very query export_rows() runs, rendered by Django, handed to COPY.
            rows = (
                Organisation.objects.filter(pk__in=queryset.order_by().values("pk"))
                .order_by("slug", "memberships__federation__slug", "memberships__joined_on")
                .values_list(*(column.export for column in csv_io.COLUMNS))
            )
            sql, params = rows.query.sql_with_params()
            sink = _CountingSink()
            with connection.cursor() as cursor:
                statement = cursor.cursor.mogrify(sql, params).decode()
                cursor.cursor.copy_expert(f"COPY ({statement}) TO STDOUT WITH CSV HEADER", sink)
            return sink

        ours_t, copy_t = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            sink = ours()
            ours_t.append(time.perf_counter() - started)
            started = time.perf_counter()
            copy()
            copy_t.append(time.perf_counter() - started)
        t_ours, t_copy = statistics.median(ours_t), statistics.median(copy_t)
        tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
        ours()
        peak = (tracemalloc.get_traced_memory()[1] - baseline) / 2**20
        tracemalloc.stop()
    rows = sink.lines - 1
    return [
        Row(
            f"CSV export, {rows:,} rows (speed vs COPY of the same query)",
            f"COPY: {_ms(t_copy)}",
            f"export: {_ms(t_ours)}",
            f"{t_copy / t_ours:.2f}×",
            "≥ 0.5×",
            t_copy / t_ours >= 0.5,
        ),
        Row(
            f"CSV export, {rows:,} rows: peak memory growth (tracemalloc)",
            "",
            f"{peak:.1f} MB",
            "",
            "≤ 50 MB",
            peak <= 50,
        ),
    ], sink


# CSV import --------------------------------------------------------------------


def import_file(limit=None, share=EXPORT_SHARE):
    """Return an export of the chosen organisations, renamed so that importing it creates them anew."""
    from members import csv_io

    rows = list(islice(csv_io.export_rows(export_queryset(share)), limit))
    slug, federation = csv_io.HEADERS.index("slug"), csv_io.HEADERS.index("federation")
    # Only organisations in the file are renamed; links to others stay on the register's own.
    renamed = {cells[slug] for cells in rows}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(csv_io.HEADERS)
    for cells in rows:
        cells[slug] = "imported-" + cells[slug]
        if cells[federation] in renamed:
            cells[federation] = "imported-" + cells[federation]
        writer.writerow(cells)
    return out.getvalue().encode(), len(rows)


class _RollBack(Exception):
    pass


@contextlib.contextmanager
def rolled_back():
    """Run the block in a transaction that is always rolled back, leaving the register as it was."""
    try:
        with transaction.atomic():
            yield
            raise _RollBack
    except _RollBack:
        pass


def import_export_resources(bulk):
    """django-import-export Resources for the same file: organisations, then memberships."""
    from import_export import fields, resources, widgets

    # Defaults, or the bulk mode its documentation recommends for large files.
    tuning = {"use_bulk": True, "batch_size": 1000, "skip_diff": True} if bulk else {}
    organisation_meta = {
        "model": Organisation,
        "import_id_fields": ("slug",),
        "fields": ("slug", "name", "acronym", "kind", "country", "city", "website"),
        **tuning,
    }
    membership_meta = {
        "model": Membership,
        "import_id_fields": ("member", "federation", "joined_on"),
        "fields": (
            "member",
            "federation",
            "category",
            "joined_on",
            "joined_precision",
            "left_on",
            "left_precision",
        ),
        **tuning,
    }

    class OrganisationResource(resources.ModelResource):
        Meta = type("Meta", (), organisation_meta)

    class MembershipResource(resources.ModelResource):
        member = fields.Field(
            attribute="member", column_name="slug", widget=widgets.ForeignKeyWidget(Organisation, "slug")
        )
        federation = fields.Field(
            attribute="federation",
            column_name="federation",
            widget=widgets.ForeignKeyWidget(Organisation, "slug"),
        )
        Meta = type("Meta", (), membership_meta)

    return OrganisationResource(), MembershipResource()


def import_with_import_export(data, bulk):
    """Import the file with django-import-export; return the seconds taken."""
    import tablib

    text = data.decode()
    dataset = tablib.Dataset().load(text, format="csv")
    seen, organisations = set(), tablib.Dataset(headers=dataset.headers)
    memberships = tablib.Dataset(headers=dataset.headers)
    slug, federation = dataset.headers.index("slug"), dataset.headers.index("federation")
    for row in dataset:
        if row[slug] not in seen:
            seen.add(row[slug])
            organisations.append(row)
        if row[federation]:
            memberships.append(row)
    org_resource, membership_resource = import_export_resources(bulk)
    started = time.perf_counter()
    result = org_resource.import_data(organisations, dry_run=False, raise_errors=True)
    result = membership_resource.import_data(memberships, dry_run=False, raise_errors=True)
    elapsed = time.perf_counter() - started
    if result.has_errors():
        raise CommandError("django-import-export reported errors on the benchmark file.")
    return elapsed


def import_rows(large, default_sample, bulk_sample):
    from members import csv_io

    with large.active(), override_settings(MEMBERS_IMPORT_MAX_BYTES=1 << 30):
        data, rows = import_file(share=export_share(large.size))
        with rolled_back():
            started = time.perf_counter()
            plan = csv_io.plan_import(data)
            if plan.errors:
                raise CommandError(f"The register's import refused the benchmark file: {plan.errors[0]}")
            csv_io.apply_import(plan)
            ours = time.perf_counter() - started
        rates = {}
        for bulk, sample in ((False, default_sample), (True, bulk_sample)):
            part, count = import_file(limit=sample, share=export_share(large.size))
            with rolled_back():
                rates[bulk] = count / import_with_import_export(part, bulk)
    ours_rate = rows / ours
    out = []
    for bulk, goal in ((False, 20), (True, 2)):
        mode = "bulk (use_bulk, batch_size=1000, skip_diff)" if bulk else "defaults"
        sample = bulk_sample if bulk else default_sample
        ratio = ours_rate / rates[bulk]
        out.append(
            Row(
                f"CSV import, {rows:,} rows vs django-import-export {mode}",
                f"{rates[bulk]:,.0f} rows/s (on {sample:,} rows)",
                f"{ours_rate:,.0f} rows/s ({ours:.1f} s)",
                f"{ratio:.1f}×",
                f"≥ {goal}×",
                ratio >= goal,
            )
        )
    return out


# The admin's background import ------------------------------------------------------

# Runs one `db_worker` until the queue is empty, then prints its own peak resident memory.
WORKER_SCRIPT = """
import resource, sys, django
django.setup()
from django.core.management import call_command
call_command("db_worker", batch=True, reload=False, startup_delay=False, interval=0, verbosity=0)
print("MAXRSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
# The command-line import of 100,000 rows peaked at this much before the job existed (issue 15).
COMMAND_LINE_PEAK_MB = 719


def _worker_peak_mb(database):
    """Run a task worker on the database until its queue is empty; return its peak RSS in MB."""
    env = {
        **os.environ,
        # The worker runs as in production: the production settings, the database queue.
        "DJANGO_SETTINGS_MODULE": "registry.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or settings.SECRET_KEY,
        "DJANGO_TASKS_BACKEND": "database",
        "DATABASE_URL": _database_url(database),
    }
    done = subprocess.run(
        [sys.executable, "-c", WORKER_SCRIPT],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    peak = [line for line in done.stdout.splitlines() if line.startswith("MAXRSS ")]
    if done.returncode or not peak:
        raise CommandError(f"The task worker failed: {done.stderr[-2000:]}")
    return int(peak[-1].split()[1]) / 1024  # Linux reports kilobytes


def remove_imported():
    """Delete what the benchmark's files created (organisations "imported-…", their memberships and history).

    In SQL: the ORM's delete would write a history record of each deletion.
    """
    from members.models import ImportJob

    with transaction.atomic(), connection.cursor() as cursor:
        ours = "SELECT id FROM members_organisation WHERE slug LIKE 'imported-%%'"
        cursor.execute(
            f"DELETE FROM members_membership WHERE member_id IN ({ours}) OR federation_id IN ({ours})"  # noqa: S608
        )
        cursor.execute(
            "DELETE FROM members_historicalmembership WHERE member_id IN "  # noqa: S608
            f"({ours}) OR federation_id IN ({ours})"
        )
        cursor.execute("DELETE FROM members_historicalorganisation WHERE slug LIKE 'imported-%%'")
        cursor.execute("DELETE FROM members_organisation WHERE slug LIKE 'imported-%%'")
    ImportJob.objects.filter(user__username="bench-importer").delete()
    cache.register_changed()


def background_import_rows(large):
    """Import the benchmark's file through the admin (preview, confirm), then run the job in a worker."""
    # The preview's plan and hash are read from the response's context, which the test client
    # records only in Django's test environment (set up by pytest, not by this command).
    try:
        setup_test_environment()
    except RuntimeError:  # already set up: the suite's tiny-size run
        return _background_import_rows(large)
    try:
        return _background_import_rows(large)
    finally:
        teardown_test_environment()


def _background_import_rows(large):
    from django.contrib.auth import get_user_model

    from members.models import ImportJob

    url = reverse("admin:members_organisation_import_csv")
    with large.active(), override_settings(MEMBERS_IMPORT_MAX_BYTES=1 << 30):
        remove_imported()
        idle_mb = _worker_peak_mb(large.database)
        data, rows = import_file(share=export_share(large.size))
        user, _ = get_user_model().objects.get_or_create(
            username="bench-importer", defaults={"is_staff": True, "is_superuser": True}
        )
        client = Client()
        client.force_login(user)
        upload = io.BytesIO(data)
        upload.name = "bench.csv"
        preview = client.post(url, {"file": upload})
        if preview.status_code != 200 or not preview.context["plan"].is_valid:
            raise CommandError("The admin's preview refused the benchmark file.")
        started = time.perf_counter()
        confirmed = client.post(url, {"confirm": "1", "sha256": preview.context["sha256"]})
        confirm_seconds = time.perf_counter() - started
        if confirmed.status_code != 302:
            raise CommandError(f"The admin's confirmation answered {confirmed.status_code}.")
        peak_mb = _worker_peak_mb(large.database)
        job = ImportJob.objects.filter(user=user, sha256=preview.context["sha256"]).latest("pk")
        if job.status != "done":
            raise CommandError(f"The benchmark's import job failed: {job.errors[:3]}")
        seconds = (job.finished_at - job.started_at).total_seconds()
        imported = Organisation.objects.filter(slug__startswith="imported-").count()
        remove_imported()
    if imported != job.counts["organisations_created"]:
        raise CommandError("The job's counts disagree with the register.")
    rate = rows / seconds
    return [
        Row(
            f"Admin import, {rows:,} rows: the confirmation's request",
            "gunicorn's worker timeout: 30 s",
            f"{confirm_seconds:.2f} s",
            f"{confirm_seconds / 30:.0%}",
            "< 3 s",
            confirm_seconds < 3,
        ),
        Row(
            f"Admin import, {rows:,} rows: the background job (check and write, one transaction)",
            "",
            f"{rate:,.0f} rows/s ({seconds:.1f} s)",
            "",
            "",
            None,
        ),
        Row(
            f"Admin import, {rows:,} rows: the worker's peak memory (RSS)",
            f"idle worker {idle_mb:,.0f} MB; command line before: {COMMAND_LINE_PEAK_MB} MB",
            f"{peak_mb:,.0f} MB",
            f"{peak_mb / COMMAND_LINE_PEAK_MB:.2f}×",
            f"< {COMMAND_LINE_PEAK_MB} MB",
            peak_mb < COMMAND_LINE_PEAK_MB,
        ),
    ]


# Served throughput ----------------------------------------------------------------


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wrk(url, seconds, connections):
    out = subprocess.run(
        [
            shutil.which("wrk"),
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "--latency",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = _duration(re.search(r"99%\s+([\d.]+\w+)", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return rps, p99, errors


def _duration(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60}[unit]


def throughput_rows(large, seconds, connections=32, workers=None, seed=1, log=print):
    """Serve the large register with gunicorn and drive it with wrk: the rows of "served" measures.

    The directory's first page (from the page cache) against /healthz, then
    loads where every request is a cache miss, each with /healthz probed
    meanwhile, and the time from a change to its page being served.
    """
    if not shutil.which("wrk"):
        return [
            Row(
                "Directory under gunicorn vs trivial view",
                "",
                "wrk not installed",
                "",
                "≥ 50 %",
                False,
            )
        ]
    # As in production (registry/gunicorn.py): two workers per core, plus one.
    workers = workers or (os.cpu_count() or 1) * 2 + 1
    port = _free_port()
    server = _start_gunicorn(large, port, workers)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/healthz", server)
        with large.active():
            directory = reverse("members:organisation-list")
            loads = miss_loads(large, seed)
        trivial_url = f"{base}/healthz"
        directory_url = f"{base}{directory}"
        for _ in range(workers * 3):
            # Warm-up, one at a time: each worker connects and loads its templates. (A
            # concurrent warm-up would leave a queue behind that slows the next measure.)
            _wait_for(directory_url, server)
        trivial = _wrk(trivial_url, seconds, connections)
        served = _wrk(directory_url, seconds, connections)
        rows = _throughput_table(trivial, served, workers, connections, seconds)
        busy = functools.partial(_database_busy, large.database)
        settle(server.pid, busy)
        idle = probe_for(trivial_url, min(PROBE_IDLE_SECONDS, seconds), PROBE_INTERVAL)
        for load in loads:
            log(f"Under load: {load.label} ({load.connections} connections) …")
            waited = settle(server.pid, busy)
            if waited > 1:
                log(f"(waited {waited:.0f} s for the server to finish the previous load)")
            with tempfile.TemporaryDirectory() as workdir, HealthProbe(trivial_url, PROBE_INTERVAL) as probe:
                result = run_wrk(base, load.paths, seconds, load.connections, workdir)
            rows += miss_load_rows(load, result, probe.summary(), idle, workers, seconds)
    finally:
        _stop(server)
        # Queries the server left running go on without it: end them before the next measure.
        _end_queries(large.database)
    return rows


def _stop(process):
    """Stop a server or worker started in its own session, at once (SIGINT), then for sure."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def _other_backends(database):
    return (
        "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
        "AND state = 'active' AND backend_type = 'client backend'"
    ), [database]


def _database_busy(database):
    """Whether another connection is running a query in the database (the server's, still at work)."""
    where, params = _other_backends(database)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) {where}", params)
        return cursor.fetchone()[0] > 0


def _end_queries(database):
    where, params = _other_backends(database)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_cancel_backend(pid) {where}", params)


# The /healthz probe: one request every PROBE_INTERVAL seconds, idle for PROBE_IDLE_SECONDS first.
PROBE_INTERVAL = 0.1
PROBE_IDLE_SECONDS = 3
PROBE_GOAL = 0.1  # p99 of /healthz under load: "unaffected" means still well under a health check's patience


@dataclass
class MissLoad:
    """A wrk load whose every request is a first visit: `paths` in a shuffled order, none asked twice."""

    label: str
    paths: list
    connections: int
    what: str  # why none of them can come from a cache, for the row


def miss_loads(large, seed):
    """The loads of cache misses on the register now active: random deep pages, random "as of" dates."""
    import random

    from members.cache import is_kept_day
    from tests.devtools.management.commands.generate_synthetic import FIRST_YEAR, LAST_YEAR

    rnd = random.Random(seed)  # noqa: S311 — a reproducible order, not a secret
    directory = reverse("members:organisation-list")
    pages = list(range(1, directory_page_count() + 1))
    rnd.shuffle(pages)
    federation = largest_federation()
    url = reverse("members:federation-detail", kwargs={"slug": federation.slug})
    first, last = datetime.date(FIRST_YEAR, 1, 1), datetime.date(LAST_YEAR, 12, 31)
    days = [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]
    # Figures and pages are stored only for the days is_kept_day() names; every other day is computed.
    days = [day for day in days if not is_kept_day(day)]
    rnd.shuffle(days)
    half = len(days) // 2
    reach = f"{federation.acronym or federation.slug}, the largest federation"
    return [
        MissLoad(
            f"Random directory pages at {large.label}",
            [f"{directory}?{urlencode({'page': n})}" for n in pages],
            32,
            f"each of its {len(pages):,} pages once, shuffled: each a first visit, as a crawler's",
        ),
        *(
            MissLoad(
                f"Random “as of” dates on {reach}'s page at {large.label}",
                [f"{url}?{urlencode({'as_of': day.isoformat()})}" for day in chunk],
                connections,
                f"{len(chunk):,} dates of {FIRST_YEAR}–{LAST_YEAR} shuffled, none a day figures are kept for",
            )
            for connections, chunk in ((8, days[:half]), (32, days[half:]))
        ),
    ]


def largest_federation():
    """The international federation with the most members of its own (the synthetic register's largest)."""
    from django.db.models import Count

    internationals = synthetic_organisations().filter(kind=Organisation.Kind.INTERNATIONAL)
    return internationals.annotate(members=Count("affiliations")).order_by("-members", "pk").first()


def miss_load_rows(load, result, probe, idle, workers, seconds):
    """The load's row (requests/s, latency, errors) and the /healthz probe's row beside it."""
    answered = f"{result.requests:,} answered of {result.issued:,} sent"
    if result.repeated:
        answered += f"; the {result.distinct:,} addresses ran out and some were asked again"
    head = f"{load.label}, {workers} gunicorn workers, wrk {load.connections} connections, {seconds} s"
    return [
        Row(
            f"{head} ({load.what})",
            answered,
            f"{result.rps:,.2f} req/s; p50 {_ms(result.p50)}, p99 {_ms(result.p99)}; "
            f"{result.errors} errors, {result.timeouts} time-outs (wrk's count, > {WRK_TIMEOUT} s)",
            "",
            "0 errors, p99 < 1 s",
            result.requests > 0 and result.errors == 0 and result.timeouts == 0 and result.p99 < 1,
        ),
        Row(
            f"{head}: /healthz meanwhile (probed every {PROBE_INTERVAL * 1000:.0f} ms)",
            f"/healthz idle: p50 {_ms(idle.p50)}, p99 {_ms(idle.p99)}",
            f"p50 {_ms(probe.p50)}, p99 {_ms(probe.p99)}, max {_ms(probe.max)}; "
            f"{probe.failures} of {probe.count} failed",
            f"{probe.p99 / idle.p99:.1f}×" if idle.p99 else "",
            f"unaffected: p99 < {PROBE_GOAL * 1000:.0f} ms, none failed",
            probe.count > 0 and probe.failures == 0 and probe.p99 < PROBE_GOAL,
        ),
    ]


# From a change to its page being served ----------------------------------------------

REFRESH_MODULE = "tests.devtools.refresh_delay"
REFRESH_SAMPLES = 3
# Run where the server and the worker run: the production settings, the shared cache.
REFRESH_SCRIPT = """
import sys, django
django.setup()
from tests.devtools.refresh_delay import measure_refresh_delay
print("DELAY", measure_refresh_delay(sys.argv[1], sys.argv[2]))
"""


def refresh_delay_rows(large, cache_url, workers=None, log=print):
    """The time from a change of the register to the refreshed page being served, if this tree measures it.

    The measure itself lives in REFRESH_MODULE (`measure_refresh_delay`, written
    with the background refresh it times): it saves a new member of the largest
    federation and asks for that federation's page until it is served up to date.
    It runs against gunicorn and a real `db_worker` on the large register, all
    three sharing the cache at `cache_url` (Redis), as production runs them;
    the organisations it adds are removed afterwards.
    """
    import importlib.util

    label = f"From a change to the refreshed page being served, at {large.label}"
    if importlib.util.find_spec(REFRESH_MODULE) is None:
        return [Row(label, "", "not available in this tree", "", "", None)]
    if not cache_url:
        return [
            Row(label, "", "not measured: needs a shared cache (BENCH_CACHE_URL=redis://…)", "", "", None)
        ]
    with large.active():
        federation = largest_federation()
    workers = workers or (os.cpu_count() or 1) * 2 + 1
    env = {"DJANGO_CACHE_URL": cache_url}
    port = _free_port()
    server = _start_gunicorn(large, port, workers, env)
    worker = _start_task_worker(large.database, env)
    delays = []
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/healthz", server)
        for _ in range(REFRESH_SAMPLES):
            done = subprocess.run(
                [sys.executable, "-c", REFRESH_SCRIPT, base, federation.slug],
                cwd=settings.BASE_DIR,
                env=_production_env(large.database, env),
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )
            found = [line for line in done.stdout.splitlines() if line.startswith("DELAY ")]
            if done.returncode or not found:
                log(f"The refresh delay could not be measured: {done.stderr[-1500:]}")
                break
            delays.append(float(found[-1].split()[1]))
    finally:
        _stop(worker)
        _stop(server)
        _end_queries(large.database)
        with large.active():
            remove_refresh_probes()
    if not delays:
        return [Row(label, "", "failed (see the log)", "", "", False)]
    return [
        Row(
            f"{label} ({federation.acronym or federation.slug}'s page; median of {len(delays)})",
            f"slowest: {max(delays):.2f} s",
            f"{statistics.median(delays):.2f} s",
            "",
            "",
            None,
        )
    ]


def remove_refresh_probes():
    """Delete the organisations the refresh measure added ("refresh-delay-probe-…"), and their history."""
    with transaction.atomic(), connection.cursor() as cursor:
        ours = "SELECT id FROM members_organisation WHERE slug LIKE 'refresh-delay-probe-%%'"
        cursor.execute(f"DELETE FROM members_membership WHERE member_id IN ({ours})")  # noqa: S608
        cursor.execute(f"DELETE FROM members_historicalmembership WHERE member_id IN ({ours})")  # noqa: S608
        cursor.execute("DELETE FROM members_historicalorganisation WHERE slug LIKE 'refresh-delay-probe-%%'")
        cursor.execute("DELETE FROM members_organisation WHERE slug LIKE 'refresh-delay-probe-%%'")
    cache.register_changed()


def _production_env(database, extra=None):
    """The environment a server or worker of the register runs with, on the given database."""
    return {
        **os.environ,
        # As in production: the production settings, without the development app.
        "DJANGO_SETTINGS_MODULE": "registry.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or settings.SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_TASKS_BACKEND": "database",
        "DATABASE_URL": _database_url(database),
        "DJANGO_STATIC_ROOT": str(settings.STATIC_ROOT),
        **(extra or {}),
    }


def _start_task_worker(database, extra=None):
    """Start a `db_worker` on the database, as production runs one, until it is stopped."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay"],
        cwd=settings.BASE_DIR,
        env=_production_env(database, extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _start_gunicorn(large, port, workers, extra=None):
    """Start the production server on the large register, on 127.0.0.1:port."""
    env = _production_env(large.database, extra)
    config = Path(settings.BASE_DIR) / "registry" / "gunicorn.py"
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        # The production settings where they exist; the flags below override bind and workers.
        *(["-c", str(config)] if config.exists() else []),
        "registry.wsgi",
        *("--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--log-level", "warning"),
    ]
    return subprocess.Popen(
        command,
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _throughput_table(trivial, served, workers, connections, seconds):
    share = served[0] / trivial[0]
    return [
        Row(
            f"Directory under gunicorn ({workers} workers), wrk {connections} connections, "
            f"{seconds} s: throughput",
            f"/healthz: {trivial[0]:,.0f} req/s",
            f"directory: {served[0]:,.0f} req/s",
            f"{share:.0%}",
            "≥ 50 %",
            share >= 0.5,
        ),
        Row(
            "Directory under gunicorn: p99 latency and errors",
            f"/healthz: p99 {_ms(trivial[1])}, {trivial[2]} errors",
            f"directory: p99 {_ms(served[1])}, {served[2]} errors",
            "",
            "p99 < 300 ms, 0 errors",
            served[1] < 0.3 and served[2] == 0,
        ),
    ]


def _database_url(name):
    params = connection.settings_dict
    user = params.get("USER") or "postgres"
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{name}"


def _wait_for(url, server, timeout=60):
    from urllib.request import urlopen

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CommandError("gunicorn stopped before it served a request.")
        with contextlib.suppress(OSError), urlopen(url, timeout=2) as response:  # noqa: S310 — loopback
            if response.status == 200:
                return
        time.sleep(0.3)
    raise CommandError(f"gunicorn did not answer {url} within {timeout} s.")


# The whole run -------------------------------------------------------------------


def run(
    small_size=1000,
    large_size=100_000,
    seed=1,
    database_prefix=None,
    reuse=False,
    repeats=7,
    throughput_seconds=10,
    import_samples=(2000, 5000),
    log=print,
    sizes=None,
    save_samples=7,
    cache_url=None,
):
    """Build the registers, measure everything and return the table's rows.

    `sizes` (smallest first) replaces small_size and large_size: the first is the
    reference every larger register is compared with, and each larger one gets
    the whole table. `cache_url`: a shared cache (Redis) for the refresh delay's
    server, worker and measure; without one that row is not measured.
    """
    if connection.vendor != "postgresql":
        raise CommandError("The benchmark needs PostgreSQL: set DATABASE_URL to a postgres:// address.")
    sizes = list(sizes or (small_size, large_size))
    # One process: its local-memory cache is exact, so cached figures may last the run.
    previous, cache.LOCAL_TIMEOUT = cache.LOCAL_TIMEOUT, 3600
    try:
        return _run(
            sizes,
            seed,
            database_prefix,
            reuse,
            repeats,
            throughput_seconds,
            import_samples,
            save_samples,
            cache_url,
            log,
        )
    finally:
        cache.LOCAL_TIMEOUT = previous


def _run(
    sizes,
    seed,
    database_prefix,
    reuse,
    repeats,
    throughput_seconds,
    import_samples,
    save_samples,
    cache_url,
    log,
):
    started = time.perf_counter()
    # Pages are rendered as in production (debug off), through the static files manifest.
    call_command("collectstatic", interactive=False, verbosity=0)
    databases = [None] * len(sizes)
    if database_prefix:
        databases = [f"{database_prefix}_{_size_label(n)}" for n in sizes]
        for name in databases:
            ensure_database(name)
    registers = [Register(size, seed, database) for size, database in zip(sizes, databases, strict=True)]
    small = registers[0]
    # With one database for all (the smoke test) each register replaces the one before,
    # so each is measured right after it is built, the larger ones in full.
    shared = len({r.database for r in registers}) < len(registers)
    generated, sections, pages, figures = [], [], {}, {}
    for register in registers:
        log(f"Building the {register.label} register in {register.database} …")
        row = register.build(reuse and not shared, log)
        if row:
            generated.append(row)
        log(f"Measuring pages and statistics at {register.label} …")
        pages[register.label] = page_rows_single(register, repeats)
        figures[register.label] = stats_single(register, repeats)
        if register is small:
            continue
        section = combine_pages(pages[small.label], pages[register.label], small, register)
        section += combine_stats(figures[small.label], figures[register.label], small, register)
        section += large_rows(
            register, repeats, throughput_seconds, import_samples, save_samples, seed, cache_url, log
        )
        if len(registers) > 2:
            # Several larger registers: each row says which one it measured.
            named = re.compile(rf"(?<![\w,.]){re.escape(register.label)}\b")
            for each in section:
                if not named.search(each.measure):
                    each.measure = f"{register.label}: {each.measure}"
        sections.append(section)
    rows = generated + [row for section in sections for row in section]
    rows.append(
        Row(
            "Whole benchmark run", "", f"{(time.perf_counter() - started) / 60:.1f} min", "", "< 15 min", None
        )
    )
    # The budget is for the default sizes; a larger register's run takes what it takes.
    rows[-1].met = (time.perf_counter() - started < 15 * 60) if max(sizes) <= 100_000 else None
    return rows


def large_rows(large, repeats, throughput_seconds, import_samples, save_samples, seed, cache_url, log):
    """Everything measured at a larger register alone (the comparisons with the reference aside)."""
    rows = deep_page_rows(large, repeats)
    rows.append(conditional_get_row(large))
    log(f"Measuring one membership save at {large.label} …")
    rows += save_rows(large, save_samples)
    log(f"Measuring CSV export at {large.label} …")
    export, _sink = export_rows_of(large)
    rows += export
    log(f"Measuring CSV import at {large.label} …")
    rows += import_rows(large, *import_samples)
    log(f"Measuring the admin's background import at {large.label} …")
    rows += background_import_rows(large)
    log(f"Measuring served throughput at {large.label} …")
    rows += throughput_rows(large, throughput_seconds, seed=seed, log=log)
    log(f"Measuring the refresh delay at {large.label} …")
    rows += refresh_delay_rows(large, cache_url, log=log)
    return rows


CACHED_PAGES = ("Federation page", "Statistics page")


def page_rows_single(register, repeats):
    """Measure every page rendered afresh, and the figure pages again as readers are served them.

    Uncached, the register's version changes before each request, so neither
    the figures nor the page are read from the cache; served, the page is
    read from the cache (members.cache.cached_page) as a reader's is.
    """
    with register.active():
        client = Client()
        results = [
            (
                label + (", uncached" if label in CACHED_PAGES else ""),
                *measure_page(client, url, repeats),
            )
            for label, url in page_urls()
        ]
        results += [
            (f"{label}, served from the cache", *measure_page(client, url, repeats, cached=True))
            for label, url in page_urls()
            if label in CACHED_PAGES
        ]
        return results


def combine_pages(small_results, large_results, small, large):
    rows = []
    for (label, q1, t1, n1, s1), (_label, q2, t2, n2, s2) in zip(small_results, large_results, strict=True):
        rows.append(
            Row(
                f"{label}: queries / median",
                f"{small.label}: {q1} q / {_ms(t1)}{_samples(n1)}{_status(s1)}",
                f"{large.label}: {q2} q / {_ms(t2)}{_samples(n2)}{_status(s2)}",
                f"{t2 / t1:.2f}×",
                "same queries, ≤ 2×",
                s1 == s2 == 200 and q1 == q2 and t2 <= 2 * t1,
            )
        )
    return rows


def stats_single(register, repeats):
    from members import stats

    with register.active():
        federation = synthetic_organisations().filter(kind=Organisation.Kind.INTERNATIONAL)
        federation = federation.order_by("pk").first()
        function = stats.federation_figures
        median, samples, _figures = sample(lambda: function(federation, AS_OF), repeats)
        return median, samples, Membership.objects.count()


def combine_stats(small_result, large_result, small, large):
    (t1, k1, _n1), (t2, k2, n2) = small_result, large_result
    return [
        Row(
            f"Federation figures as of {AS_OF}, uncached ({n2:,} memberships)",
            f"{small.label}: {_ms(t1)}{_samples(k1)}",
            f"{large.label}: {_ms(t2)}{_samples(k2)}",
            f"{t2 / t1:.2f}×",
            "≤ 50 ms",
            t2 <= 0.05,
        )
    ]


def write_results(rows, directory, command):
    """Write the table with the command that produced it; return the file's path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y-%m-%dT%H%MZ")
    path = directory / f"bench-{stamp}.md"
    version = connection.cursor().connection.server_version
    text = (
        f"Benchmark of {stamp} on {os.cpu_count()} CPU cores, PostgreSQL {version}\n\n"
        f"{render_table(rows)}\n\nReproduce with: {command}\n"
    )
    path.write_text(text, encoding="utf-8")
    (directory / "latest.md").write_text(text, encoding="utf-8")
    return path


def _sizes_argument(text):
    import argparse

    try:
        return parse_sizes(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


class Command(BaseCommand):
    help = "Measure the register at two sizes (or --sizes) on PostgreSQL; print one table (see `make bench`)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--small", type=int, default=1000, help="Organisations in the reference register."
        )
        parser.add_argument("--large", type=int, default=100_000, help="Organisations in the large register.")
        parser.add_argument(
            "--sizes",
            type=_sizes_argument,
            default=None,
            help="Registers to build instead of --small and --large, smallest first: 1k,100k,1m "
            "(the first is the reference; each larger one gets the whole table).",
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--database-prefix",
            default=None,
            help="Build each register in its own database, PREFIX_1k, PREFIX_100k… (created if missing).",
        )
        parser.add_argument(
            "--reuse", action="store_true", help="Keep a register already of the right size (development)."
        )
        parser.add_argument("--repeats", type=int, default=7, help="Requests per page; the median is kept.")
        parser.add_argument("--throughput-seconds", type=int, default=10)
        parser.add_argument(
            "--cache-url",
            default=os.environ.get("BENCH_CACHE_URL") or None,
            help="A shared cache (redis://…) for the refresh delay's server, worker and measure; "
            "without one that row is not measured (default: $BENCH_CACHE_URL).",
        )
        parser.add_argument("--output", default=str(settings.BASE_DIR / "bench-results"))

    def handle(self, *args, **options):
        rows = run(
            small_size=options["small"],
            large_size=options["large"],
            seed=options["seed"],
            database_prefix=options["database_prefix"],
            reuse=options["reuse"],
            repeats=options["repeats"],
            throughput_seconds=options["throughput_seconds"],
            log=lambda message: self.stderr.write(message),
            sizes=options["sizes"],
            cache_url=options["cache_url"],
        )
        command = "make bench"
        path = write_results(rows, options["output"], command)
        self.stdout.write(render_table(rows))
        self.stdout.write(f"\nWritten to {path.name} in {path.parent.name}/.")
