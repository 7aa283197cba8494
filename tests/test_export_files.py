"""The full downloads come from files built once per register version (members/exportfiles.py)."""

import datetime
import gzip
import multiprocessing
import os
import threading
import time

import pytest
import time_machine
from django.http import FileResponse
from django.test import RequestFactory
from django.urls import reverse

from members import exportfiles
from members.cache import version
from members.csv_io import stream_csv
from members.opendata import stream_register
from registry.routers import pinned_to_primary
from tests.factories import DeclaredFiguresFactory, FederationFactory, MembershipFactory, OrganisationFactory

JSON_URL = "/data/register.json"
GZIP = {"Accept-Encoding": "gzip, deflate, br"}


def csv_url():
    return reverse("members:directory-csv")


def body(response):
    """The response's bytes; reading them to the end closes its file, as a server does."""
    return b"".join(response.streaming_content)


def files(directory, name="register.json"):
    return sorted(directory.glob(f"{name}.*.gz"))


@pytest.fixture
def register(db):
    federation = FederationFactory(slug="fed", country="FR")
    for slug in ("alpha", "beta"):
        member = OrganisationFactory(slug=slug, country="BE")
        MembershipFactory(member=member, federation=federation)
        DeclaredFiguresFactory(organisation=member)
    return federation


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        # 1. organisations, 2. memberships, 3. declared figures.
        (JSON_URL, 3),
        # 1. the export's one query.
        ("csv", 1),
    ],
)
def test_the_whole_register_comes_from_a_file_and_a_second_request_runs_no_query(
    client, register, exports_dir, django_assert_num_queries, url, queries
):
    url = csv_url() if url == "csv" else url
    with django_assert_num_queries(queries):
        first = client.get(url, headers=GZIP)
        first_body = body(first)
    with django_assert_num_queries(0):
        second = client.get(url, headers=GZIP)
        second_body = body(second)
    assert isinstance(second, FileResponse)
    assert second_body == first_body
    assert len(list(exports_dir.glob("register.*.gz"))) == 1


def test_a_change_of_the_register_makes_a_new_file_and_old_files_go(client, register, exports_dir):
    first = client.get(JSON_URL)
    [old] = files(exports_dir)
    OrganisationFactory(slug="gamma")
    second = client.get(JSON_URL)
    assert second["ETag"] != first["ETag"]
    assert b'"gamma"' in body(second) and b'"gamma"' not in body(first)
    # The first file is kept for a minute (another process may still be on its version) ...
    assert len(files(exports_dir)) == 2
    # ... and removed by the next build once it is older than that.
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    OrganisationFactory(slug="delta")
    client.get(JSON_URL)
    assert old not in files(exports_dir)
    assert len(files(exports_dir)) == 2


def test_the_strong_etag_names_the_version_and_the_coding_and_answers_304(
    client, register, django_assert_num_queries
):
    number = version()[0]
    compressed = client.get(JSON_URL, headers=GZIP)
    plain = client.get(JSON_URL)
    body(compressed), body(plain)
    assert compressed["ETag"] == f'"{number}-gzip"'
    assert plain["ETag"] == f'"{number}"'
    assert compressed["Vary"].startswith("Accept-Encoding") and plain["Vary"].startswith("Accept-Encoding")
    for held in (compressed["ETag"], plain["ETag"], f"W/{plain['ETag']}", f'"other", {plain["ETag"]}'):
        with django_assert_num_queries(0):
            response = client.get(JSON_URL, headers={**GZIP, "If-None-Match": held})
        assert response.status_code == 304
        assert response["ETag"] == compressed["ETag"]
        assert response["Vary"].startswith("Accept-Encoding")
    OrganisationFactory(slug="gamma")
    changed = client.get(JSON_URL, headers={**GZIP, "If-None-Match": compressed["ETag"]})
    changed.close()
    assert changed.status_code == 200


