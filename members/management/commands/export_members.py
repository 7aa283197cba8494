"""Export the register, or part of it, as CSV in the format import_members reads."""

from pathlib import Path

from django.core.management.base import BaseCommand

from members.csv_io import export_options, stream_csv
from members.models import Organisation


class Command(BaseCommand):
    help = "Export organisations with their memberships as CSV (the format import_members reads)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--federation", action="append", default=[], help="Members of this federation (slug)."
        )
        parser.add_argument(
            "--country", action="append", default=[], help="Organisations in this country (ISO code)."
        )
        parser.add_argument(
            "--kind",
            action="append",
            default=[],
            choices=Organisation.Kind.values,
            help="Organisations of this kind.",
        )
        parser.add_argument(
            "--current", action="store_true", help="Only current members of the federation(s)."
        )
        parser.add_argument("--output", type=Path, help="Write to this file instead of standard output.")
        parser.add_argument(
            "--bom", action="store_true", help="Start with a byte-order mark, for spreadsheets."
        )
        parser.add_argument("--delimiter", choices=["comma", "semicolon"], default="comma")

    def handle(self, *args, federation, country, kind, current, output, bom, delimiter, **options):
        organisations = Organisation.objects.all()
        if federation:
            memberships = {"memberships__federation__slug__in": federation}
            if current:
                memberships["memberships__left_on__isnull"] = True
            organisations = organisations.filter(**memberships)
        if country:
            organisations = organisations.filter(country__in=[code.upper() for code in country])
        if kind:
            organisations = organisations.filter(kind__in=kind)
        chunks = stream_csv(organisations, **export_options({"bom": bom, "delimiter": delimiter}))
        if output is None:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
            return
        with output.open("w", encoding="utf-8", newline="") as file:
            file.writelines(chunks)
        self.stderr.write(f"Wrote {output}.")
