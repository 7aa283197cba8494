"""Template helpers shared by every public page."""

import datetime
from dataclasses import dataclass
from typing import Any

from django import template
from django.conf import settings
from django.core.paginator import Page
from django.http import HttpRequest, QueryDict
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
        path = _resolved_path(request)
        if path is None or request is None:
            return reverse("members:home")
    query = request.META.get("QUERY_STRING", "")
    return f"{path}?{iri_to_uri(query)}" if query else path


def _resolved_path(request: HttpRequest | None) -> str | None:
    """The path of the page the server resolved, rebuilt from its URL name and arguments; None if none was."""
    if request is None or request.resolver_match is None:
        return None
    match = request.resolver_match
    try:
        return reverse(match.view_name, args=match.args, kwargs=match.kwargs)
    except NoReverseMatch:
        return None


@register.simple_tag(takes_context=True)
def page_path(context: template.Context) -> str:
    """The address of the page, without its query, for a form that submits to it.

    Built like the switcher's links, never from the address as typed (an empty
    `action`, which meant the same, is invalid HTML).
    """
    return _resolved_path(context.get("request")) or reverse("members:home")


@register.filter
def date_input_value(value: object) -> str:
    """What an `<input type="date">` may hold: the value if it is an ISO day, otherwise nothing.

    HTML drops any other value from a date input, so echoing what a reader typed
    ("yesterday") shows them nothing and makes the page invalid; the form's
    error says what was wrong.
    """
    text = str(value or "")
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return ""
    return text if len(text) == 10 else ""


@dataclass(frozen=True)
class PageLink:
    """One entry of a paginator: a page's number and address, or a gap ("…") between numbers."""

    number: int | None
    href: str = ""
    current: bool = False

    @property
    def is_gap(self) -> bool:
        return self.number is None


@dataclass(frozen=True)
class PageLinks:
    first: str
    previous: str
    next: str
    last: str
    pages: list[PageLink]


# Pages named around the current one, and at each end, before a gap is shown.
PAGES_ON_EACH_SIDE = 2
PAGES_ON_ENDS = 1


@register.simple_tag(takes_context=True)
def page_links(context: template.Context, page: Page[Any], parameter: str = "page") -> PageLinks:
    """The links of a numbered paginator for `page`, each keeping the rest of the query string.

    `parameter` names the query parameter of the page number, for a page with more than one list.
    """
    request = context.get("request")
    query = request.GET.copy() if request is not None else QueryDict(mutable=True)

    def href(number: int | None) -> str:
        if number is None:
            return ""
        query[parameter] = str(number)
        return "?" + query.urlencode()

    paginator = page.paginator
    pages = [
        PageLink(None)
        if number == paginator.ELLIPSIS
        else PageLink(int(number), href(int(number)), number == page.number)
        for number in paginator.get_elided_page_range(
            page.number, on_each_side=PAGES_ON_EACH_SIDE, on_ends=PAGES_ON_ENDS
        )
    ]
    return PageLinks(
        first=href(1) if page.number > 1 else "",
        previous=href(page.previous_page_number()) if page.has_previous() else "",
        next=href(page.next_page_number()) if page.has_next() else "",
        last=href(paginator.num_pages) if page.number < paginator.num_pages else "",
        pages=pages,
    )


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
