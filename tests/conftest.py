import io
import json
import logging

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import translation

from tests.factories import (
    DeclaredFiguresFactory,
    FederationFactory,
    MembershipFactory,
    OrganisationFactory,
)


@pytest.fixture
def organisation_factory(db):
    return OrganisationFactory


@pytest.fixture
def federation_factory(db):
    return FederationFactory


@pytest.fixture
def membership_factory(db):
    return MembershipFactory


@pytest.fixture
def declaration_factory(db):
    return DeclaredFiguresFactory


@pytest.fixture
def seeded(db):
    """The register as `load_seed` leaves it."""
    call_command("load_seed", stdout=io.StringIO())


def pytest_collection_modifyitems(config, items):
    """Skip tests marked `postgresql` when the suite runs on SQLite."""
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgresql" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def collected_static(tmp_path_factory):
    """Collect static files once, as a deployment does.

    Tests run with debug off, so pages are rendered through the hashed-name manifest
    that `collectstatic` writes; a template naming a missing file fails here as it
    would in production.
    """
    from django.test import override_settings

    root = tmp_path_factory.mktemp("staticfiles")
    with override_settings(STATIC_ROOT=root):
        call_command("collectstatic", interactive=False, verbosity=0)
        yield root


@pytest.fixture
def staff_member(db):
    """Make a member of staff in one of the three roles, editing the given federations."""
    from django.contrib.auth.models import Group

    from members import permissions
    from tests.factories import FederationEditorFactory, UserFactory

    groups = {
        "administrator": permissions.REGISTRY_ADMINISTRATORS,
        "editor": permissions.FEDERATION_EDITORS,
        "read-only": permissions.READ_ONLY_STAFF,
    }

    def make(role, federations=()):
        user = UserFactory()
        user.groups.add(Group.objects.get(name=groups[role]))
        for federation in federations:
            FederationEditorFactory(user=user, federation=federation)
        return user

    return make


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts with empty caches, whether local memory or a shared Redis."""
    from django.core.cache import caches

    for alias in settings.CACHES:
        caches[alias].clear()


@pytest.fixture(autouse=True)
def exports_dir(tmp_path, settings):
    """Each test builds the files of the full downloads (members/exportfiles.py) in a directory of its own."""
    settings.MEMBERS_EXPORTS_DIR = tmp_path / "exports"
    return settings.MEMBERS_EXPORTS_DIR


@pytest.fixture(autouse=True)
def english_by_default():
    """Start every test in the default language: a request to /fr/ leaves French active in the thread."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def log_lines():
    """The JSON lines the project's log handler writes during the test, as dicts."""
    handler = next(h for h in logging.getLogger("django").handlers if h.name == "stderr")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.setStream(previous)


IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def immediate_tasks(settings):
    """Run each task when it is enqueued, in the enqueuing process (a confirmed import job, at once)."""
    settings.TASKS = IMMEDIATE_TASKS
