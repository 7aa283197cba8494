"""Compression through the production server: gunicorn on 127.0.0.1 serving the seed over real HTTP.

What the test client cannot show: the bytes on the wire, gunicorn's own
framing (Content-Length or chunked) and sendfile() of the files built once.
"""

import gzip
import http.client
import json
import secrets

import pytest

from tests.test_production import run_manage
from tests.test_production_gunicorn import LOOPBACK, running_gunicorn


@pytest.fixture
def server(tmp_path, collected_static):
    env = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": LOOPBACK,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'register.sqlite3'}",
    }
    for command in (["migrate", "--no-input"], ["load_seed"]):
        result = run_manage(env, *command)
        assert result.returncode == 0, result.stderr
    exports = tmp_path / "exports"
    exports.mkdir()
    with running_gunicorn(tmp_path, collected_static, DJANGO_EXPORTS_DIR=str(exports)) as (
        port,
        _output,
    ):
        yield port


def fetch(port, path, **headers):
    """(status, headers with lower-case names, the body as sent) of one GET, within 20 s."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=20)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_data_is_compressed_on_the_wire_only_for_a_client_that_accepts_gzip_and_html_never(server):
    gz = {"Accept-Encoding": "gzip"}
    # The whole register: the file as built, by sendfile, with its length.
    status, headers, body = fetch(server, "/data/register.json", **gz)
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert int(headers["content-length"]) == len(body)
    whole = json.loads(gzip.decompress(body))
    assert {o["id"] for o in whole["organizations"]} >= {"cicopa", "cecop", "smart"}
    status, headers, plain = fetch(server, "/data/register.json", **{"Accept-Encoding": "identity"})
    assert status == 200 and "content-encoding" not in headers
    assert int(headers["content-length"]) == len(plain)
    assert json.loads(plain) == whole
    # Streamed and compressed as it goes: the feeds, the filtered CSV and the filtered open data.
    for path in (
        "/en/feeds/events.atom",
        "/fr/organisations.csv?country=BE",
        "/data/register.json?country=BE",
    ):
        status, headers, body = fetch(server, path, **gz)
        assert status == 200 and headers["content-encoding"] == "gzip", path
        assert "accept-encoding" in headers["vary"].lower()
        assert gzip.decompress(body)
        status, headers, body = fetch(server, path)
        assert status == 200 and "content-encoding" not in headers, path
        assert body[:1] != b"\x1f"
    # HTML pages: never (BREACH).
    for path in ("/en/", "/en/organisations/smart/", "/en/federations/cicopa/"):
        status, headers, body = fetch(server, path, **gz)
        assert status == 200 and "content-encoding" not in headers, path
        assert body.lstrip().lower().startswith(b"<!doctype html>")