@time_machine.travel(datetime.datetime(2026, 3, 4, 12, tzinfo=datetime.UTC), tick=False)
def test_gzip_when_accepted_and_the_same_text_as_the_stream_once_decompressed(client, register):
    streamed_json = "".join(stream_register(source_url="http://testserver/data/register.json")).encode()
    streamed_csv = "".join(stream_csv()).encode()
    for url, streamed in ((JSON_URL, streamed_json), (csv_url(), streamed_csv)):
        compressed = client.get(url, headers=GZIP)
        assert compressed["Content-Encoding"] == "gzip"
        raw = body(compressed)
        assert int(compressed["Content-Length"]) == len(raw)
        assert gzip.decompress(raw) == streamed
        plain = client.get(url, headers={"Accept-Encoding": "gzip;q=0, identity"})
        assert not plain.has_header("Content-Encoding")
        assert int(plain["Content-Length"]) == len(streamed)
        assert body(plain) == streamed
    csv_download = client.get(csv_url(), headers=GZIP)
    csv_download.close()
    assert csv_download["Content-Type"] == "text/csv; charset=utf-8"
    assert csv_download["Content-Disposition"] == 'attachment; filename="register-2026-03-04.csv"'
    json_download = client.get(JSON_URL, headers=GZIP)
    json_download.close()
    assert json_download["Content-Type"] == "application/json; charset=utf-8"
    assert json_download["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    "params",
    [{"country": "BE"}, {"q": "alp"}, {"federation": "fed"}, {"sort": "not-a-sort"}, {"bom": "1"}],
)
def test_filtered_downloads_and_other_formats_are_streamed_and_leave_no_file(
    client, register, exports_dir, params
):
    for url in (JSON_URL, csv_url()):
        if url == JSON_URL and "bom" in params:
            continue
        response = client.get(url, params, headers=GZIP)
        assert response.status_code == 200
        assert not isinstance(response, FileResponse)
        assert not response.has_header("ETag")
        # Compressed as it streams (registry.middleware.DataCompressionMiddleware), no length known.
        assert response["Content-Encoding"] == "gzip" and not response.has_header("Content-Length")
        assert gzip.decompress(body(response))
    assert not list(exports_dir.glob("*.gz"))


def test_parameters_that_are_no_filter_are_served_the_whole_register_from_the_file(client, register):
    response = client.get(csv_url(), {"sort": "-name", "page": "2", "q": "", "bom": "0"}, headers=GZIP)
    response.close()
    assert isinstance(response, FileResponse)


def test_the_open_data_answers_head_and_refuses_post(client, register):
    head = client.head(JSON_URL)
    head.close()
    assert head.status_code == 200
    assert client.post(JSON_URL).status_code == 405


def test_concurrent_first_requests_in_threads_build_the_file_once(exports_dir):
    calls = []
    start = threading.Barrier(8)

    def produce():
        calls.append(1)
        time.sleep(0.3)  # long enough for every other request to find the build under way
        return ["one build"]

    built = []

    def request():
        start.wait()
        built.append(exportfiles.ensure("register.json", 42, produce))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert {b.path for b in built} == {exports_dir / "register.json.42.9.gz"}
    assert gzip.decompress(built[0].path.read_bytes()) == b"one build"


def _build_in_a_process(directory, marks, start):
    from django.conf import settings

    settings.MEMBERS_EXPORTS_DIR = directory

    def produce():
        with open(marks, "a") as file:
            file.write("built\n")
        time.sleep(0.3)
        return ["one build"]

    start.wait()
    exportfiles.ensure("register.csv", 7, produce)


def test_concurrent_first_requests_in_processes_build_the_file_once(exports_dir, tmp_path):
    exports_dir.mkdir()
    marks = tmp_path / "marks"
    context = multiprocessing.get_context("fork")
    start = context.Barrier(4)
    processes = [
        context.Process(target=_build_in_a_process, args=(exports_dir, marks, start)) for _ in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=30)
    assert [process.exitcode for process in processes] == [0, 0, 0, 0]
    assert marks.read_text() == "built\n"
    assert [path.name for path in files(exports_dir, "register.csv")] == ["register.csv.7.9.gz"]
    assert not list(exports_dir.glob("*.tmp"))


def test_a_build_that_fails_leaves_no_file_and_the_next_request_builds_it(exports_dir):
    def broken():
        yield "half a file"
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        exportfiles.ensure("register.json", 5, broken)
    assert not list(exports_dir.glob("*.gz"))
    assert not list(exports_dir.glob("*.tmp"))
    assert exportfiles.ensure("register.json", 5, lambda: ["whole"]).size == 5


def test_files_are_built_from_the_primary_database(exports_dir):
    built = exportfiles.ensure("register.json", 1, lambda: [str(pinned_to_primary.get())])
    assert gzip.decompress(built.path.read_bytes()) == b"True"
    assert pinned_to_primary.get() is False


def test_a_directory_that_cannot_be_written_streams_the_download_instead(
    client, register, settings, tmp_path, caplog
):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.MEMBERS_EXPORTS_DIR = blocker
    response = client.get(JSON_URL, headers=GZIP)
    assert response.status_code == 200
    assert not isinstance(response, FileResponse)
    # Streamed from the database, and still compressed for a reader that accepts gzip.
    assert response["Content-Encoding"] == "gzip"
    assert b'"alpha"' in gzip.decompress(body(response))
    assert "streaming it instead" in caplog.text


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.5", True),
        ("x-gzip", True),
        ("*", True),
        ("gzip;q=0", False),
        ("gzip;q=0, *", False),
        ("*;q=0", False),
        ("identity", False),
        ("deflate, br", False),
        ("", False),
    ],
)
def test_gzip_is_sent_when_accept_encoding_allows_it(header, accepted):
    request = RequestFactory().get("/", headers={"Accept-Encoding": header} if header else {})
    assert exportfiles.accepts_gzip(request) is accepted
