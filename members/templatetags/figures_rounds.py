"""The admin home's list of figures rounds: each with its answers waiting for review and its dashboard."""

from typing import Any

from django import template
from django.db.models import Count, Q, QuerySet

from members import permissions
from members.models import FiguresRound, RoundAnswer

register = template.Library()

# The rounds the home lists: the latest, which are the ones being answered or reviewed.
SHOWN = 5


@register.simple_tag(takes_context=True)
def figures_rounds(context: template.Context) -> QuerySet[FiguresRound] | list[Any]:
    """Return the latest rounds the user sees, each with `to_review` (answers waiting), in one query."""
    user = context["request"].user
    if not permissions.can_view_rounds(user):
        return []
    rounds = FiguresRound.objects.select_related("federation").annotate(
        to_review=Count("answers", filter=Q(answers__status=RoundAnswer.Status.ANSWERED))
    )
    federations = permissions.round_federation_ids(user)
    if federations is not None:
        rounds = rounds.filter(federation_id__in=federations)
    return rounds.order_by("-year", "-closes_on", "federation__name")[:SHOWN]
