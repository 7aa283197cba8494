"""Slow readers of the largest download must not take the site down: time the probes and a page meanwhile.

Serves a synthetic register with gunicorn in production mode on 127.0.0.1,
opens --readers connections that read /data/register.json a few kilobytes a
second (half asking for gzip, half not), and one that stops reading after the
headers, and while they read, times --probes requests to /healthz and to the
directory's first page. Then it prints the figures and exits with an error
unless both p99 latencies are under --goal-ms, no probe failed, every slow
reader was still being served at the end (none cut off), and the stalled
reader was disconnected once it had taken nothing for GUNICORN_TIMEOUT seconds.

Bounded: the readers stop after --duration seconds, each probe after 5 s, and
the server is stopped at the end. Everything stays on 127.0.0.1.

The database is --database-url (`make slow-clients` gives a PostgreSQL one,
where the synthetic register is kept between runs) or, by default, a
throwaway SQLite file. `--worker-class sync` serves with gunicorn's
synchronous workers instead, to see what the threaded ones change.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib
import os
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tests.devtools.loadgen import LOOPBACK, AppServer, Client, percentile

DOWNLOAD = "/data/register.json"
DIRECTORY = "/en/organisations/"
PROBE_TIMEOUT = 5.0
# The reader's side of the connection as on the Internet, not loopback's: an MSS of
# one Ethernet frame and a small receive buffer, so the server's data wait in its
# own buffers (and threads) rather than all at once in the reader's.
READER_MSS = 1460
READER_BUFFER = 32 * 1024
READ_SIZE = 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


@dataclass
class Reader:
    """One slow client of the download, and what it saw."""

    gzip: bool
    stalled: bool = False
    status: int = 0
    length: int | None = None
    received: int = 0
    # The server closed the connection before the whole body came, while the reader still read.
    cut: bool = False
    complete: bool = False
    # A stalled reader, at the end: the server had let it go.
    disconnected: bool = False
    error: str = ""
    headers_at: float | None = None
    sock: socket.socket | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return "stalled" if self.stalled else "gzip" if self.gzip else "plain"


def _connect(port: int, reader: Reader) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, READER_MSS)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, READER_BUFFER)
    sock.settimeout(PROBE_TIMEOUT)
    sock.connect((LOOPBACK, port))
    encoding = "Accept-Encoding: gzip\r\n" if reader.gzip else ""
    request = f"GET {DOWNLOAD} HTTP/1.1\r\nHost: {LOOPBACK}\r\n{encoding}Connection: close\r\n\r\n"
    sock.sendall(request.encode("ascii"))
    reader.sock = sock


def _read_headers(reader: Reader, until: float) -> bytes:
    """Read up to the end of the headers; return the body bytes read with them."""
    assert reader.sock is not None
    head = b""
    while b"\r\n\r\n" not in head:
        if time.monotonic() > until:
            raise TimeoutError("no response headers")
        with contextlib.suppress(TimeoutError):
            data = reader.sock.recv(READ_SIZE)
            if not data:
                raise ConnectionError("closed before the headers")
            head += data
    head, _, body = head.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    reader.status = int(lines[0].split()[1])
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            reader.length = int(value)
    reader.headers_at = time.monotonic()
    return body


def read_slowly(port: int, reader: Reader, rate: float, until: float, headers_by: float) -> None:
    """Read the download at `rate` bytes a second until `until` (a stalled reader reads nothing)."""
    try:
        _connect(port, reader)
        reader.received = len(_read_headers(reader, headers_by))
        assert reader.sock is not None
        start = time.monotonic()
        while (now := time.monotonic()) < until:
            if reader.stalled:
                time.sleep(min(0.2, until - now))
                continue
            allowance = rate * (now - start) - reader.received
            if allowance < READ_SIZE:
                time.sleep(min((READ_SIZE - allowance) / rate, until - now))
                continue
            try:
                data = reader.sock.recv(READ_SIZE)
            except TimeoutError:
                continue  # the server sent nothing for a while; the reader keeps waiting
            if not data:
                reader.complete = reader.length is not None and reader.received >= reader.length
                reader.cut = not reader.complete
                return
            reader.received += len(data)
            if reader.length is not None and reader.received >= reader.length:
                reader.complete = True
                return
    except (OSError, ValueError, IndexError) as exc:
        reader.error = f"{type(exc).__name__}: {exc}"


def drain(reader: Reader, seconds: float = 5.0) -> None:
    """Read what a stalled reader's connection still holds: the end of it means the server let it go."""
    if reader.sock is None or reader.error:
        return
    reader.sock.settimeout(1.0)
    deadline = time.monotonic() + seconds
    with contextlib.suppress(OSError):
        while time.monotonic() < deadline:
            data = reader.sock.recv(65536)
            if not data:
                reader.disconnected = True
                return
            reader.received += len(data)


