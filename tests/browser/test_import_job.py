"""A member of staff imports a file through the admin in Chromium, and watches the job finish.

The task worker is django-tasks-db's own loop in a thread of the test, started only once
the job's page is open: the page must follow the job by itself (its script polls the
status view and reloads when the job ends), as it does beside a real `db_worker`.
"""

import time

import pytest
from django.db import connection

from members.csv_io import applying
from members.models import ImportJob, Organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROWS = 2000
HEADER = "slug,name,kind,country,city,federation,category,joined_on\n"


def test_staff_confirm_a_file_leave_and_come_back_and_see_the_progress_bar_reach_done(
    site, browser, worker, django_user_model, tmp_path, monkeypatch
):
    # Small chunks, so that a file of this size reports its progress several times.
    monkeypatch.setattr(applying, "CHUNK_SIZE", 200)
    # COPY writes a chunk faster than the page asks (every second): each chunk takes a little
    # longer here, so that the page sees the bar between its start and its end.
    write = applying.insert_with_history

    def unhurried(*args, **kwargs):
        written = write(*args, **kwargs)
        time.sleep(0.2)
        return written

    monkeypatch.setattr(applying, "insert_with_history", unhurried)
    django_user_model.objects.create_superuser("secretariat", "secretariat@example.org", "a long passphrase")
    upload = tmp_path / "members-2026.csv"
    upload.write_text(
        HEADER
        + "".join(f"coop-{n},Co-op {n},cooperative,FR,Lyon,cicopa,full,2019-03-01\n" for n in range(ROWS)),
        encoding="utf-8",
    )
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda response: response.status >= 400 and errors.append(response.url))

    page.goto(site.url + "/admin/login/")
    page.fill("#id_username", "secretariat")
    page.fill("#id_password", "a long passphrase")
    page.click("input[type=submit]")
    page.goto(site.url + "/admin/members/organisation/import-csv/")
    page.set_input_files("input[type=file]", str(upload))
    page.click("input[type=submit][value=Preview]")
    assert page.locator("#import-summary").is_visible()
    page.click("input[name=confirm]")

    # The job's page, before any worker took the job: waiting, with a progress bar.
    job = ImportJob.objects.get()
    assert page.url.endswith(f"/import-csv/jobs/{job.pk}/")
    assert "waiting for a worker" in page.locator("#import-job-status").inner_text()
    assert page.locator("progress#import-job-progress").count() == 1
    # Leave, and come back through the import page's list of recent jobs.
    page.goto(site.url + "/admin/members/organisation/import-csv/")
    page.click(f"#import-jobs a:has-text('{upload.name}')")
    assert page.url.endswith(f"/import-csv/jobs/{job.pk}/")

    seen = []
    page.expose_function("recordProgress", lambda value, maximum: seen.append((value, maximum)))
    page.evaluate(
        """() => {
            const bar = document.getElementById("import-job-progress");
            new MutationObserver(() => window.recordProgress(bar.value, bar.max))
                .observe(bar, {attributes: true, childList: true});
        }"""
    )
    worker.start()
    page.wait_for_selector("text=members-2026.csv is imported.", timeout=120_000)
    worker.stop()

    summary = page.locator("#import-summary").inner_text()
    assert f"Organisations\t{ROWS}" in summary
    assert f"Memberships\t{ROWS}" in summary
    assert page.locator("progress").count() == 0
    assert Organisation.objects.filter(slug__startswith="coop-").count() == ROWS
    job.refresh_from_db()
    assert job.status == "done"
    if connection.vendor == "postgresql":
        # Progress is reported while the import's transaction is open: the bar moved before the end.
        assert any(0 < value < maximum for value, maximum in seen), seen
    assert not errors
    context.close()
