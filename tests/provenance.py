"""The rule "no sentence presents a declared and a computed figure as one fact", as a page check.

Used on the HTML the test client gets and on the DOM Chromium renders
(tests/browser). A page passes when:

- every sentence that states figures (`.figure-sentence`) names its provenance
  ("declared", "computed", or "comparison" for a sentence that sets a declared
  and a computed figure side by side, each named as such);
- every digit in such a sentence, outside a date (`<time>`), a cited source
  (`<cite>`) or a quotation from it (`<q>`), is inside a marked figure
  (`<data class="figure">` or `.not-declared`);
- every marked figure has the provenance of its sentence (a comparison holds
  both kinds);
- each headline sentence names its date;
- each marked figure's value is what the database holds for it: the
  federation's latest declaration on the day for a declared one, the
  register's computation for a computed one (members and countries counted
  here from the memberships, independently of members/stats.py), and "not
  declared" exactly where the value is missing.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from bs4 import BeautifulSoup, NavigableString, Tag

from members import stats
from members.models import DeclaredFigures, Membership, Organisation

KINDS = {"declared", "computed", "comparison"}
EXEMPT = {"time", "cite", "q"}
DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class MarkedFigure:
    federation: str
    provenance: str
    field: str
    value: int | None  # None: marked "not declared"


def _exempt(node: NavigableString, sentence: Tag) -> bool:
    for parent in node.parents:
        if parent is sentence:
            return False
        if (
            parent.name in EXEMPT
            or "figure" in parent.get("class", [])
            or "not-declared" in parent.get("class", [])
        ):
            return True
    return False


def _marked(element: Tag, federation: str) -> MarkedFigure:
    value = element.get("value")
    return MarkedFigure(
        federation, element["data-provenance"], element["data-field"], None if value is None else int(value)
    )


def check_sentences(html: str) -> tuple[list[str], list[MarkedFigure]]:
    """Return (problems, the marked figures of the page's sentences and figures table)."""
    main = BeautifulSoup(html, "html.parser").find("main")
    problems: list[str] = []
    figures: list[MarkedFigure] = []
    for sentence in main.select(".figure-sentence"):
        kind = sentence.get("data-provenance")
        federation = sentence.get("data-federation", "")
        text = " ".join(sentence.get_text().split())
        if kind not in KINDS:
            problems.append(f"no provenance: {text!r}")
            continue
        for node in sentence.find_all(string=True):
            if DIGIT.search(node) and not _exempt(node, sentence):
                problems.append(f"unmarked number {node.strip()!r} in {text!r}")
        marked = [_marked(e, federation) for e in sentence.select("data.figure, .not-declared")]
        kinds = {m.provenance for m in marked}
        if kind == "comparison":
            if kinds != {"declared", "computed"}:
                problems.append(f"a comparison that compares nothing: {text!r}")
        elif kinds - {kind}:
            problems.append(f"{kind} sentence holding {sorted(kinds - {kind})} figures: {text!r}")
        if sentence.find_parent(class_="headline") is not None and sentence.find("time") is None:
            problems.append(f"headline sentence without its date: {text!r}")
        figures.extend(marked)
    table = main.select_one("table.figures")
    if table is not None:
        federation = main.select_one(".figure-sentence")["data-federation"]
        figures.extend(_marked(e, federation) for e in table.select("data.figure, .not-declared"))
    return problems, figures


def held_members(slug: str, day: datetime.date) -> set[int]:
    """The counted members of the federation on the day, straight from the memberships."""
    memberships = Membership.objects.filter(federation__slug=slug).current_on(day).counted()
    return set(memberships.values_list("member_id", flat=True))


def expected(figure: MarkedFigure, day: datetime.date) -> int | None:
    """What the database holds for the figure on the day."""
    if figure.provenance == "declared":
        declaration = (
            DeclaredFigures.objects.filter(organisation__slug=figure.federation, declared_on__lte=day)
            .order_by("-declared_on")
            .first()
        )
        return None if declaration is None else getattr(declaration, figure.field)
    members = held_members(figure.federation, day)
    if figure.field == "members":
        return len(members)
    if figure.field == "countries":
        codes = (
            Organisation.objects.filter(pk__in=members).exclude(country="").values_list("country", flat=True)
        )
        return len(set(codes))
    computed = stats.federation_figures(Organisation.objects.get(slug=figure.federation), day)
    return getattr(computed, figure.field)


def check_page(html: str, day: datetime.date, *, figures_expected: bool = True) -> list[str]:
    """Return every breach of the provenance rule on the page, with the figures the database contradicts."""
    problems, figures = check_sentences(html)
    if figures_expected and not figures:
        problems.append("no marked figure at all")
    for figure in figures:
        if (wanted := expected(figure, day)) != figure.value:
            problems.append(f"{figure} but the database holds {wanted}")
    return problems
