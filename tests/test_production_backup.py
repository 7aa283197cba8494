"""A backup taken as the README says restores into a fresh database with every record.

The register is built in a database of its own (migrate and load_seed, as a
deployment does), so that pg_dump, which reads committed data through its own
connection, sees it, and the test database's transactions are left alone.
"""

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs the PostgreSQL client tools"),
]

ROOT = Path(__file__).resolve().parent.parent
QUERIES = {
    "organisations": "SELECT id, slug, name, country FROM members_organisation",
    "memberships": "SELECT id, member_id, federation_id, category, joined_on FROM members_membership",
    "declarations": "SELECT id, organisation_id, year, enterprises, employment FROM members_declaredfigures",
}


@pytest.fixture
def server():
    """How to reach the PostgreSQL server the suite runs on."""
    settings_dict = connection.settings_dict
    return {
        "host": settings_dict["HOST"] or "127.0.0.1",
        "port": str(settings_dict["PORT"] or 5432),
        "user": settings_dict["USER"] or "postgres",
        "password": settings_dict["PASSWORD"] or "",
    }


def run(args, server, **env):
    environment = {**os.environ, "PGPASSWORD": server["password"], **env}
    result = subprocess.run(args, capture_output=True, text=True, env=environment, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result


def client_args(server):
    return ["-h", server["host"], "-p", server["port"], "-U", server["user"]]


@pytest.fixture
def databases(server):
    """Two new databases beside the test one, the register and its restored copy; dropped afterwards."""
    prefix = f"{connection.settings_dict['NAME']}_backup_{uuid.uuid4().hex[:8]}"
    names = (f"{prefix}_source", f"{prefix}_restored")
    for name in names:
        run(["createdb", *client_args(server), name], server)
    yield names
    for name in names:
        run(["dropdb", "--force", "--if-exists", *client_args(server), name], server)


def read(server, database):
    with (
        psycopg2.connect(
            dbname=database,
            host=server["host"],
            port=server["port"],
            user=server["user"],
            password=server["password"],
        ) as db,
        db.cursor() as cursor,
    ):
        found = {}
        for table, sql in QUERIES.items():
            cursor.execute(sql)
            found[table] = set(cursor.fetchall())
    db.close()
    return found


def test_a_custom_format_dump_restores_every_organisation_membership_and_declaration(
    server, databases, tmp_path
):
    source, restored = databases
    url = f"postgres://{server['user']}@{server['host']}:{server['port']}/{source}"
    for command in (["migrate", "--no-input"], ["load_seed"]):
        run([sys.executable, "manage.py", *command], server, DATABASE_URL=url, DJANGO_DEBUG="1")
    dump = tmp_path / "register.dump"

    run(["pg_dump", "-Fc", *client_args(server), "-f", str(dump), source], server)
    run(["pg_restore", "--no-owner", *client_args(server), "-d", restored, str(dump)], server)

    original, copy = read(server, source), read(server, restored)
    assert all(original.values()), "the seed left a table empty"
    assert {row[1] for row in original["organisations"]} >= {"cicopa", "cecop"}
    assert copy == original
