"""Template helpers shared by every public page."""

from django import template
from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.encoding import iri_to_uri
from django.utils.translation import get_language, get_language_info

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
