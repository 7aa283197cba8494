"""schema.org `Organization` data for an organisation's and a federation's pages (JSON-LD).

Only what the register holds: the name, the acronym (`alternateName`), the
headquarters' country and city (`PostalAddress`), the year founded, the
website (`sameAs`), the page's own address (`url`), and each membership as
schema.org's Role pattern: `memberOf` holds an `OrganizationRole` whose own
`memberOf` is the federation, with `roleName` (the category) and the dates at
their precision (ISO 8601 reduced: "2017-05", "2017"). A start known only
"by" a source's day has no `startDate`: when it began is not known.

The data goes into the page as a `<script type="application/ld+json">` data
block, which the Content-Security-Policy does not govern (a browser never runs
it). Its text escapes `<`, `>` and `&` as JSON `\\u` escapes, as Django's
`json_script` does, so no name (`</script><script>…`) can end the block.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from members.dates import reduced_iso
from members.models import Membership, Organisation

JSONObject = dict[str, Any]

# What would let the text end the <script> element or open a comment in it.
_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def _entity(organisation: Organisation) -> JSONObject:
    """The organisation as a schema.org Organization: its identity and names."""
    # No @id: the pages' addresses carry the language, and one organisation is not three.
    entity: JSONObject = {"@type": "Organization", "name": organisation.name}
    if organisation.acronym and organisation.acronym != organisation.name:
        entity["alternateName"] = organisation.acronym
    return entity


def _role(membership: Membership, request: HttpRequest) -> JSONObject:
    federation = membership.federation
    role: JSONObject = {
        "@type": "OrganizationRole",
        "memberOf": {
            **_entity(federation),
            "url": request.build_absolute_uri(federation.get_absolute_url()),
        },
        "roleName": str(membership.get_category_display()),
    }
    if start := reduced_iso(membership.joined_on, membership.joined_precision):
        role["startDate"] = start
    if membership.left_on and (end := reduced_iso(membership.left_on, membership.left_precision)):
        role["endDate"] = end
    return role


def organisation_data(
    organisation: Organisation, memberships: Iterable[Membership], request: HttpRequest
) -> JSONObject:
    """The page's schema.org Organization: the organisation at the page's address, with its memberships."""
    data: JSONObject = {
        "@context": "https://schema.org",
        **_entity(organisation),
        "url": request.build_absolute_uri(request.path),
    }
    if organisation.country or organisation.city:
        address: JSONObject = {"@type": "PostalAddress"}
        if organisation.country:
            address["addressCountry"] = organisation.country.code
        if organisation.city:
            address["addressLocality"] = organisation.city
        data["address"] = address
    if organisation.founded:
        data["foundingDate"] = str(organisation.founded)
    if organisation.website:
        data["sameAs"] = organisation.website
    roles = [_role(m, request) for m in memberships]
    if roles:
        data["memberOf"] = roles
    return data


def script(data: JSONObject) -> SafeString:
    """The data as a JSON-LD block whose text cannot close the element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_ESCAPES)
    return format_html('<script type="application/ld+json">{}</script>', mark_safe(text))  # noqa: S308
