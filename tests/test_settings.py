"""Start-up refuses a bad configuration with one clear line, not a traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(env_changes, *command):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "GUNICORN_"))}
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_manage(env_changes, *args):
    return run(env_changes, "manage.py", *args)


def run_gunicorn_check(env_changes):
    """gunicorn as `make serve` starts it, loading its settings and the application, then stopping."""
    return run(env_changes, "-m", "gunicorn", "-c", "registry/gunicorn.py", "--check-config", "registry.wsgi")


def assert_one_clear_line(result, expected):
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(expected)
    assert "Traceback" not in result.stderr


DEBUG = {"DJANGO_DEBUG": "1"}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"DJANGO_SECRET_KEY": "x", "DJANGO_ALLOWED_HOSTS": "a", "DATABASE_URL": "mysql://db/x"},
            "Configuration error: DATABASE_URL must start with postgres:// or sqlite://",
        ),
        (
            {"DJANGO_SECRET_KEY": "x", "DJANGO_ALLOWED_HOSTS": "a", "DATABASE_URL": "nonsense"},
            "Configuration error: DATABASE_URL must start with postgres:// or sqlite://",
        ),
        (
            {"DJANGO_SECRET_KEY": "x", "DJANGO_ALLOWED_HOSTS": "a", "DATABASE_URL": "postgres://h:5432/"},
            "Configuration error: DATABASE_URL names no database",
        ),
        ({"DJANGO_DEBUG": "0"}, "Configuration error: DJANGO_SECRET_KEY must be set."),
        ({"DJANGO_DEBUG": "maybe"}, "Configuration error: DJANGO_DEBUG='maybe' is not a boolean"),
        (
            {**DEBUG, "DJANGO_LOG_LEVEL": "VERBOSE"},
            "Configuration error: DJANGO_LOG_LEVEL='VERBOSE' is not one of "
            "DEBUG, INFO, WARNING, ERROR, CRITICAL.",
        ),
        (
            {**DEBUG, "DJANGO_TIME_ZONE": "Mars/Olympus"},
            "Configuration error: DJANGO_TIME_ZONE='Mars/Olympus' is not a time zone; use an IANA name",
        ),
        (
            {**DEBUG, "DJANGO_CONN_MAX_AGE": "-1"},
            "Configuration error: DJANGO_CONN_MAX_AGE='-1' is too small; use a whole number of at least 0.",
        ),
        (
            {**DEBUG, "DJANGO_LOGIN_FAILURE_LIMIT": "0"},
            "Configuration error: DJANGO_LOGIN_FAILURE_LIMIT='0' is too small; "
            "use a whole number of at least 1.",
        ),
        (
            {**DEBUG, "DJANGO_LOGIN_COOLOFF_MINUTES": "soon"},
            "Configuration error: DJANGO_LOGIN_COOLOFF_MINUTES='soon' is not a whole number.",
        ),
        (
            {**DEBUG, "DJANGO_FEED_TAGGING_ENTITY": "https://register.example.org/"},
            "Configuration error: DJANGO_FEED_TAGGING_ENTITY='https://register.example.org/' is not a "
            "tagging entity",
        ),
        (
            {**DEBUG, "DJANGO_FEED_TAGGING_ENTITY": "register.example.org,17"},
            "Configuration error: DJANGO_FEED_TAGGING_ENTITY='register.example.org,17' is not a "
            "tagging entity",
        ),
        (
            {**DEBUG, "DJANGO_ADMIN_PATH": "/"},
            "Configuration error: DJANGO_ADMIN_PATH='/' is not a path below the site's root",
        ),
        (
            {**DEBUG, "DJANGO_CSRF_TRUSTED_ORIGINS": "https://a.example.org,b.example.org"},
            "Configuration error: DJANGO_CSRF_TRUSTED_ORIGINS holds 'b.example.org'; use comma-separated",
        ),
        (
            {**DEBUG, "DJANGO_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto,https"},
            "Configuration error: DJANGO_SECURE_PROXY_SSL_HEADER='X-Forwarded-Proto,https' must be a header",
        ),
        (
            {**DEBUG, "DATABASE_REPLICA_URL": "mysql://replica/x"},
            "Configuration error: DATABASE_REPLICA_URL must start with postgres:// or sqlite://",
        ),
        (
            {**DEBUG, "DJANGO_PROXY_COUNT": "1", "DJANGO_PROXY_TRUSTED_IPS": "10.0.0.0/8"},
            "Configuration error: DJANGO_PROXY_TRUSTED_IPS holds '10.0.0.0/8'; use IP addresses",
        ),
        (
            {**DEBUG, "DJANGO_PROXY_TRUSTED_IPS": "10.0.0.1"},
            "Configuration error: DJANGO_PROXY_TRUSTED_IPS names 1 proxies but DJANGO_PROXY_COUNT is 0",
        ),
        (
            {**DEBUG, "DJANGO_EMAIL_REVEALS_PER_HOUR": "0"},
            "Configuration error: DJANGO_EMAIL_REVEALS_PER_HOUR='0' is too small; "
            "use a whole number of at least 1.",
        ),
        (
            {**DEBUG, "DJANGO_CACHE_URL": "memcached://127.0.0.1:11211"},
            "Configuration error: DJANGO_CACHE_URL must start with redis:// or rediss://",
        ),
        (
            {**DEBUG, "DJANGO_EXPORTS_DIR": "/no/such/directory"},
            "Configuration error: DJANGO_EXPORTS_DIR='/no/such/directory' is not an existing directory.",
        ),
    ],
)
def test_a_bad_setting_stops_start_up_with_one_clear_line(env, expected):
    assert_one_clear_line(run_manage(env, "check"), expected)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GUNICORN_WORKERS": "many"}, "Configuration error: GUNICORN_WORKERS='many' is not a whole number."),
        (
            {"GUNICORN_WORKERS": "0"},
            "Configuration error: GUNICORN_WORKERS='0' is too small; use a whole number of at least 1.",
        ),
        (
            {"GUNICORN_THREADS": "0"},
            "Configuration error: GUNICORN_THREADS='0' is too small; use a whole number of at least 1.",
        ),
        (
            {"GUNICORN_FORWARDED_ALLOW_IPS": "127.0.0.1,proxy.internal"},
            "Configuration error: GUNICORN_FORWARDED_ALLOW_IPS holds 'proxy.internal'; use comma-separated",
        ),
        (
            {"GUNICORN_WORKER_TMP_DIR": "/no/such/directory"},
            "Configuration error: GUNICORN_WORKER_TMP_DIR='/no/such/directory' is not an existing directory.",
        ),
        # The application's own settings, loaded by gunicorn, stop it the same way.
        (
            {"DJANGO_LOG_LEVEL": "VERBOSE"},
            "Configuration error: DJANGO_LOG_LEVEL='VERBOSE' is not one of "
            "DEBUG, INFO, WARNING, ERROR, CRITICAL.",
        ),
        (
            {"DJANGO_TIME_ZONE": "Mars/Olympus"},
            "Configuration error: DJANGO_TIME_ZONE='Mars/Olympus' is not a time zone; use an IANA name",
        ),
    ],
)
def test_a_bad_setting_stops_gunicorn_with_one_clear_line(env, expected):
    assert_one_clear_line(run_gunicorn_check({**DEBUG, **env}), expected)


def test_gunicorn_starts_with_its_default_settings():
    result = run_gunicorn_check(DEBUG)
    assert result.returncode == 0, result.stderr


def test_log_level_and_time_zone_are_read_as_given(monkeypatch):
    from registry.env import env_choice, env_time_zone

    levels = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
    monkeypatch.setenv("DJANGO_LOG_LEVEL", "warning")
    assert env_choice("DJANGO_LOG_LEVEL", "INFO", levels) == "WARNING"
    monkeypatch.setenv("DJANGO_LOG_LEVEL", "")
    assert env_choice("DJANGO_LOG_LEVEL", "INFO", levels) == "INFO"
    monkeypatch.setenv("DJANGO_TIME_ZONE", "America/Montevideo")
    assert env_time_zone("DJANGO_TIME_ZONE", "Europe/Brussels") == "America/Montevideo"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DJANGO_FEED_TAGGING_ENTITY": "register.example.org,2017-06"}, "register.example.org,2017-06"),
        # By default the first host name the site answers to (not a pattern), with 2017.
        ({"DJANGO_ALLOWED_HOSTS": ".example.org,*,register.example.org"}, "register.example.org,2017"),
        ({"DJANGO_ALLOWED_HOSTS": "*"}, "localhost,2017"),
    ],
)
def test_the_feeds_tagging_entity_is_read_as_given_or_from_the_sites_host_name(env, expected):
    program = "from django.conf import settings; print(settings.FEED_TAGGING_ENTITY)"
    result = run_manage({**DEBUG, **env}, "shell", "-c", program)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_an_unreachable_database_stops_a_command_with_one_clear_line():
    result = run_manage(
        {"DJANGO_DEBUG": "1", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}, "migrate"
    )
    assert result.returncode != 0
    # Start-up may log first (JSON lines, on the same stream); the command's own word is one line.
    *logged, last = result.stderr.strip().splitlines()
    assert last.startswith("Database error:")
    assert all(json.loads(line)["level"] for line in logged)
    assert "Traceback" not in result.stderr


def test_debug_mode_starts_without_a_secret_key():
    result = run_manage({"DJANGO_DEBUG": "1"}, "check")
    assert result.returncode == 0, result.stderr


def test_postgresql_connections_run_without_the_jit_compiler():
    from registry.env import database_from_url

    config = database_from_url("postgres://u@h:5432/registry")
    assert config["OPTIONS"]["options"] == "-c jit=off"


def test_options_in_the_database_url_replace_the_default_ones():
    from registry.env import database_from_url

    config = database_from_url("postgres://u@h:5432/registry?options=-c%20work_mem%3D64MB")
    assert config["OPTIONS"]["options"] == "-c work_mem=64MB"


def test_sqlite_connections_get_no_postgresql_options():
    from registry.env import database_from_url

    assert "options" not in database_from_url("sqlite:///x.sqlite3").get("OPTIONS", {})


def test_sqlite_databases_use_write_ahead_logging_so_reads_go_on_while_a_worker_writes(tmp_path):
    import sqlite3

    from registry.env import database_from_url

    path = tmp_path / "x.sqlite3"
    # What Django runs on each new connection (the backend's init_command option).
    init_command = database_from_url(f"sqlite:///{path}")["OPTIONS"]["init_command"]
    writer = sqlite3.connect(path, isolation_level=None, timeout=0)
    assert writer.execute(init_command.rstrip(";")).fetchone()[0] == "wal"
    writer.execute("CREATE TABLE t (n integer)")
    writer.execute("BEGIN IMMEDIATE")
    # Enough rows that the writer's page cache spills to the file, as a large import's does.
    writer.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(200_000)])
    reader = sqlite3.connect(path, timeout=0)
    reader.execute(init_command.rstrip(";"))
    # While that transaction is open, another connection still reads (and sees none of it).
    assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    writer.execute("COMMIT")
    assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == 200_000
