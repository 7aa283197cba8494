"""Figures and dates marked up with where they come from (members/sentences.py)."""

from datetime import date

from django import template
from django.utils.safestring import SafeString

from members import sentences

register = template.Library()


@register.simple_tag
def figure(value: int | str | None, provenance: str, field: str) -> SafeString:
    """`{% figure declaration.employment "declared" "employment" %}`: the number, or "not declared".

    A template gives "" for a field of a declaration that does not exist: not declared either.
    """
    return sentences.figure_html(value if isinstance(value, int) else None, provenance, field)


@register.filter
def time_tag(day: date | None) -> SafeString | str:
    """`{{ day|time_tag }}`: the date in the page's language inside a <time> element."""
    return "" if day is None else sentences.time_html(day)
