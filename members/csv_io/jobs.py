"""A confirmed import as a background job: stored in the database, run by a task worker.

The admin's confirmation only stores the file and its options (an ImportJob)
and enqueues `run_import_job` on the project's task queue (django-tasks,
settings.TASKS). A worker, on any machine, plans the file again against the
register as it is then and applies it in one transaction, all or nothing: a
plan with errors, a StalePlanError or any failure leaves the register as it was
and the job "failed" with its messages. A worker that dies mid-way leaves
nothing written either (the database rolls the open transaction back), and the
job, silent since, is shown as stopped and may be restarted.

Progress goes to the job row through a database connection of the job's own,
outside the import's transaction, so that the admin sees it while the import
runs: every chunk of records on PostgreSQL. SQLite lets one writer in at a
time, and the import holds that place until it commits, so there the job
reports only between phases (checking, writing, finished).
"""

from __future__ import annotations

import logging
import zlib
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from members.csv_io.applying import StalePlanError, apply_import, writes
from members.csv_io.planning import plan_import
from members.csv_io.records import RowError
from members.models import ImportJob

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

Status, Phase = ImportJob.Status, ImportJob.Phase


def start_job(
    user: AbstractBaseUser,
    file_name: str,
    data: bytes,
    sha256: str,
    options: dict[str, Any] | None = None,
    language: str = "en",
) -> tuple[ImportJob, bool]:
    """Store a confirmed file as a job and enqueue it; return the job and whether it is new.

    The same user's same file already queued or running is that job, not a second
    one (a double click, the preview confirmed from two tabs): the database's
    constraint decides, so two simultaneous confirmations agree.
    """
    try:
        with transaction.atomic(using=router.db_for_write(ImportJob)):
            job = ImportJob.objects.create(
                user_id=user.pk,
                file_name=file_name[:255],
                sha256=sha256,
                data=zlib.compress(data),
                options=options or {},
                language=language,
            )
    except IntegrityError:
        active = [Status.QUEUED, Status.RUNNING]
        existing = ImportJob.objects.filter(user_id=user.pk, sha256=sha256, status__in=active).first()
        if existing is None:  # it finished between the refusal and this look
            raise
        return existing, False
    _enqueue(job)
    return job, True


def restart_job(job: ImportJob) -> bool:
    """Queue a stopped or failed job again as a new attempt; False if it is done or still alive."""
    if job.status == Status.DONE or (job.is_active and not job.stalled()):
        return False
    attempt = job.attempt + 1
    try:
        restarted = ImportJob.objects.filter(pk=job.pk, attempt=job.attempt).update(
            attempt=attempt,
            status=Status.QUEUED,
            phase=Phase.WAITING,
            started_at=None,
            finished_at=None,
            rows_planned=None,
            writes_total=None,
            writes_done=0,
            counts={},
            errors=[],
            updated_at=timezone.now(),
        )
    except IntegrityError:  # the same file was confirmed again meanwhile and is queued
        return False
    if not restarted:
        return False
    job.refresh_from_db()
    _enqueue(job)
    return True


def _enqueue(job: ImportJob) -> None:
    try:
        run_import_job.enqueue(job.pk, job.attempt)
    except Exception:
        _finish(job.pk, job.attempt, Status.FAILED, errors=[_message(_("The job could not be queued."))])
        raise


@task()
def run_import_job(job_id: int, attempt: int) -> str:
    """Plan and apply one job's file; return its final status. Runs in a task worker."""
    claimed = ImportJob.objects.filter(pk=job_id, attempt=attempt, status=Status.QUEUED).update(
        status=Status.RUNNING, phase=Phase.PLANNING, started_at=timezone.now(), updated_at=timezone.now()
    )
    if not claimed:  # restarted since, or already run by another worker
        return "skipped"
    job = ImportJob.objects.get(pk=job_id)
    with translation.override(job.language):
        try:
            return _run(job)
        except Exception:
            logger.exception("Import job %s failed", job_id)
            _finish(
                job_id,
                attempt,
                Status.FAILED,
                errors=[_message(_("The import stopped on an unexpected error; nothing was written."))],
            )
            raise


def _run(job: ImportJob) -> str:
    data = zlib.decompress(bytes(job.data))
    plan = plan_import(data, job.options)
    del data
    if plan.errors:
        # The register changed since the preview, or the file is not what was previewed.
        return _finish(job.pk, job.attempt, Status.FAILED, errors=[_error(e) for e in plan.errors])
    total, planned = writes(plan), len(plan.rows)
    # The preview's row-by-row differences are not needed to write, and are about half of what
    # the plan holds (the Change of each cell): freed before the writes build their objects, so
    # that the writes stay below the peak the check reached (README, Import).
    plan.rows.clear()
    ImportJob.objects.filter(pk=job.pk, attempt=job.attempt).update(
        phase=Phase.WRITING, rows_planned=planned, writes_total=total, updated_at=timezone.now()
    )
    with ProgressReporter(job.pk, job.attempt) as report:
        try:
            counts = apply_import(plan, user=job.user, progress=report)
        except StalePlanError as stale:
            return _finish(job.pk, job.attempt, Status.FAILED, errors=[_error(e) for e in stale.errors])
    return _finish(job.pk, job.attempt, Status.DONE, counts=counts, writes_done=total)


def _finish(job_id: int, attempt: int, status: str, **values: Any) -> str:
    now = timezone.now()
    ImportJob.objects.filter(pk=job_id, attempt=attempt).update(
        status=status, phase=Phase.FINISHED, finished_at=now, updated_at=now, **values
    )
    return status


def _error(error: RowError) -> dict[str, Any]:
    return {"row": error.row, "column": error.column or "", "message": str(error.message)}


def _message(text: str) -> dict[str, Any]:
    return {"row": None, "column": "", "message": text}


class ProgressReporter:
    """Writes a job's records-written count through a connection of its own, committed at once.

    Called after each chunk the import writes, inside the import's transaction, on
    a connection that transaction does not hold, so that the count is seen before
    the import commits. No-op on SQLite (one writer at a time; see the module).
    """

    def __init__(self, job_id: int, attempt: int) -> None:
        self.job_id = job_id
        self.attempt = attempt
        self.alias = router.db_for_write(ImportJob)
        self.own: BaseDatabaseWrapper | None = None

    def __enter__(self) -> ProgressReporter:
        if connections[self.alias].vendor != "sqlite":
            self.own = connections.create_connection(self.alias)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.own is not None:
            self.own.close()

    def __call__(self, written: int) -> None:
        if self.own is None:
            return
        quote = self.own.ops.quote_name
        with self.own.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(ImportJob._meta.db_table)} SET {quote('writes_done')} = %s, "  # noqa: S608 - names only
                f"{quote('updated_at')} = %s WHERE {quote('id')} = %s AND {quote('attempt')} = %s",
                [written, timezone.now(), self.job_id, self.attempt],
            )
