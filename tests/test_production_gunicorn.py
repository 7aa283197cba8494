"""gunicorn as production runs it: its access and error logs are JSON lines with the request id.

A real gunicorn (registry/gunicorn.py, production settings, one worker) on a
free port of 127.0.0.1, for a few requests; every wait is bounded.
"""

import contextlib
import http.client
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
DISALLOWED_HOST = "django.security.DisallowedHost"


def free_port():
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def get(port, path, headers=None):
    """(status, response headers) of one request, within 5 s."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=5)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status, dict(response.getheaders())
    finally:
        connection.close()


@contextlib.contextmanager
def running_gunicorn(tmp_path, collected_static, **environment):
    """Start gunicorn in production mode on the SQLite file of tmp_path, and stop it on the way out.

    Yields (port, a function returning what it wrote to stdout and to stderr);
    `environment` adds or replaces variables.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "GUNICORN_"))}
    env.update(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS=LOOPBACK,
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_STATIC_ROOT=str(collected_static),
        DATABASE_URL=f"sqlite:///{tmp_path / 'register.sqlite3'}",
        GUNICORN_BIND=f"{LOOPBACK}:{port}",
        GUNICORN_WORKERS="1",
        **environment,
    )
    out_path, err_path = tmp_path / "stdout", tmp_path / "stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "registry/gunicorn.py", "registry.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, err_path.read_text()
                assert time.monotonic() < deadline, "gunicorn did not answer in 30 s"
                try:
                    if get(port, "/healthz")[0] == 200:
                        break
                except OSError:
                    time.sleep(0.2)
            yield port, lambda: (out_path.read_text(), err_path.read_text())
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def gunicorn(tmp_path, collected_static):
    """A started gunicorn: (port, a function returning what it wrote to stdout and to stderr)."""
    with running_gunicorn(tmp_path, collected_static) as started:
        yield started


def lines_when(output, condition, seconds=10):
    """The JSON lines of stderr once `condition` holds for them (gunicorn writes as it goes)."""
    deadline = time.monotonic() + seconds
    while True:
        stdout, stderr = output()
        lines = [json.loads(line) for line in stderr.splitlines()]
        if condition(lines) or time.monotonic() > deadline:
            return stdout, lines
        time.sleep(0.1)


def access_lines(lines, path):
    return [line for line in lines if line["logger"] == "gunicorn.access" and line["path"] == path]


def test_gunicorn_access_and_error_lines_are_json_with_the_request_id_as_a_field(gunicorn):
    port, output = gunicorn
    assert get(port, "/readyz", {"X-Request-ID": "lb-42.probe"})[0] == 200
    status, headers = get(port, "/en/no-such-page/")
    assert status == 404
    stdout, lines = lines_when(output, lambda lines: len(access_lines(lines, "/en/no-such-page/")) == 1)
    assert stdout == ""  # every line, gunicorn's own included, is on standard error, all of it JSON

    errors = [line for line in lines if line["logger"] == "gunicorn.error"]
    assert any(line["message"].startswith("Listening at: http://127.0.0.1:") for line in errors)
    assert all(line["request_id"] == "-" for line in errors)  # logged outside any request

    [ready] = access_lines(lines, "/readyz")
    assert ready["request_id"] == "lb-42.probe"
    assert (ready["method"], ready["status"], ready["remote_addr"]) == ("GET", 200, LOOPBACK)
    assert isinstance(ready["duration_ms"], int)
    assert "request_id=" not in ready["message"]
    [missing] = access_lines(lines, "/en/no-such-page/")
    assert missing["request_id"] == headers["X-Request-ID"]
    assert missing["status"] == 404
    # The application's line about the same request carries the same id.
    [warning] = [line for line in lines if line["logger"] == "django.request"]
    assert warning["request_id"] == headers["X-Request-ID"]


def test_a_host_not_allowed_is_one_warning_line_without_a_traceback_under_gunicorn(gunicorn):
    port, output = gunicorn
    status, _headers = get(port, "/healthz", {"Host": "scanner.example", "X-Request-ID": "bad-host-1"})
    assert status == 400
    _stdout, lines = lines_when(
        output, lambda lines: any(line["logger"] == DISALLOWED_HOST for line in lines)
    )
    [refused] = [line for line in lines if line["logger"] == DISALLOWED_HOST]
    assert refused["level"] == "WARNING"
    assert refused["message"].startswith("Invalid HTTP_HOST header: 'scanner.example'.")
    assert refused["request_id"] == "bad-host-1"
    assert "exc_info" not in refused
    assert not [line for line in lines if line["level"] == "ERROR"]


# The same through the test client, and the level the logger is given still decides


def test_a_host_not_allowed_is_logged_as_one_warning_without_a_traceback(client, db, log_lines):
    response = client.get("/healthz", headers={"Host": "scanner.example", "X-Request-ID": "bad-host-2"})
    assert response.status_code == 400
    [refused] = [line for line in log_lines() if line["logger"] == DISALLOWED_HOST]
    assert (refused["level"], refused["request_id"]) == ("WARNING", "bad-host-2")
    assert "exc_info" not in refused
    assert "Traceback" not in json.dumps(refused)


def test_a_host_not_allowed_is_not_logged_when_the_logger_logs_only_errors(client, db, log_lines):
    logger = logging.getLogger(DISALLOWED_HOST)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        assert client.get("/healthz", headers={"Host": "scanner.example"}).status_code == 400
    finally:
        logger.setLevel(level)
    assert [line for line in log_lines() if line["logger"] == DISALLOWED_HOST] == []
