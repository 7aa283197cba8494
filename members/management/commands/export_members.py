"""Export the register, or part of it, as CSV in the format import_members reads."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import QueryDict

from members.csv_io import export_options, filtered_organisations, stream_csv

# The public directory's filters, under the same names: a command line selects
# exactly what the directory page would with the same values.
FILTERS = {
    "search": ("q", "Name or acronym contains this (accents and case ignored)."),
    "federation": ("federation", "Members of this federation (slug)."),
    "region": ("region", "Organisations in this region (slug: africa, americas, asia-pacific, europe)."),
    "country": ("country", "Organisations in this country (ISO code)."),
    "kind": ("kind", "Organisations of this kind."),
    "category": ("category", "Members in this category (full, associate, observer)."),
    "joined": ("joined", "Members who joined in this year."),
    "status": ("status", "current or former members."),
}


class Command(BaseCommand):
    help = (
        "Export organisations with their memberships as CSV (the format import_members reads). "
        "The filters are the public directory's."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        for option, (_name, help_text) in FILTERS.items():
            parser.add_argument(f"--{option}", help=help_text)
        parser.add_argument("--output", type=Path, help="Write to this file instead of standard output.")
        parser.add_argument(
            "--bom", action="store_true", help="Start with a byte-order mark, for spreadsheets."
        )
        parser.add_argument("--delimiter", choices=["comma", "semicolon"], default="comma")

    def handle(self, *args: Any, output: Path | None, bom: bool, delimiter: str, **options: Any) -> None:
        params = QueryDict(mutable=True)
        for option, (name, _help) in FILTERS.items():
            if options[option] not in (None, ""):
                params[name] = options[option].upper() if option == "country" else options[option]
        organisations, errors = filtered_organisations(params)
        if errors:
            reverse_names = {name: option for option, (name, _help) in FILTERS.items()}
            problems = "; ".join(
                f"--{reverse_names.get(field, field)}: {' '.join(messages)}"
                for field, messages in errors.items()
            )
            raise CommandError(f"Invalid filter: {problems}")
        chunks = stream_csv(organisations, **export_options({"bom": bom, "delimiter": delimiter}))
        if output is None:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
            return
        with output.open("w", encoding="utf-8", newline="") as file:
            file.writelines(chunks)
        self.stderr.write(f"Wrote {output}.")
