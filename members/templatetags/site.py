"""Template helpers shared by every public page."""

import datetime

from django import template
from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.encoding import iri_to_uri
from django.utils.html import format_html
from django.utils.translation import get_language, get_language_info

from members.dates import format_date

register = template.Library()


@register.simple_tag(takes_context=True)
def language_choices(context: template.Context) -> list[dict[str, str | bool]]:
    """Return each language with the address of the current page in it, for the switcher."""
    request = context.get("request")
    current = get_language()
    return [
        {
            "code": code,
            "name": get_language_info(code)["name_local"],
            "next": _page_in(request, code),
            "current": code == current,
        }
        for code, _name in settings.LANGUAGES
    ]


def _page_in(request: HttpRequest | None, language: str) -> str:
    """The address of the page the server resolved, in `language`; its home page if none was.

    Built from the URL's name and arguments, never from the address as it came:
    a request for "//evil.example/en/" or "/\\evil.example/en/" would otherwise
    be given links a browser reads as another site's.
    """
    with translation.override(language):
        home = reverse("members:home")
        if request is None or request.resolver_match is None:
            return home
        match = request.resolver_match
        try:
            path = reverse(match.view_name, args=match.args, kwargs=match.kwargs)
        except NoReverseMatch:
            return home
    query = request.META.get("QUERY_STRING", "")
    return f"{path}?{iri_to_uri(query)}" if query else path


@register.filter(name="lang")
def lang_attribute(language: str | None) -> str:
    """Return ` lang="xx"` for words in a known language other than the page's, else nothing.

    `<a href="…"{{ organisation.name_language|lang }}>`: a name, a quote or a
    sector whose language the register was told; unknown (blank) gives no
    attribute, so nothing claims a language the register does not know.
    """
    if not language:
        return ""
    page = (get_language() or settings.LANGUAGE_CODE).lower()
    code = language.lower()
    if code == page or (code.split("-")[0] == page.split("-")[0] and "-" not in code):
        return ""
    return format_html(' lang="{}"', language)


@register.filter
def long_date(value: datetime.date | None) -> str:
    """Return the day as the page's language writes it in full: "21 June 2017", "1er décembre 2026"."""
    if not isinstance(value, datetime.date):
        return "" if value is None else str(value)
    return format_date(value)
