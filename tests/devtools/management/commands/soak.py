"""Serve the register at a steady rate for a long while; report errors, p99 and worker memory.

Builds a throwaway PostgreSQL cluster with the seed and a synthetic register
around it, serves it with gunicorn in production mode on 127.0.0.1, and sends
requests at a fixed rate (an open loop: a slow answer does not slow the
sender, so queueing shows in the latency) to the directory, the federation
pages and the CSV export. Worker memory is read from /proc after a warm-up and
at the end.
"""

import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.core.management.base import BaseCommand, CommandError

from tests.devtools.loadgen import AppServer, Client, ThrowawayCluster, percentile

# (path, weight): the pages people and scripts fetch most.
MIX = [
    ("/en/organisations/", 4),
    ("/en/organisations/?page=2", 1),
    ("/fr/organisations/", 1),
    ("/en/federations/cicopa/", 3),
    ("/en/federations/cecop/", 2),
    ("/es/federations/cicopa/", 1),
    ("/en/organisations.csv", 1),
]


class Command(BaseCommand):
    help = "Soak test: a steady rate on the directory, federation pages and CSV export."

    def add_arguments(self, parser):
        parser.add_argument("--duration", type=float, default=600, help="Seconds (default 600).")
        # A rate two shared cores sustain with room to spare: the soak looks for errors and
        # leaks over time, not for the ceiling (that is `make bench`).
        parser.add_argument("--rate", type=float, default=4, help="Requests per second (default 4).")
        parser.add_argument("--warmup", type=float, default=60, help="Seconds before memory is first read.")
        parser.add_argument("--organisations", type=int, default=300, help="Synthetic register size.")
        parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (config default).")
        parser.add_argument("--db-port", type=int, default=5497)
        parser.add_argument("--http-port", type=int, default=8097)
        parser.add_argument("--max-growth", type=float, default=10, help="Goal: worker memory growth, %%.")

    def handle(self, **options):
        with tempfile.TemporaryDirectory() as workdir, ThrowawayCluster(options["db_port"]) as cluster:
            cluster.createdb("registry")
            server = AppServer(cluster.url("registry"), options["http_port"], workdir, options["workers"])
            server.prepare()
            size = str(options["organisations"])
            server.manage("generate_synthetic", "--organisations", size, devtools=True)
            with server:
                self.check_pages(server)
                self.stdout.write(
                    f"gunicorn on {server.base}, {len(server.worker_pids())} workers; "
                    f"{options['rate']:g} requests/s for {options['warmup']:g} s warm-up + "
                    f"{options['duration']:g} s"
                )
                self.load(server, options["warmup"], options["rate"])
                rss_start = server.worker_rss_kib()
                results = self.load(server, options["duration"], options["rate"])
                rss_end = server.worker_rss_kib()
        self.report(results, rss_start, rss_end, options)

    def check_pages(self, server):
        client = Client(server.base)
        for path, _weight in MIX:
            status = client.get(path).status
            if status != 200:
                raise CommandError(f"{path} answers {status}; the soak needs every page of its mix")

    def load(self, server, seconds, rate):
        """Send requests at `rate` per second for `seconds`; return (path, latency, status) triples."""
        paths = [path for path, weight in MIX for _ in range(weight)]
        results, lock = [], threading.Lock()

        def fetch(path, scheduled):
            response = Client(server.base, timeout=30).get(path)
            # Latency from when the request was due, not when a thread got to it.
            with lock:
                results.append((path, time.monotonic() - scheduled, response.status))

        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=32) as pool:
            n = 0
            while (due := start + n / rate) < start + seconds:
                time.sleep(max(0.0, due - time.monotonic()))
                pool.submit(fetch, paths[n % len(paths)], due)
                n += 1
        return results

    def report(self, results, rss_start, rss_end, options):
        out = self.stdout.write
        errors = [r for r in results if r[2] != 200]
        latencies = [r[1] for r in results]
        out("")
        out(
            f"{len(results)} requests in {options['duration']:g} s, {len(errors)} errors; "
            f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, "
            f"max {max(latencies) * 1000:.0f} ms"
        )
        for path, _weight in MIX:
            mine = [r[1] for r in results if r[0] == path]
            failed = sum(1 for r in results if r[0] == path and r[2] != 200)
            out(
                f"  {path:30} {len(mine):6} requests, {failed} errors, "
                f"p99 {percentile(mine, 0.99) * 1000:.0f} ms"
            )
        growth = []
        for pid, start in sorted(rss_start.items()):
            end = rss_end.get(pid)
            if end is None:
                out(f"  worker {pid}: {start / 1024:.1f} MiB at start, gone at the end (restarted)")
                growth.append(float("inf"))
                continue
            growth.append((end - start) * 100 / start)
            out(
                f"  worker {pid}: {start / 1024:.1f} MiB at start, {end / 1024:.1f} MiB at end "
                f"({growth[-1]:+.1f} %)"
            )
        total_start, total_end = sum(rss_start.values()), sum(rss_end.values())
        out(
            f"worker memory: {total_start / 1024:.1f} MiB at start, {total_end / 1024:.1f} MiB at end "
            f"(largest growth {max(growth):+.1f} %, goal < {options['max_growth']:g} %)"
        )
        if errors or max(growth) >= options["max_growth"]:
            raise CommandError("soak failed its goals")
        out(self.style.SUCCESS("soak passed"))
