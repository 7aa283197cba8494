"""A confirmed import as a background job: queued by the admin, run by the real django-tasks worker.

The worker is django-tasks-db's own (`db_worker`'s loop), run in a thread with its own
database connection, against the database the suite runs on (SQLite, or PostgreSQL with
DATABASE_URL): what the admin sees is what a `manage.py db_worker` on another machine does.
"""

import datetime
import io
import threading
import time

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from members.admin.csv import SESSION_KEY
from members.csv_io import applying, jobs
from members.models import ImportJob, Membership, Organisation
from tests.factories import FederationFactory

IMPORT_URL = "admin:members_organisation_import_csv"
HEADER = "slug,name,kind,city,federation,joined_on\n"

worker_db = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def csv_file(text, name="members.csv"):
    upload = io.BytesIO(text.encode())
    upload.name = name
    return upload


def rows(count, federation="fed"):
    return HEADER + "".join(
        f"coop-{n},Co-op {n},cooperative,Lyon,{federation},2017-05-01\n" for n in range(count)
    )


def import_tasks():
    # Not the refreshes a committed change enqueues beside them (members/refresh.py).
    return DBTaskResult.objects.filter(task_path=jobs.run_import_job.module_path)


def job_url(job, view="import_job"):
    return reverse(f"admin:members_organisation_{view}", args=[job.pk])


def state():
    return (
        sorted(Organisation.objects.values_list("slug", "name", "city")),
        sorted(Membership.objects.values_list("member__slug", "federation__slug", "joined_on")),
    )


def confirm(client, text, name="members.csv"):
    """Upload and confirm a file as the signed-in user; return the confirmation's response."""
    preview = client.post(reverse(IMPORT_URL), {"file": csv_file(text, name)})
    assert preview.context["plan"].is_valid, preview.context["plan"].errors
    return client.post(reverse(IMPORT_URL), {"confirm": "1", "sha256": preview.context["sha256"]})


def start_worker():
    """Start django-tasks-db's worker loop in a thread; it runs every queued task, then stops."""

    def work():
        try:
            Worker(
                queue_names=["default"],
                interval=0,
                batch=True,
                backend_name="default",
                startup_delay=False,
                max_tasks=None,
                worker_id="test-worker",
                excluded_queue_names=[],
            ).run()
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def run_worker(timeout=120):
    thread = start_worker()
    thread.join(timeout)
    assert not thread.is_alive(), "the worker did not finish"


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_superuser("owner", "owner@example.org", "pw")


@pytest.fixture
def administrator(staff_member):
    return staff_member("administrator")


@worker_db
def test_a_confirmed_file_is_queued_then_imported_by_the_worker_as_the_user(client, administrator):
    FederationFactory(slug="fed")
    client.force_login(administrator)
    before = state()

    response = confirm(client, rows(3))

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == job_url(job)
    assert SESSION_KEY not in client.session
    # The request stored the file and queued it; nothing is written before a worker runs it.
    assert (job.status, job.phase, job.user) == ("queued", "waiting", administrator)
    assert job.file_name == "members.csv"
    assert import_tasks().get().status == "READY"
    assert state() == before
    page = client.get(job_url(job))
    assert page.context["state"]["finished"] is False
    assert 'id="import-job-progress"' in page.text

    run_worker()

    job.refresh_from_db()
    assert job.status == "done"
    assert job.counts["organisations_created"] == 3
    assert job.counts["memberships_created"] == 3
    assert job.writes_done == job.writes_total == 6
    assert import_tasks().get().status == "SUCCESSFUL"
    created = Organisation.objects.get(slug="coop-2")
    assert created.memberships.get().federation.slug == "fed"
    assert created.history.get().history_user == administrator
    page = client.get(job_url(job))
    assert 'id="import-job-progress"' not in page.text
    assert "is imported" in page.text
    assert client.get(job_url(job, "import_job_status")).json()["status"] == "done"
    # The import page links the job, for the user who left its page.
    assert job_url(job) in client.get(reverse(IMPORT_URL)).text


@worker_db
def test_a_job_that_fails_mid_write_leaves_the_register_unchanged(client, administrator, monkeypatch):
    """The writes go in chunks; a failure in a later chunk undoes the earlier ones too."""
    FederationFactory(slug="fed")
    client.force_login(administrator)
    monkeypatch.setattr(applying, "CHUNK_SIZE", 2)
    confirm(client, rows(5))
    before = state()
    planned = jobs.plan_import

    def plan_then_someone_else_writes(data, options=None):
        plan = planned(data, options)
        # Between the worker's check and its writes, someone creates the fifth organisation:
        # the third chunk of creations fails, after two chunks were written.
        Organisation.objects.create(slug="coop-4", name="Someone else's", kind="cooperative")
        return plan

    monkeypatch.setattr(jobs, "plan_import", plan_then_someone_else_writes)

    run_worker()

    job = ImportJob.objects.get()
    assert job.status == "failed"
    assert "nothing was written" in job.errors[0]["message"]
    if connection.vendor == "postgresql":
        # Progress goes out of the transaction: two chunks were written, then undone.
        assert job.writes_done == 4
    assert state() == (
        sorted([*before[0], ("coop-4", "Someone else's", "")]),
        before[1],
    )
    assert "Nothing has been imported" in client.get(job_url(job)).text


