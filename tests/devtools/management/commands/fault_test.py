"""Restart PostgreSQL under load and measure what the public and the staff notice.

Builds a throwaway PostgreSQL cluster (never the one other work uses), serves the
register from it with gunicorn in production mode on 127.0.0.1, and runs readers
(public pages), writers (a member of staff adding sources through the admin,
each with a unique title) and a /readyz probe. Then it stops PostgreSQL, keeps
it down for a moment, starts it again, and reports:

- the failed requests during the outage, by kind;
- the seconds from the database being back to the service being back;
- that every write acknowledged with a redirect (the admin's "saved") is in the
  database afterwards;
- that no error response carried a stack trace, and that every log line is JSON.

Exits with an error when a write was lost or recovery took longer than --max-recovery.
"""

import json
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tests.devtools.loadgen import AppServer, Client, ThrowawayCluster


@dataclass
class Outcome:
    kind: str
    start: float
    end: float
    status: int
    error: str = ""
    title: str = ""

    @property
    def ok(self):
        # A write is acknowledged by the admin's redirect after saving.
        return self.status == (302 if self.kind == "write" else 200)


class Command(BaseCommand):
    help = "Restart a throwaway PostgreSQL under read and write load; report errors, recovery, lost writes."

    def add_arguments(self, parser):
        parser.add_argument("--db-port", type=int, default=5499)
        parser.add_argument("--http-port", type=int, default=8099)
        parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2).")
        parser.add_argument("--readers", type=int, default=4)
        parser.add_argument("--writers", type=int, default=2)
        parser.add_argument("--before", type=float, default=10, help="Seconds of load before the restart.")
        parser.add_argument("--down", type=float, default=3, help="Seconds PostgreSQL stays stopped.")
        parser.add_argument("--after", type=float, default=20, help="Seconds of load after it is back.")
        parser.add_argument("--max-recovery", type=float, default=5, help="Goal, in seconds.")

    def handle(self, **options):
        self.outcomes = []
        self.stopping = threading.Event()
        run_id = uuid.uuid4().hex[:8]
        with tempfile.TemporaryDirectory() as workdir, ThrowawayCluster(options["db_port"]) as cluster:
            self.stdout.write(f"PostgreSQL {cluster.version} cluster {cluster.name} on port {cluster.port}")
            cluster.createdb("registry")
            server = AppServer(cluster.url("registry"), options["http_port"], workdir, options["workers"])
            server.prepare()
            with server:
                self.stdout.write(f"gunicorn on {server.base}, {len(server.worker_pids())} workers")
                threads = self.start_load(server, options, run_id)
                time.sleep(options["before"])
                stopped_at = time.monotonic()
                cluster.ctl("stop")
                time.sleep(options["down"])
                cluster.ctl("start")
                while not cluster.is_ready():
                    time.sleep(0.05)
                back_at = time.monotonic()
                time.sleep(options["after"])
                self.stopping.set()
                for thread in threads:
                    thread.join(timeout=30)
            stored = set(
                cluster.query(f"SELECT title FROM members_source WHERE title LIKE 'fault-test {run_id} %'")  # noqa: S608 - run_id is hex
            )
            log_lines = server.log_path.read_text().splitlines()
        self.report(stopped_at, back_at, stored, log_lines, options)

    def start_load(self, server, options, run_id):
        admin = "/" + settings.ADMIN_PATH
        pages = ["/en/", "/en/organisations/", "/en/organisations/ulccs/", "/fr/", "/es/organisations/"]

        def reader(offset):
            client, n = Client(server.base), offset
            while not self.stopping.is_set():
                path = pages[n % len(pages)]
                n += 1
                self.timed("read", lambda path=path: client.get(path))

        def writer(number):
            client = Client(server.base)
            signed_in = client.sign_in(admin + "login/", "loadtest", server.admin_password)
            if signed_in.status != 302:
                raise CommandError(f"the load generator could not sign in ({signed_in.status})")
            n = 0
            while not self.stopping.is_set():
                n += 1
                title = f"fault-test {run_id} w{number}-{n}"
                self.timed(
                    "write",
                    lambda title=title: client.submit(
                        admin + "members/source/add/", "source_form", {"title": title}
                    ),
                    title=title,
                )

        def probe():
            client = Client(server.base)
            while not self.stopping.is_set():
                self.timed("readyz", lambda: client.get("/readyz"))
                time.sleep(0.1)

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(options["readers"])]
        threads += [threading.Thread(target=writer, args=(i,)) for i in range(options["writers"])]
        threads.append(threading.Thread(target=probe))
        for thread in threads:
            thread.start()
        return threads

    def timed(self, kind, call, title=""):
        start = time.monotonic()
        response = call()
        outcome = Outcome(kind, start, time.monotonic(), response.status, response.error, title)
        if not outcome.ok and "Traceback" in response.body:
            outcome.error = "stack trace in the response"
        self.outcomes.append(outcome)
        if not outcome.ok:
            time.sleep(0.05)  # a failing loop must not spin

    def report(self, stopped_at, back_at, stored, log_lines, options):
        out = self.stdout.write
        out("")
        out(f"Database down {back_at - stopped_at:.1f} s (stopped, {options['down']:.0f} s pause, started).")
        worst = 0.0
        for kind in ("read", "write", "readyz"):
            mine = sorted((o for o in self.outcomes if o.kind == kind), key=lambda o: o.start)
            failed = [o for o in mine if not o.ok]
            before = [o for o in failed if o.end < stopped_at]
            recovery = self.recovery(mine, back_at)
            if kind != "readyz":
                worst = max(worst, recovery)
            statuses = sorted({o.status for o in failed})
            out(
                f"{kind:7} {len(mine):6} requests, {len(failed):4} failed "
                f"({len(before)} before the outage; statuses {statuses}); "
                f"back {recovery:.2f} s after the database"
            )
        acknowledged = {o.title for o in self.outcomes if o.kind == "write" and o.ok}
        attempted_not_acknowledged = {o.title for o in self.outcomes if o.kind == "write" and not o.ok}
        lost = acknowledged - stored
        out(
            f"writes: {len(acknowledged)} acknowledged, {len(lost)} lost; "
            f"{len(attempted_not_acknowledged & stored)} of {len(attempted_not_acknowledged)} "
            "unacknowledged attempts were nevertheless saved"
        )
        leaks = sum(1 for o in self.outcomes if o.error == "stack trace in the response")
        not_json = sum(1 for line in log_lines if not _is_json(line))
        errors = sum(1 for line in log_lines if _is_json(line) and json.loads(line).get("level") == "ERROR")
        with_trace = sum(1 for line in log_lines if _is_json(line) and "exc_info" in json.loads(line))
        out(f"responses with a stack trace: {leaks}")
        out(
            f"server log: {len(log_lines)} lines, {not_json} not JSON, {errors} errors "
            f"({with_trace} with their stack trace)"
        )
        out(f"service back {worst:.2f} s after the database (goal <= {options['max_recovery']:.0f} s)")
        if lost or leaks or not_json or worst > options["max_recovery"]:
            raise CommandError("fault test failed its goals")
        out(self.style.SUCCESS("fault test passed: 0 writes lost"))

    @staticmethod
    def recovery(outcomes, back_at):
        """Seconds from the database being back to the first request after which none failed."""
        later = [o for o in outcomes if o.start >= back_at]
        last_failure = max((i for i, o in enumerate(later) if not o.ok), default=-1)
        following = later[last_failure + 1 :]
        if not following:
            return float("inf")
        return max(0.0, following[0].start - back_at)


def _is_json(line):
    try:
        json.loads(line)
    except ValueError:
        return False
    return True