def probe(port: int, path: str, count: int, until: float, results: list[tuple[float, int]]) -> None:
    """Time `count` GETs of `path`, each on a new connection, spread evenly until `until`.

    Appends (seconds, status) pairs to `results`; a failed request has status 0.
    A slow answer delays the next request, never overlaps it; none starts after
    `until`, so the probes end by then plus one timeout.
    """
    start = time.monotonic()
    interval = max(0.0, (until - start) / count)
    for n in range(count):
        time.sleep(max(0.0, start + n * interval - time.monotonic()))
        if time.monotonic() > until:
            return
        started = time.monotonic()
        status = 0
        connection = http.client.HTTPConnection(LOOPBACK, port, timeout=PROBE_TIMEOUT)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            status = response.status
        except OSError:
            status = 0
        finally:
            connection.close()
        results.append((time.monotonic() - started, status))


def _get(port: int, path: str) -> int:
    """GET the path (the download compressed) and read it whole; return the status."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=120)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        connection.close()


def config_defaults() -> Any:
    """registry/gunicorn.py as the server reads it: without this shell's GUNICORN_ variables."""
    saved = {name: os.environ.pop(name) for name in list(os.environ) if name.startswith("GUNICORN_")}
    try:
        import registry.gunicorn

        return importlib.reload(registry.gunicorn)
    finally:
        os.environ.update(saved)