@worker_db
def test_a_file_that_no_longer_fits_the_register_fails_with_its_rows_errors(client, administrator):
    federation = FederationFactory(slug="fed")
    client.force_login(administrator)
    confirm(client, rows(2))
    Organisation.objects.filter(pk=federation.pk).update(slug="renamed")
    before = state()

    run_worker()

    job = ImportJob.objects.get()
    assert job.status == "failed"
    assert {(error["row"], error["column"]) for error in job.errors} == {(2, "federation"), (3, "federation")}
    assert state() == before
    page = client.get(job_url(job))
    assert "Unknown federation" in page.text
    assert "Run the import again" in page.text


def test_only_the_user_who_confirmed_and_superusers_see_a_job(client, administrator, staff_member, owner):
    FederationFactory(slug="fed")
    client.force_login(administrator)
    confirm(client, rows(1))
    job = ImportJob.objects.get()
    other = staff_member("administrator")
    client.force_login(other)

    assert client.get(job_url(job)).status_code == 403
    assert client.get(job_url(job, "import_job_status")).status_code == 403
    assert client.post(job_url(job, "import_job_restart")).status_code == 403
    assert job_url(job) not in client.get(reverse(IMPORT_URL)).text

    client.force_login(owner)
    assert client.get(job_url(job)).status_code == 200
    assert client.get(job_url(job, "import_job_status")).json()["status"] == "queued"
    assert job_url(job) in client.get(reverse(IMPORT_URL)).text


def test_two_confirmations_of_one_preview_make_one_job(client, administrator):
    FederationFactory(slug="fed")
    client.force_login(administrator)
    preview = client.post(reverse(IMPORT_URL), {"file": csv_file(rows(2))})
    confirmation = {"confirm": "1", "sha256": preview.context["sha256"]}
    # What a second tab's request read before the first confirmation ended.
    waiting = client.session[SESSION_KEY]

    first = client.post(reverse(IMPORT_URL), confirmation)
    again = client.post(reverse(IMPORT_URL), confirmation)
    session = client.session
    session[SESSION_KEY] = waiting
    session.save()
    raced = client.post(reverse(IMPORT_URL), confirmation, follow=True)

    job = ImportJob.objects.get()
    assert first.url == job_url(job)
    assert "expired" in again.text  # the preview was used up
    assert raced.redirect_chain[-1][0] == job_url(job)
    assert "already being imported" in raced.text
    assert import_tasks().count() == 1


def test_a_job_whose_worker_died_is_shown_stopped_and_runs_again_on_request(client, administrator, settings):
    FederationFactory(slug="fed")
    client.force_login(administrator)
    confirm(client, rows(2))
    job = ImportJob.objects.get()
    # A worker took it, then died: the job reports nothing any more, and nothing was written.
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.MEMBERS_IMPORT_JOB_STALL_SECONDS + 1)
    ImportJob.objects.filter(pk=job.pk).update(status="running", phase="planning", updated_at=long_ago)

    page = client.get(job_url(job))
    assert "stopped" in page.text
    assert "Run the import again" in page.text

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    response = client.post(job_url(job, "import_job_restart"), follow=True)

    job.refresh_from_db()
    assert (job.status, job.attempt) == ("done", 2)
    assert "is imported" in response.text
    assert Organisation.objects.filter(slug__startswith="coop-").count() == 2


def test_a_live_job_cannot_be_restarted(client, administrator):
    FederationFactory(slug="fed")
    client.force_login(administrator)
    confirm(client, rows(1))
    job = ImportJob.objects.get()

    client.post(job_url(job, "import_job_restart"))

    job.refresh_from_db()
    assert job.attempt == 1
    assert import_tasks().count() == 1


@pytest.mark.postgresql
@worker_db
def test_progress_is_seen_from_another_connection_before_the_import_commits(
    client, administrator, monkeypatch
):
    FederationFactory(slug="fed")
    client.force_login(administrator)
    monkeypatch.setattr(applying, "CHUNK_SIZE", 200)
    confirm(client, rows(3000))
    job = ImportJob.objects.get()

    thread = start_worker()
    seen = []
    deadline = time.monotonic() + 120
    while thread.is_alive() and time.monotonic() < deadline:
        status = client.get(job_url(job, "import_job_status")).json()
        written = status["writes_done"]
        if status["status"] == "running" and 0 < written < status["writes_total"]:
            # This connection sees the count, but not yet the records: they are not committed.
            seen.append((written, Organisation.objects.filter(slug__startswith="coop-").count()))
        time.sleep(0.05)
    thread.join(5)

    assert seen, "no progress was seen while the job ran"
    assert all(imported == 0 for _, imported in seen)
    job.refresh_from_db()
    assert (job.status, job.writes_done, job.writes_total) == ("done", 6000, 6000)
    assert Organisation.objects.filter(slug__startswith="coop-").count() == 3000


def test_the_deploy_checks_warn_when_tasks_would_run_inside_the_request(settings):
    from django.core import checks

    assert not [m for m in checks.run_checks(include_deployment_checks=True) if m.id == "members.W001"]
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    warned = [m for m in checks.run_checks(include_deployment_checks=True) if m.id == "members.W001"]
    assert len(warned) == 1
    assert "db_worker" in warned[0].hint
