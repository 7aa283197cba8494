"""Start-up refuses a bad configuration with one clear line, not a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_manage(env_changes, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


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
    ],
)
def test_a_bad_setting_stops_start_up_with_one_clear_line(env, expected):
    result = run_manage(env, "check")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(expected)
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_stops_a_command_with_one_clear_line():
    result = run_manage(
        {"DJANGO_DEBUG": "1", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}, "migrate"
    )
    assert result.returncode != 0
    assert result.stderr.startswith("Database error:")
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
