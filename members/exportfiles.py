"""The full downloads as files: built once per register version, gzip-compressed, sent by sendfile().

The whole register as open data or as CSV is tens of megabytes on a large
register. Streamed from the database, each download held a server worker for
as long as its reader took to read it, so a handful of slow readers could
hold them all. Instead, each full download is written once per version of the
register (members/cache.py `version()`) into settings.MEMBERS_EXPORTS_DIR and
served from there with `FileResponse`, which gunicorn sends with sendfile():
the kernel copies the file while the worker thread waits, and no query runs.

- Compressed once: a client that accepts gzip (nearly all do) gets the file as
  it is, with `Content-Encoding: gzip`; any other gets it decompressed as it
  is sent. The strong ETag names the version and the coding, so a client that
  holds the current file gets 304 without anything being read.
- The file's name carries the version and its size once decompressed
  (`register.json.<version>.<bytes>.gz`), so serving it needs no other file.
- Written to a temporary file in the same directory, flushed to disk, then
  renamed into place: a reader never sees half a file.
- One build at a time per download: an exclusive lock (flock) on the
  download's lock file. Concurrent first requests wait for that build and then
  serve its file instead of building their own. The kernel drops the lock
  with the process holding it, so a builder that dies leaves nothing stale.
- After each build, the files of other versions are removed once they are a
  minute old (a process whose cache is local memory keeps its own version for
  up to that long, see members/cache.py). A download already under way keeps
  reading a removed file: the system frees it when the last reader closes it.
- Built from the primary database: the file serves every reader until the
  register next changes, so it must not come from a replica that has not yet
  caught up with that change.

Each application server keeps its own copy on its own disk; with a shared
cache (DJANGO_CACHE_URL) they agree on the version, so each builds once per
version. If the directory cannot be written (full, read-only), the download is
streamed from the database as before, and the error logged.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponseBase,
    HttpResponseNotModified,
    StreamingHttpResponse,
)
from django.utils.cache import patch_vary_headers
from django.utils.http import content_disposition_header

from members.cache import LOCAL_TIMEOUT, version
from registry.routers import pinned_to_primary

logger = logging.getLogger(__name__)

# The text of a download, in chunks.
Produce = Callable[[], Iterable[str]]

# A middle level: level 9 takes about twice as long for a file a few per cent smaller.
COMPRESS_LEVEL = 6
# What a server without sendfile reads at a time, and what a client that does
# not accept gzip is sent at a time.
BLOCK_SIZE = 64 * 1024
# How long a request waits for another's build of the same download before
# streaming it from the database instead; builds take seconds.
WAIT_SECONDS = 120
POLL_SECONDS = 0.05
# Files of other versions older than this are removed after a build.
KEEP_OLD_SECONDS = LOCAL_TIMEOUT


@dataclass(frozen=True)
class ExportFile:
    """A built download: where it is, which version of the register it holds, its size decompressed."""

    path: Path
    version: int
    size: int


def exports_dir() -> Path:
    """The directory the files live in (settings.MEMBERS_EXPORTS_DIR), created if need be."""
    directory = Path(settings.MEMBERS_EXPORTS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _name_pattern(name: str) -> re.Pattern[str]:
    return re.compile(re.escape(name) + r"\.(\d+)\.(\d+)\.gz")


def find(name: str, number: int) -> ExportFile | None:
    """The file of the download `name` for this version of the register, if it is built."""
    pattern = _name_pattern(name)
    for path in exports_dir().glob(f"{name}.{number}.*.gz"):
        if match := pattern.fullmatch(path.name):
            return ExportFile(path, number, int(match[2]))
    return None


def ensure(name: str, number: int, produce: Produce) -> ExportFile | None:
    """Return the file of this version, building it if no one has; None if waiting for a build took too long.

    `produce` is called only by the one request that builds the file.
    """
    if built := find(name, number):
        return built
    deadline = time.monotonic() + WAIT_SECONDS
    with _lock(exports_dir() / f".{name}.lock", deadline) as locked:
        if not locked:
            return None
        # Someone else may have built it while this request waited for the lock.
        return find(name, number) or _build(name, number, produce)


@contextlib.contextmanager
def _lock(path: Path, deadline: float) -> Iterator[bool]:
    # Each request opens the lock file itself: flock() then excludes other
    # threads of this process as well as other processes.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    yield False
                    return
                time.sleep(POLL_SECONDS)
        yield True
    finally:
        os.close(fd)  # and with it the lock


def _build(name: str, number: int, produce: Produce) -> ExportFile:
    directory = exports_dir()
    started = time.monotonic()
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.{number}.", suffix=".tmp")
    size = 0
    token = pinned_to_primary.set(True)
    try:
        with open(fd, "wb") as raw:
            # No name and no time in the gzip header: the same register makes the same bytes.
            with gzip.GzipFile(
                filename="", mode="wb", fileobj=raw, compresslevel=COMPRESS_LEVEL, mtime=0
            ) as gz:
                for chunk in produce():
                    data = chunk.encode("utf-8")
                    size += len(data)
                    gz.write(data)
            raw.flush()
            os.fsync(raw.fileno())
        path = directory / f"{name}.{number}.{size}.gz"
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    finally:
        pinned_to_primary.reset(token)
    logger.info(
        "Built %s for version %s: %d bytes, %d compressed, in %.1f s",
        name,
        number,
        size,
        path.stat().st_size,
        time.monotonic() - started,
    )
    _remove_others(name, keep=path)
    return ExportFile(path, number, size)


def _remove_others(name: str, keep: Path) -> None:
    # Runs under the lock: no other build of this download is under way, so a
    # temporary file left here is what a builder that died left behind.
    directory = keep.parent
    for orphan in directory.glob(f".{name}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            orphan.unlink()
    pattern = _name_pattern(name)
    now = time.time()
    for path in directory.glob(f"{name}.*.gz"):
        if path == keep or not pattern.fullmatch(path.name):
            continue
        with contextlib.suppress(FileNotFoundError):
            if now - path.stat().st_mtime > KEEP_OLD_SECONDS:
                path.unlink()


def accepts_gzip(request: HttpRequest) -> bool:
    """Whether the client's Accept-Encoding allows gzip (RFC 9110 12.5.3: `gzip`, `x-gzip` or `*`, q > 0)."""
    qualities: dict[str, float] = {}
    for item in request.headers.get("Accept-Encoding", "").split(","):
        coding, _, params = item.strip().partition(";")
        quality = 1.0
        if (q := params.strip()).lower().startswith("q="):
            try:
                quality = float(q[2:])
            except ValueError:
                quality = 0.0
        if coding:
            qualities[coding.strip().lower()] = quality
    explicit = [qualities[c] for c in ("gzip", "x-gzip") if c in qualities]
    if explicit:
        return max(explicit) > 0
    return qualities.get("*", 0) > 0


