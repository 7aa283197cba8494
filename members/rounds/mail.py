"""The round's e-mails (to be written: issue 16)."""

from __future__ import annotations

from members.models import RoundAnswer


def send_returned(answer: RoundAnswer) -> None:
    """Enqueue the e-mail telling the answer's contact it was returned, with the reviewer's message."""
    raise NotImplementedError
