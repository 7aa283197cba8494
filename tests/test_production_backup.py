"""A backup taken as the README says restores into a fresh database with every record."""

import os
import shutil
import subprocess
import uuid

import psycopg2
import pytest
from django.db import connection

from members.models import DeclaredFigures, Membership, Organisation

pytestmark = pytest.mark.postgresql


def client_args(settings_dict):
    args = ["-h", settings_dict["HOST"] or "127.0.0.1", "-U", settings_dict["USER"] or "postgres"]
    if settings_dict["PORT"]:
        args += ["-p", str(settings_dict["PORT"])]
    return args


def pg(*command, settings_dict):
    env = {**os.environ, "PGPASSWORD": settings_dict["PASSWORD"] or ""}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def fresh_database():
    """An empty database beside the test one, dropped afterwards."""
    settings_dict = connection.settings_dict
    name = f"{settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    pg("createdb", *client_args(settings_dict), name, settings_dict=settings_dict)
    yield name
    pg("dropdb", "--force", *client_args(settings_dict), name, settings_dict=settings_dict)


def rows(database, sql):
    settings_dict = connection.settings_dict
    with (
        psycopg2.connect(
            dbname=database,
            host=settings_dict["HOST"] or "127.0.0.1",
            port=settings_dict["PORT"] or 5432,
            user=settings_dict["USER"] or "postgres",
            password=settings_dict["PASSWORD"] or "",
        ) as restored,
        restored.cursor() as cursor,
    ):
        cursor.execute(sql)
        result = set(cursor.fetchall())
    restored.close()
    return result


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs the PostgreSQL client tools")
# Committed rows, so that pg_dump's own connection sees them; the serialized copy puts
# back the regions the migrations seeded, which other transactional tests flush.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_custom_format_dump_restores_every_organisation_membership_and_declaration(
    seeded, fresh_database, tmp_path
):
    settings_dict = connection.settings_dict
    dump = tmp_path / "register.dump"
    pg("pg_dump", "-Fc", *client_args(settings_dict), "-f", str(dump), settings_dict["NAME"],
       settings_dict=settings_dict)  # fmt: skip
    pg("pg_restore", "--no-owner", *client_args(settings_dict), "-d", fresh_database, str(dump),
       settings_dict=settings_dict)  # fmt: skip

    organisations = set(Organisation.objects.values_list("id", "slug", "name"))
    memberships = set(Membership.objects.values_list("id", "member_id", "federation_id", "joined_on"))
    declarations = set(DeclaredFigures.objects.values_list("id", "organisation_id", "year", "employment"))
    assert organisations and memberships and declarations
    assert rows(fresh_database, "SELECT id, slug, name FROM members_organisation") == organisations
    assert rows(fresh_database, "SELECT id, member_id, federation_id, joined_on FROM members_membership") == (
        memberships
    )
    assert (
        rows(fresh_database, "SELECT id, organisation_id, year, employment FROM members_declaredfigures")
        == declarations
    )
