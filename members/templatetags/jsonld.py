"""`{% organisation_jsonld organisation %}`: the page's schema.org data (members/jsonld.py)."""

from django import template
from django.utils.safestring import SafeString

from members import jsonld
from members.models import Organisation

register = template.Library()


@register.simple_tag(takes_context=True)
def organisation_jsonld(context: template.Context, organisation: Organisation) -> SafeString:
    """The organisation's JSON-LD block, with its memberships as the page's query prefetched them."""
    return jsonld.script(
        jsonld.organisation_data(organisation, organisation.memberships.all(), context["request"])
    )
