"""Admission rules where the work happens: the warning on saving, and the fix each user may make.

A membership that breaks an admission rule ("CECOP admits only CICOPA
members") is saved all the same: the rule says what a member must also be,
and the missing membership may simply not be recorded yet. The save is
followed by a warning that offers the missing membership pre-filled (the
member, the federation the rule requires, the same start and precision): to
add it, for whoever may; to ask the secretariat to add it (a
MembershipRequest), for an editor whose scope it is not. The breaches are
members/stats.py's `admission_breaches`, the same the Checks page lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from members import permissions
from members.dates import format_at_precision
from members.models import Membership, MembershipRequest
from members.permissions import AnyUser
from members.stats import Breach, admission_breaches


@dataclass(frozen=True)
class Fix:
    """A link that mends a breach: the address and what it says."""

    url: str
    label: str


def missing_membership(breach: Breach) -> dict[str, str]:
    """The missing membership's fields, as the add forms take them from their address."""
    params = {
        "member": str(breach.organisation.pk),
        "federation": str(breach.rule.requires_id),
        "category": Membership.Category.FULL,
    }
    if breach.membership is not None:
        params["joined_on"] = breach.membership.joined_on.isoformat()
        params["joined_precision"] = breach.membership.joined_precision
    return params


def _note(breach: Breach) -> str:
    words = {
        "member": breach.organisation.short_name,
        "federation": breach.rule.federation.short_name,
        "required": breach.rule.requires.short_name,
        "rule": breach.rule.description or str(breach.rule),
    }
    if breach.membership is None:
        return _("%(member)s is a member of %(federation)s but not of %(required)s. %(rule)s") % words
    words["day"] = format_at_precision(breach.membership.joined_on, breach.membership.joined_precision)
    text = _("%(member)s is a member of %(federation)s from %(day)s but not of %(required)s. %(rule)s")
    return text % words


def fix_for(user: AnyUser, breach: Breach) -> Fix | None:
    """The missing membership pre-filled: to add it, or to ask the secretariat to (None: neither allowed)."""
    params = missing_membership(breach)
    if permissions.can_add_membership_of(user, breach.rule.requires_id):
        url = f"{reverse('admin:members_membership_add')}?{urlencode(params)}"
        return Fix(url, _("Add the missing membership"))
    if permissions.can_request_membership(user):
        query = urlencode({**params, "note": _note(breach)})
        url = f"{reverse('admin:members_membershiprequest_add')}?{query}"
        return Fix(url, _("Ask the secretariat to add it"))
    return None


def breaches_made_by(membership: Membership) -> list[Breach]:
    """The rules this membership breaks on the day it starts (none for a regional organisation's link)."""
    if membership.category == Membership.Category.REGIONAL:
        return []
    return [
        breach
        for breach in admission_breaches(membership.joined_on, member=membership.member)
        if breach.membership is not None and breach.membership.pk == membership.pk
    ]


def breaches_left_by(membership: Membership) -> list[Breach]:
    """The rules broken on the day this membership ends, by memberships that require it."""
    if membership.left_on is None:
        return []
    return [
        breach
        for breach in admission_breaches(membership.left_on, member=membership.member)
        if breach.rule.requires_id == membership.federation_id
    ]


def warn_of_breaches(request: HttpRequest, memberships: Iterable[Membership]) -> None:
    """After a save: one warning per rule the saved memberships break, each with its fix."""
    for membership in memberships:
        for breach in breaches_made_by(membership):
            fix = fix_for(request.user, breach)
            text = _("Saved, but it breaks an admission rule: %(note)s") % {"note": _note(breach)}
            if fix is None:
                messages.warning(request, text)
            else:
                messages.warning(request, format_html('{} <a href="{}">{}</a>', text, fix.url, fix.label))
        day = membership.left_on
        if day is None:
            continue
        for breach in breaches_left_by(membership):
            query = urlencode({"as_of": day.isoformat()})
            checks = f"{reverse('admin:members_organisation_consistency')}?{query}"
            text = _(
                "Saved, but from %(day)s %(member)s is still a member of %(federation)s without being one "
                "of %(required)s. %(rule)s"
            ) % {
                "day": format_at_precision(day, membership.left_precision),
                "member": breach.organisation.short_name,
                "federation": breach.rule.federation.short_name,
                "required": breach.rule.requires.short_name,
                "rule": breach.rule.description or str(breach.rule),
            }
            link = _("See the checks of that day")
            messages.warning(request, format_html('{} <a href="{}">{}</a>', text, checks, link))


def close_requests_met(request: HttpRequest, memberships: Iterable[Membership]) -> None:
    """Mark done the open requests these saved memberships answer: same member and federation, from then."""
    closed = 0
    for membership in memberships:
        covered = Q(joined_on__gte=membership.joined_on)
        if membership.left_on is not None:
            covered &= Q(joined_on__lt=membership.left_on)
        closed += MembershipRequest.objects.filter(
            covered,
            status=MembershipRequest.Status.OPEN,
            member_id=membership.member_id,
            federation_id=membership.federation_id,
        ).update(
            status=MembershipRequest.Status.DONE,
            membership=membership,
            handled_by=request.user if request.user.is_authenticated else None,
        )
    if closed:
        messages.info(request, _("The membership asked for is recorded: its request is marked done."))
