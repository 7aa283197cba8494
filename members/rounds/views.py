"""The member's side of the round: the form a contact opens through their personal link.

No sign-in: the signed link is the key (members/rounds/links.py), and every
request checks it again, so a form left open past the close, or after a new
link was sent, saves nothing. The page is never cached (neither by the
public page cache, which it does not go through, nor by a browser or proxy),
is kept out of search engines, sends the link in no Referer to another site, and shows
no contact data: only the organisation's name, the figures and what the
member typed.
"""

from __future__ import annotations

from django.db import router, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from members.models import DeclaredFigures, RoundAnswer
from members.rounds.forms import ANSWERED_FIELDS, AnswerForm
from members.rounds.links import LinkCheck, Refusal, check_token
from members.rounds.mail import send_receipt

Status = RoundAnswer.Status


def _private(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow"
    # The address is the member's key: no link on the page hands it to another site. Not
    # "no-referrer": browsers then send the form's POST with "Origin: null", which CSRF refuses.
    response["Referrer-Policy"] = "same-origin"
    return response


def last_declaration(answer: RoundAnswer) -> DeclaredFigures | None:
    """Return the organisation's latest declared figures for a year before the round's."""
    return (
        DeclaredFigures.objects.filter(organisation_id=answer.organisation_id, year__lt=answer.round.year)
        .select_related("source")
        .order_by("-year", "-declared_on")
        .first()
    )


def refused(request: HttpRequest, check: LinkCheck) -> HttpResponse:
    """The page of a link that opens no form: why, and whom to write to; nothing of the organisation."""
    refusal = check.refusal or Refusal.INVALID
    answer = check.answer
    context = {
        "refusal": refusal.value,
        "federation": answer.round.federation.short_name if answer else "",
        "closes_on": answer.round.closes_on if answer else None,
    }
    return _private(render(request, "rounds/refused.html", context, status=refusal.status))


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def answer_form(request: HttpRequest, token: str) -> HttpResponse:
    """The form of the one answer the signed link opens: show it, or save the member's figures."""
    check = check_token(token)
    if check.refusal is not None or check.answer is None:
        return refused(request, check)
    answer = check.answer
    form = AnswerForm(request.POST or None, instance=answer)
    if request.method == "POST" and form.is_valid():
        saved = _save(form, answer.link_key)
        if saved is not None:
            send_receipt(saved)
            # See the page again as it now is, so reloading it sends nothing twice.
            return redirect("members:round-answer", token=token)
        # Approved, or a new link sent, while the member was typing.
        return refused(request, check_token(token))
    context = {
        "answer": answer,
        "figures_round": answer.round,
        "federation": answer.round.federation,
        "organisation": answer.organisation,
        "previous": last_declaration(answer),
        "form": form,
        "answered_on": timezone.localdate(answer.answered_at) if answer.answered_at else None,
    }
    status = 400 if form.is_bound else 200
    return _private(render(request, "rounds/answer.html", context, status=status))


def _save(form: AnswerForm, link_key: str) -> RoundAnswer | None:
    """Save the member's answer unless it was approved or its link replaced meanwhile; None then."""
    answer = form.instance
    with transaction.atomic(using=router.db_for_write(RoundAnswer)):
        stored = (
            RoundAnswer.objects.select_for_update()
            .filter(pk=answer.pk)
            .values_list("status", "link_key")
            .first()
        )
        if stored is None or stored[0] == Status.APPROVED or stored[1] != link_key:
            return None
        answer.status = Status.ANSWERED
        answer.answered_at = timezone.now()
        answer.answer_language = translation.get_language() or ""
        # Only what the member answers: what staff changed meanwhile (a review, the contact) stays.
        answer.save(
            update_fields=[*ANSWERED_FIELDS, "status", "answered_at", "answer_language", "updated_at"]
        )
    return answer
