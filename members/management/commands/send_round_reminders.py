"""Queue the figures rounds' reminders that are due, and invitations that never left: for cron.

Run it as often as you like (hourly, daily): a reminder goes to a contact who
has not answered an open round and has had no invitation or reminder for the
round's "remind every (days)"; rounds without it are reminded only on demand.
A second run sends nothing more. The task workers (`manage.py db_worker`)
send the e-mails.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from members.rounds.opening import send_scheduled_mail


class Command(BaseCommand):
    help = "Queue the figures rounds' reminders that are due, and invitations never sent (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        scheduled = send_scheduled_mail()
        queued = f"Reminders queued: {scheduled.reminders}; invitations queued: {scheduled.invitations}."
        self.stdout.write(queued)
