"""The personal link of a round answer, and reading one back.

A link is /<lang>/round/<token>/, where the token is `<answer id>.<link key>`
signed by Django's TimestampSigner with a salt of its own (no other signed
value of the site can pass for one): `12.Xy…Q.1tAbCd.sIgNaTuRe`. It opens one
answer's form, so one organisation's, and only while:

- the signature holds: any change to the id, the key, the time or the
  signature, and one organisation's token given another's id, is refused as
  not valid (403);
- the answer's `link_key` is still the one signed: giving the contact a new
  link (`reissue_link`, when staff change the contact or send a new link)
  changes the key, and every earlier link is superseded (410);
- the round has not closed: a link works until the end of the round's
  closing day in the register's time zone (settings.TIME_ZONE), so moving the
  closing day moves every link's end without sending new ones (410 after);
- the answer is not approved: an approved answer is no longer a form (410).

Whatever the closing day says, no link lives longer than LINK_MAX_AGE from
the moment it was made (the signature's timestamp): a round runs for weeks,
so a link found in an old mailbox years later opens nothing, even if staff
set a far closing day.
"""

from __future__ import annotations

import datetime
import enum
import re
import secrets
from dataclasses import dataclass

from django.core import signing
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare

from members.models import RoundAnswer

SALT = "members.rounds.answer-link"
# Not in a link key (URL-safe base64: letters, digits, - and _) nor in an id.
SEPARATOR = "."
# Longer than any round runs: a link is for one year's figures.
LINK_MAX_AGE = datetime.timedelta(days=366)


def new_link_key() -> str:
    """Return a fresh random link key (32 characters, 192 bits)."""
    return secrets.token_urlsafe(24)


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT, sep=SEPARATOR)


def make_token(answer: RoundAnswer) -> str:
    """Return the signed token of the answer's current link."""
    return _signer().sign(f"{answer.pk}{SEPARATOR}{answer.link_key}")


def answer_url(answer: RoundAnswer, language: str | None = None) -> str:
    """Return the path of the form the answer's contact opens, signed for that one answer.

    In the contact's language (the URL's prefix), or `language` when given; the
    site's default language when the answer has no contact.
    """
    if language is None:
        language = answer.contact.language if answer.contact else None
    with translation.override(language or translation.get_language()):
        return reverse("members:round-answer", kwargs={"token": make_token(answer)})


def reissue_link(answer: RoundAnswer) -> None:
    """Give the answer a new link key, so that every link sent before is refused (saves the answer)."""
    answer.link_key = new_link_key()
    answer.save(update_fields=["link_key", "updated_at"])


def closes_at(answer: RoundAnswer) -> datetime.datetime:
    """Return the moment the answer's link stops working: the end of its round's closing day."""
    day_after = answer.round.closes_on + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day_after, datetime.time.min))


class Refusal(enum.Enum):
    """Why a link opens no form; each has its own page (templates/rounds/refused.html)."""

    INVALID = "invalid"  # not a link the register made, or altered: 403
    SUPERSEDED = "superseded"  # a newer link was sent: 410
    CLOSED = "closed"  # the round has closed: 410
    APPROVED = "approved"  # the answer was approved: 410

    @property
    def status(self) -> int:
        return 403 if self is Refusal.INVALID else 410


@dataclass(frozen=True)
class LinkCheck:
    """What a link opens: the answer, or why it opens nothing (with the answer when it is known)."""

    answer: RoundAnswer | None
    refusal: Refusal | None = None


def check_token(token: str, now: datetime.datetime | None = None) -> LinkCheck:
    """Return the answer the token opens, or why it opens none."""
    now = now or timezone.now()
    try:
        value = _signer().unsign(token)
    except signing.BadSignature:
        return LinkCheck(None, Refusal.INVALID)
    # The signature holds, so the timestamp is the register's own.
    signed_at = datetime.datetime.fromtimestamp(
        signing.b62_decode(token.rsplit(SEPARATOR, 2)[-2]), tz=datetime.UTC
    )
    answer_id, _sep, link_key = value.partition(SEPARATOR)
    if not re.fullmatch(r"[0-9]{1,18}", answer_id):
        return LinkCheck(None, Refusal.INVALID)
    answer = (
        RoundAnswer.objects.select_related("round__federation", "organisation", "contact")
        .filter(pk=int(answer_id))
        .first()
    )
    if answer is None:
        # Signed by the register, for an answer since removed (its round was deleted).
        return LinkCheck(None, Refusal.SUPERSEDED)
    if not constant_time_compare(link_key, answer.link_key):
        return LinkCheck(answer, Refusal.SUPERSEDED)
    if answer.status == RoundAnswer.Status.APPROVED:
        return LinkCheck(answer, Refusal.APPROVED)
    if now >= closes_at(answer) or now - signed_at > LINK_MAX_AGE:
        return LinkCheck(answer, Refusal.CLOSED)
    return LinkCheck(answer)
