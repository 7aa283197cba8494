"""Import organisations and memberships from a CSV file, all or nothing."""

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from members.csv_io import (
    ImportPlan,
    StalePlanError,
    apply_import,
    max_import_bytes,
    plan_import,
    too_large_error,
)


class Command(BaseCommand):
    help = (
        "Import organisations and memberships from a CSV file in the export's format. "
        "Nothing is written unless every row is valid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The CSV file (UTF-8, comma or semicolon).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file and say what would change; write nothing."
        )

    def handle(self, *args: Any, file: Path, dry_run: bool, **options: Any) -> None:
        limit = max_import_bytes()
        try:
            with file.open("rb") as opened:
                # Refused by its size on disk, before anything is read; then read no more than
                # the limit allows, should the file be growing or have no size (a pipe).
                size = os.fstat(opened.fileno()).st_size
                data = b"" if size > limit else opened.read(limit + 1)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from error
        if size > limit or len(data) > limit:
            plan = ImportPlan(errors=[too_large_error(max(size, len(data)))])
        else:
            plan = plan_import(data)
        if plan.errors:
            for problem in plan.errors:
                self.stderr.write(str(problem))
            raise CommandError(f"{len(plan.errors)} error(s) in {file}; nothing was imported.")
        for row in plan.rows:
            if row.changes and options["verbosity"] > 1:
                changes = "; ".join(f"{c.column}: {c.old!r} → {c.new!r}" for c in row.changes)
                self.stdout.write(f"row {row.row} ({row.action}): {changes}")
        try:
            counts = plan.counts() if dry_run else apply_import(plan)
        except StalePlanError as stale:
            # Another import or a member of staff changed the register while this one was checked.
            for problem in stale.errors:
                self.stderr.write(str(problem))
            raise CommandError(
                f"{len(stale.errors)} error(s) in {file} against the register as it is now; "
                "nothing was imported."
            ) from None
        summary = ", ".join(f"{name.replace('_', ' ')}: {count}" for name, count in counts.items())
        prefix = "Dry run, nothing written. Would do — " if dry_run else "Imported — "
        self.stdout.write(prefix + summary)