def _etags(number: int) -> tuple[str, str]:
    # Strong validators: the compressed and the decompressed bytes are different representations.
    return f'"{number}-gzip"', f'"{number}"'


def _holds_current(request: HttpRequest, tags: tuple[str, ...]) -> bool:
    # If-None-Match compares weakly (RFC 9110 13.1.2): W/"x" matches "x".
    header = request.headers.get("If-None-Match", "")
    if header.strip() == "*":
        return True
    given = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return bool(given & set(tags))


def _decompressed(path: Path) -> Iterator[bytes]:
    # Not a FileResponse over a GzipFile: a WSGI server would sendfile() the
    # GzipFile's underlying descriptor, that is the compressed bytes.
    with gzip.open(path, "rb") as file:
        while block := file.read(BLOCK_SIZE):
            yield block


def serve(
    request: HttpRequest,
    name: str,
    produce: Produce,
    *,
    content_type: str,
    filename: str,
    as_attachment: bool = False,
) -> HttpResponseBase:
    """Answer a request for the full download `name` from its file, building the file first if need be.

    `produce` yields the download's text: what the file is built from, and
    what is streamed instead when no file can be had.
    """
    number = version()[0]
    gzip_tag, plain_tag = _etags(number)
    compressed = accepts_gzip(request)
    response: HttpResponseBase
    if _holds_current(request, (gzip_tag, plain_tag)):
        response = HttpResponseNotModified()
    else:
        opened = _open(name, number, produce)
        if opened is None:
            return _streamed(produce, content_type, filename, as_attachment)
        built, handle = opened
        if compressed:
            response = FileResponse(
                handle, content_type=content_type, filename=filename, as_attachment=as_attachment
            )
            response.block_size = BLOCK_SIZE
            response["Content-Encoding"] = "gzip"
        else:
            handle.close()
            response = StreamingHttpResponse(_decompressed(built.path), content_type=content_type)
            response["Content-Length"] = str(built.size)
            _set_disposition(response, filename, as_attachment)
    response["ETag"] = gzip_tag if compressed else plain_tag
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


def _open(name: str, number: int, produce: Produce) -> tuple[ExportFile, BinaryIO] | None:
    try:
        # Twice at most: a file found may be removed before it is opened (by a
        # build of another version, once it is a minute old); then it is built again.
        for _attempt in range(2):
            built = ensure(name, number, produce)
            if built is None:
                logger.warning("Waited too long for the file of %s (version %s); streaming it", name, number)
                return None
            with contextlib.suppress(FileNotFoundError):
                return built, built.path.open("rb")
    except OSError:
        logger.exception("Could not build or open the file of %s; streaming it instead", name)
    return None


def _streamed(
    produce: Produce, content_type: str, filename: str, as_attachment: bool
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        (chunk.encode("utf-8") for chunk in produce()), content_type=content_type
    )
    _set_disposition(response, filename, as_attachment)
    return response


def _set_disposition(response: HttpResponseBase, filename: str, as_attachment: bool) -> None:
    # As FileResponse sets it.
    if disposition := content_disposition_header(as_attachment, filename):
        response["Content-Disposition"] = disposition