class Command(BaseCommand):
    help = "Slow readers of the largest download under gunicorn; /healthz and the directory must stay fast."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--database-url", default="", help="The database to serve (default: a throwaway SQLite file)."
        )
        parser.add_argument(
            "--organisations",
            type=int,
            default=2000,
            help="Synthetic register size (default 2000: an open-data file of about 9 MB).",
        )
        parser.add_argument("--readers", type=int, default=10, help="Slow readers (default 10).")
        parser.add_argument("--stalled", type=int, default=1, help="Readers that stop after the headers.")
        parser.add_argument("--rate", type=float, default=4096, help="Bytes a second each reads (4096).")
        parser.add_argument("--duration", type=float, default=40, help="Seconds the readers read (40).")
        parser.add_argument("--probes", type=int, default=200, help="Requests to each probed address (200).")
        parser.add_argument("--goal-ms", type=float, default=200, help="Goal: p99 under this (200 ms).")
        parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (config default).")
        parser.add_argument("--threads", type=int, default=None, help="Threads a worker (config default).")
        parser.add_argument("--timeout", type=int, default=None, help="GUNICORN_TIMEOUT (config default).")
        parser.add_argument("--worker-class", default="", help="e.g. sync, to compare (default: config's).")
        parser.add_argument("--cache-url", default="", help="DJANGO_CACHE_URL for the server (none).")
        parser.add_argument("--static-root", default="", help="Static files already collected, to reuse.")
        parser.add_argument("--http-port", type=int, default=0, help="Port (default: a free one).")

    def handle(self, **options: Any) -> None:
        defaults = config_defaults()
        options["worker_class"] = options["worker_class"] or defaults.worker_class
        # gunicorn runs gthread whatever the class asked for when threads > 1.
        options["threads"] = (
            1 if options["worker_class"] == "sync" else options["threads"] or defaults.threads
        )
        options["timeout"] = defaults.timeout if options["timeout"] is None else options["timeout"]
        with tempfile.TemporaryDirectory() as workdir:
            server = self.server(workdir, options)
            self.prepare(server, options)
            with server:
                built, size = self.warm_up(server)
                self.stdout.write(self.describe(server, options, built, size))
                readers, healthz, directory = self.load(server, options)
            # A reader a few KB a second is still reading what the kernel buffered when a
            # killed worker's connection ends: the server's log tells of the kill at once.
            killed = server.log_path.read_text(errors="replace").count("WORKER TIMEOUT")
        self.report(readers, healthz, directory, killed, options)

    def server(self, workdir: str, options: dict[str, Any]) -> AppServer:
        env = {"GUNICORN_THREADS": str(options["threads"]), "GUNICORN_TIMEOUT": str(options["timeout"])}
        if options["cache_url"]:
            env["DJANGO_CACHE_URL"] = options["cache_url"]
        args = ["--worker-class", options["worker_class"]]
        return AppServer(
            options["database_url"] or f"sqlite:///{Path(workdir) / 'register.sqlite3'}",
            options["http_port"] or _free_port(),
            workdir,
            options["workers"],
            env=env,
            args=args,
            static_root=options["static_root"] or None,
        )

    def prepare(self, server: AppServer, options: dict[str, Any]) -> None:
        server.manage("migrate", "--no-input")
        if server.collect_static:
            server.manage("collectstatic", "--no-input")
        server.manage("load_seed")
        wanted = options["organisations"]
        if not options["database_url"]:  # a new database
            server.manage("generate_synthetic", "--organisations", str(wanted), devtools=True)
            return
        count = server.manage(
            "shell",
            "-c",
            "from tests.devtools.management.commands.generate_synthetic import synthetic_organisations;"
            "print(synthetic_organisations().count())",
            devtools=True,
        ).stdout.split()[-1]
        if int(count) != wanted:
            server.manage("generate_synthetic", "--clear", "--organisations", str(wanted), devtools=True)

    def warm_up(self, server: AppServer) -> tuple[float, int]:
        """Build the download's file and render the page in every worker.

        Returns how long the first request, which built the file, took, and the download's size.
        """
        client = Client(server.base, timeout=120)
        started = time.monotonic()
        first = client.get(DOWNLOAD)
        built = time.monotonic() - started
        if first.status != 200:
            raise CommandError(f"{DOWNLOAD} answers {first.status}; see {server.log_path}")
        # Without a shared cache each worker has a version of the register of its own,
        # so a file of its own (members/cache.py). Concurrent requests reach them all.
        workers = len(server.worker_pids())
        statuses: list[int] = []

        def get(path: str) -> None:
            statuses.append(_get(server.port, path))

        for _round in range(10):
            threads = [
                threading.Thread(target=get, args=(path,)) for path in [DOWNLOAD, DIRECTORY] * workers * 2
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
            if any(status != 200 for status in statuses):
                raise CommandError(f"the warm-up got {sorted(set(statuses))}; see {server.log_path}")
            if len(list(server.exports_dir.glob("register.json.*.gz"))) >= workers and _round >= 2:
                break
        return built, len(first.body.encode("utf-8"))

    def describe(self, server: AppServer, options: dict[str, Any], built: float, size: int) -> str:
        files = sorted(server.exports_dir.glob("register.json.*.gz"))
        compressed = files[0].stat().st_size if files else 0
        threads = f" of {options['threads']} threads" if options["worker_class"] != "sync" else ""
        return (
            f"gunicorn on {server.base}: {options['worker_class']}, {len(server.worker_pids())} workers"
            f"{threads}, "
            f"timeout {options['timeout']} s\n"
            f"{DOWNLOAD}: {size / 1e6:.1f} MB ({compressed / 1e6:.2f} MB gzip); the first request, "
            f"which built it, took {built:.1f} s; {len(files)} file(s) built in the warm-up "
            f"(one a worker without a shared cache)\n"
            f"{options['readers']} slow readers at {options['rate'] / 1024:g} KiB/s and "
            f"{options['stalled']} stalled, for {options['duration']:g} s; "
            f"{options['probes']} probes each of /healthz and {DIRECTORY}"
        )

    def load(
        self, server: AppServer, options: dict[str, Any]
    ) -> tuple[list[Reader], list[tuple[float, int]], list[tuple[float, int]]]:
        readers = [Reader(gzip=n % 2 == 0) for n in range(options["readers"])]
        readers += [Reader(gzip=False, stalled=True) for _ in range(options["stalled"])]
        start = time.monotonic()
        until = start + options["duration"]
        # A reader that gets no headers within this is waiting for a free worker.
        headers_by = start + min(10.0, options["duration"] / 2)
        threads = [
            threading.Thread(
                target=read_slowly,
                args=(server.port, reader, options["rate"], until, headers_by),
                daemon=True,
            )
            for reader in readers
        ]
        for thread in threads:
            thread.start()
        # Probes start once every reader is being served (or has given up waiting).
        while time.monotonic() < headers_by and any(r.headers_at is None and not r.error for r in readers):
            time.sleep(0.05)
        results: dict[str, list[tuple[float, int]]] = {"/healthz": [], DIRECTORY: []}
        probes = [
            threading.Thread(
                target=probe, args=(server.port, path, options["probes"], until - 1, found), daemon=True
            )
            for path, found in results.items()
        ]
        for thread in probes:
            thread.start()
        for thread in [*probes, *threads]:
            thread.join(timeout=max(0.0, until - time.monotonic()) + 2 * PROBE_TIMEOUT)
        for reader in readers:
            if reader.stalled:
                drain(reader)
            if reader.sock is not None:
                reader.sock.close()
        return readers, list(results["/healthz"]), list(results[DIRECTORY])

    def report(
        self,
        readers: list[Reader],
        healthz: list[tuple[float, int]],
        directory: list[tuple[float, int]],
        killed: int,
        options: dict[str, Any],
    ) -> None:
        out = self.stdout.write
        goal = options["goal_ms"] / 1000
        failed = []
        out(f"workers killed for a timeout (gunicorn's WORKER TIMEOUT): {killed} (goal: 0)")
        if killed:
            failed.append(f"{killed} workers killed for a timeout, cutting off what they served")
        for path, results in (("/healthz", healthz), (DIRECTORY, directory)):
            latencies = [seconds for seconds, _status in results]
            errors = sum(1 for _seconds, status in results if status != 200)
            p99 = percentile(latencies, 0.99)
            out(
                f"{path:20} {len(results):4} requests, {errors} errors, "
                f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
                f"max {max(latencies, default=0) * 1000:.1f} ms (goal: p99 < {goal * 1000:g} ms, 0 errors)"
            )
            if errors or p99 >= goal or len(results) < options["probes"]:
                failed.append(f"{path}: p99 {p99 * 1000:.0f} ms, {errors} errors, {len(results)} requests")
        slow = [r for r in readers if not r.stalled]
        for kind in ("gzip", "plain"):
            mine = [r for r in slow if r.kind == kind]
            if not mine:
                continue
            served = [r for r in mine if r.status == 200 and not r.error]
            cut = [r for r in mine if r.cut]
            read = sum(r.received for r in mine) / len(mine)
            out(
                f"slow readers ({kind}): {len(served)} of {len(mine)} served, {len(cut)} cut off, "
                f"{sum(r.complete for r in mine)} finished; {read / 1024:.0f} KiB read each on average "
                f"({read / options['duration'] / 1024:.1f} KiB/s)"
            )
            if len(served) < len(mine) or cut:
                errors_seen = sorted(
                    {r.error or f"HTTP {r.status}" for r in mine if r not in served or r.cut}
                )
                failed.append(f"slow readers ({kind}) not served to the end: {', '.join(errors_seen)}")
        timeout = options["timeout"]
        for reader in (r for r in readers if r.stalled):
            expected = 0 < timeout < options["duration"]
            state = "disconnected by the server" if reader.disconnected else "still connected"
            out(
                f"stalled reader: {state} at the end ({reader.received / 1024:.0f} KiB taken; "
                f"timeout {timeout} s, "
                f"{'so it should be' if expected else 'not expected to be'} disconnected)"
            )
            if expected and not reader.disconnected:
                failed.append("the stalled reader was not disconnected")
        if failed:
            raise CommandError("slow clients failed: " + "; ".join(failed))
        out(self.style.SUCCESS("slow clients passed"))
