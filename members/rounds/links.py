"""The personal link of a round answer (to be written: issue 16)."""

from __future__ import annotations

from members.models import RoundAnswer


def answer_url(answer: RoundAnswer) -> str:
    """Return the path of the form the answer's contact opens, signed for that one answer."""
    raise NotImplementedError
