"""Production mode: security headers, health probes, logs with request ids, error pages."""

import io
import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from members.csv_io import HEADERS
from registry.env import cache_from_url, env_pair
from registry.routers import ReplicaRouter, pinned_to_primary

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "register.example.org",
}


def run_manage(env_changes, *args, text=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=text, timeout=60
    )


def test_check_deploy_reports_nothing_in_production_mode():
    result = run_manage(PRODUCTION_ENV, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_pages_over_https_carry_every_security_header(client, db):
    response = client.get("/en/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


def test_content_security_policy_allows_only_the_site_itself_and_nothing_inline(client, db):
    policy = client.get("/en/", secure=True)["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


def test_plain_http_is_redirected_to_https(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/en/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/en/"


def test_https_ended_at_the_proxy_is_recognised_from_its_header(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/en/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert "Strict-Transport-Security" in response


def test_proxy_header_setting_must_be_a_header_and_a_value(monkeypatch):
    monkeypatch.setenv("DJANGO_SECURE_PROXY_SSL_HEADER", "HTTP_X_FORWARDED_PROTO")
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECURE_PROXY_SSL_HEADER"):
        env_pair("DJANGO_SECURE_PROXY_SSL_HEADER")
    monkeypatch.setenv("DJANGO_SECURE_PROXY_SSL_HEADER", "HTTP_X_FORWARDED_PROTO, https")
    assert env_pair("DJANGO_SECURE_PROXY_SSL_HEADER") == ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_probes_answer_over_plain_http_without_login_or_caching(client, db, settings, path):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(path)
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert "no-store" in response["Cache-Control"]


def test_readiness_fails_and_liveness_holds_when_the_database_is_unreachable():
    code = (
        "from django.test import Client; c = Client();"
        "print(c.get('/healthz').status_code, c.get('/readyz').status_code)"
    )
    env = {
        **PRODUCTION_ENV,
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
    }
    result = run_manage(env, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "200 503"


def test_while_the_database_is_down_pages_show_the_error_page_without_a_trace(collected_static):
    code = (
        "from django.test import Client;"
        "r = Client(raise_request_exception=False).get('/en/', headers={'X-Request-ID': 'outage-1'});"
        "body = r.content.decode();"
        "print(r.status_code, 'outage-1' in body, '<html' in body, 'Traceback' in body,"
        " 'OperationalError' in body)"
    )
    env = {
        **PRODUCTION_ENV,
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_STATIC_ROOT": str(collected_static),
    }
    result = run_manage(env, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "500 True True False False"


def test_a_sane_request_id_from_the_proxy_is_kept_returned_and_logged(client, db, log_lines):
    logger = logging.getLogger("django.request")
    response = client.get("/en/no-such-page/", headers={"X-Request-ID": "lb-1234.abc"})
    assert response.status_code == 404
    assert response["X-Request-ID"] == "lb-1234.abc"
    logged = [line for line in log_lines() if line["logger"] == logger.name]
    assert logged[-1]["request_id"] == "lb-1234.abc"
    assert logged[-1]["level"] == "WARNING"
    assert "/en/no-such-page/" in logged[-1]["message"]


def test_export_to_standard_output_is_exactly_the_csv_and_the_logs_go_to_standard_error(tmp_path):
    # A process of its own, as a script runs it: the start-up log line (axes) must not
    # land in the file, which must re-import with nothing to change.
    env = {**PRODUCTION_ENV, "DATABASE_URL": f"sqlite:///{tmp_path / 'register.sqlite3'}"}
    for command in (["migrate", "--no-input"], ["load_seed"]):
        assert run_manage(env, *command).returncode == 0
    written = tmp_path / "written.csv"
    assert run_manage(env, "export_members", "--output", str(written)).returncode == 0
    exported = run_manage(env, "export_members", text=False)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == written.read_bytes()
    assert exported.stdout.decode().splitlines()[0] == ",".join(HEADERS)
    logged = [json.loads(line) for line in exported.stderr.decode().splitlines()]
    assert "axes.apps" in {line["logger"] for line in logged}
    piped = tmp_path / "piped.csv"
    piped.write_bytes(exported.stdout)
    again = run_manage(env, "import_members", "--dry-run", str(piped))
    assert again.returncode == 0, again.stderr
    assert again.stdout == (
        "Dry run, nothing written. Would do — organisations created: 0, organisations updated: 0, "
        "organisations unchanged: 6, memberships created: 0, memberships updated: 0, "
        "memberships unchanged: 7\n"
    )


def test_a_request_id_that_could_forge_a_log_line_is_replaced(client, db):
    response = client.get("/healthz", headers={"X-Request-ID": 'x"\n{"level": "INFO"}'})
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    assert request_id.isalnum()


@pytest.mark.urls("tests.production_urls")
def test_a_server_error_shows_the_page_and_request_id_but_logs_the_trace(client, db, log_lines):
    client.raise_request_exception = False
    response = client.get("/fail/", headers={"X-Request-ID": "req-500"})
    body = response.content.decode()
    assert response.status_code == 500
    assert "req-500" in body
    assert "Traceback" not in body
    assert "secret-detail-that-must-not-leak" not in body
    error = next(line for line in log_lines() if line["level"] == "ERROR")
    assert error["request_id"] == "req-500"
    assert "Traceback" in error["exc_info"]
    assert "secret-detail-that-must-not-leak" in error["exc_info"]


def test_unknown_page_uses_the_site_404_page(client, db):
    response = client.get("/en/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_static_files_are_served_hashed_compressed_and_cached_for_long(client, db):
    page = client.get("/en/").content.decode()
    href = page.split('rel="stylesheet" href="', 1)[1].split('"', 1)[0]
    assert href.startswith("/static/css/site.") and href.endswith(".css") and href != "/static/css/site.css"
    response = client.get(href, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]


def test_cache_url_selects_redis_or_local_memory():
    assert cache_from_url("")["BACKEND"].endswith("LocMemCache")
    redis = cache_from_url("redis://127.0.0.1:6379/1")
    assert redis["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert redis["LOCATION"] == "redis://127.0.0.1:6379/1"
    with pytest.raises(ImproperlyConfigured, match="DJANGO_CACHE_URL must start with redis://"):
        cache_from_url("memcached://127.0.0.1:11211")


def test_the_configured_cache_stores_and_returns_a_value():
    cache.set("production-test", {"members": 48}, 30)
    assert cache.get("production-test") == {"members": 48}
    cache.delete("production-test")


# No database fixture: the test transaction would count as "inside a transaction".
def test_replica_router_sends_public_reads_to_the_replica_and_everything_else_to_the_primary():
    from members.models import Organisation

    router = ReplicaRouter()
    assert router.db_for_read(Organisation) == "replica"
    assert router.db_for_write(Organisation) == "default"
    assert router.allow_migrate("replica", "members") is False
    token = pinned_to_primary.set(True)
    try:
        assert router.db_for_read(Organisation) == "default"
    finally:
        pinned_to_primary.reset(token)


def test_replica_router_reads_the_primary_inside_a_transaction(db):
    from django.db import transaction

    from members.models import Organisation

    with transaction.atomic():
        assert ReplicaRouter().db_for_read(Organisation) == "default"


def test_admin_requests_are_pinned_to_the_primary(admin_client):
    from registry.middleware import PrimaryDatabaseMiddleware

    seen = []
    middleware = PrimaryDatabaseMiddleware(lambda request: seen.append(pinned_to_primary.get()))
    factory_request = admin_client.get("/admin/").wsgi_request
    middleware(factory_request)
    factory_request.path = "/en/"
    middleware(factory_request)
    factory_request.method = "POST"
    middleware(factory_request)
    assert seen == [True, False, True]


def test_a_replica_url_adds_the_replica_and_its_router():
    code = (
        "from django.conf import settings; from django.db import router;"
        "print(settings.DATABASES['replica']['NAME'], settings.DATABASES['replica']['TEST']['MIRROR'],"
        " settings.DATABASE_ROUTERS)"
    )
    env = {**PRODUCTION_ENV, "DATABASE_REPLICA_URL": "postgres://reader@replica.internal:5432/registry"}
    result = run_manage(env, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "registry default ['registry.routers.ReplicaRouter']"


def test_gunicorn_settings_come_from_the_environment(monkeypatch):
    import importlib
    import multiprocessing

    import registry.gunicorn

    monkeypatch.delenv("GUNICORN_WORKERS", raising=False)
    monkeypatch.delenv("GUNICORN_THREADS", raising=False)
    config = importlib.reload(registry.gunicorn)
    assert config.workers == multiprocessing.cpu_count() * 2 + 1
    assert (config.worker_class, config.threads) == ("registry.workers.ThreadWorker", 8)
    assert config.accesslog == "-"
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "16")
    monkeypatch.setenv("GUNICORN_TIMEOUT", "12")
    config = importlib.reload(registry.gunicorn)
    assert (config.workers, config.threads, config.timeout) == (3, 16, 12)
    monkeypatch.setenv("GUNICORN_WORKERS", "many")
    with pytest.raises(ImproperlyConfigured, match="GUNICORN_WORKERS='many' is not a whole number"):
        importlib.reload(registry.gunicorn)


def test_a_cache_url_switches_the_site_to_redis():
    code = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    result = run_manage(
        {**PRODUCTION_ENV, "DJANGO_CACHE_URL": "redis://127.0.0.1:6379/1"}, "shell", "-c", code
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "django.core.cache.backends.redis.RedisCache"


@pytest.mark.urls("tests.production_urls")
def test_if_the_error_page_itself_fails_a_plain_answer_still_hides_the_trace(client, db, settings, log_lines):
    settings.STATIC_ROOT = settings.BASE_DIR / "no-static-files-here"
    client.raise_request_exception = False
    response = client.get("/fail/", headers={"X-Request-ID": "req-plain"})
    assert response.status_code == 500
    assert response.content.decode() == "Server error. Reference: req-plain\n"
    assert any(line["message"] == "The 500 page could not be rendered" for line in log_lines())


class FakeSocket:
    def __init__(self):
        self.timeout = None

    def settimeout(self, seconds):
        self.timeout = seconds


class FakeFileWrapper:
    def __init__(self, filelike, block_size=8192):
        self.filelike = filelike


def test_each_request_waits_for_its_client_at_most_the_timeout_and_bodies_go_in_small_pieces():
    from registry.gunicorn import SEND_PIECE, bounded_by_progress

    closed = []

    class Body(list):
        def close(self):
            closed.append(True)

    def app(environ, start_response):
        return Body([b"x" * (SEND_PIECE * 2 + 1), b"", b"end"])

    client = FakeSocket()
    environ = {"gunicorn.socket": client, "wsgi.file_wrapper": FakeFileWrapper}
    body = bounded_by_progress(app, 30)(environ, lambda *args: None)
    # Python's socket timeout bounds each wait for the client to take data; one sendall()
    # is bounded as a whole, so no piece is larger than SEND_PIECE.
    assert client.timeout == 30
    pieces = list(body)
    assert [len(piece) for piece in pieces] == [SEND_PIECE, SEND_PIECE, 1, 3]
    body.close()
    assert closed == [True]


def test_a_file_is_left_to_sendfile_which_waits_block_by_block():
    from registry.gunicorn import bounded_by_progress

    wrapped = FakeFileWrapper(io.BytesIO(b"file"))
    environ = {"gunicorn.socket": FakeSocket(), "wsgi.file_wrapper": FakeFileWrapper}
    assert bounded_by_progress(lambda environ, start: wrapped, 30)(environ, lambda *args: None) is wrapped


def test_the_worker_serves_through_the_timeout_unless_it_is_off():
    from types import SimpleNamespace

    from registry.gunicorn import post_worker_init

    def app(environ, start_response):
        return [b"page"]

    worker = SimpleNamespace(cfg=SimpleNamespace(timeout=30), wsgi=app)
    post_worker_init(worker)
    assert worker.wsgi is not app
    client = FakeSocket()
    assert list(worker.wsgi({"gunicorn.socket": client}, lambda *args: None)) == [b"page"]
    assert client.timeout == 30
    unbounded = SimpleNamespace(cfg=SimpleNamespace(timeout=0), wsgi=app)
    post_worker_init(unbounded)
    assert unbounded.wsgi is app


def test_the_worker_hands_a_graceful_close_to_its_closing_threads_not_its_main_loop():
    from concurrent.futures import Future

    from registry.workers import ThreadWorker

    class Connection:
        closes = []

        def close(self, graceful=False):
            self.closes.append(graceful)

    class Closer:
        submitted = []

        def submit(self, function, **kwargs):
            self.submitted.append(kwargs)

    # As gunicorn leaves a connection it does not keep alive to finish_request, on the main loop.
    worker = ThreadWorker.__new__(ThreadWorker)
    worker.alive, worker.nr_conns, worker.closer = True, 1, Closer()
    done = Future()
    done.set_result(False)
    connection = Connection()
    worker.finish_request(connection, done)
    assert Closer.submitted == [{"graceful": True}]
    assert Connection.closes == []  # nothing waited here
    assert worker.nr_conns == 0
    assert "close" not in vars(connection)  # later closes are gunicorn's own again
