"""The admin home's checks: how many admission-rule breaches today, how many requests wait."""

from typing import Any

from django import template

from members import cache, permissions
from members.models import MembershipRequest

register = template.Library()


@register.simple_tag(takes_context=True)
def register_checks(context: template.Context) -> dict[str, Any]:
    """Return today's breach count (cached per register version) and, for the secretariat, the open requests.

    At most two queries, none when the count is cached: the breaches' one
    query (members/stats.py) and an indexed count of the open requests.
    """
    request = context["request"]
    checks: dict[str, Any] = {"breaches": cache.admission_breach_count()}
    if permissions.can_handle_membership_requests(request.user):
        checks["requests"] = MembershipRequest.objects.filter(status=MembershipRequest.Status.OPEN).count()
    elif permissions.can_request_membership(request.user):
        checks["own_requests"] = MembershipRequest.objects.filter(
            status=MembershipRequest.Status.OPEN, requested_by_id=request.user.pk
        ).count()
    return checks
