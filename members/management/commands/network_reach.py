"""Rebuild or verify the materialised network (members/reach.py) and counted figures (members/counted.py)."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from members import counted, reach


class Command(BaseCommand):
    help = (
        "Rebuild the materialised network from the memberships and the counted figures from it and the "
        "declarations (--rebuild), or compare both with a fresh computation and list every difference "
        "(--verify; exits with an error on any)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="Compute every row again.")
        parser.add_argument("--verify", action="store_true", help="Compare with a fresh computation.")
        parser.add_argument(
            "--limit", type=int, default=100, help="List at most this many differences of each kind."
        )

    def handle(self, *args: Any, rebuild: bool, verify: bool, limit: int, **options: Any) -> None:
        if not (rebuild or verify):
            raise CommandError("Say --rebuild, --verify or both.")
        if rebuild:
            started = time.perf_counter()
            reach.rebuild()
            self.stdout.write(f"Rebuilt the network in {time.perf_counter() - started:.1f} s.")
            started = time.perf_counter()
            counted.rebuild()
            self.stdout.write(f"Rebuilt the counted figures in {time.perf_counter() - started:.1f} s.")
        if verify:
            started = time.perf_counter()
            found = reach.differences(limit=limit)
            for difference in found:
                self.stdout.write(str(difference))
            if found:
                raise CommandError(f"The network differs from its memberships ({len(found)} rows listed).")
            self.stdout.write(f"The network matches its memberships ({time.perf_counter() - started:.1f} s).")
            started = time.perf_counter()
            wrong = counted.differences(limit=limit)
            for wrong_row in wrong:
                self.stdout.write(str(wrong_row))
            if wrong:
                raise CommandError(
                    f"The counted figures differ from a fresh computation ({len(wrong)} rows listed)."
                )
            self.stdout.write(
                "The counted figures match the network and declarations "
                f"({time.perf_counter() - started:.1f} s)."
            )
