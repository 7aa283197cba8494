"""The sentences that state a federation's figures, each from one source and one date.

A federation's own declaration (CECOP's of 21 June 2017: 27 members in 15
countries) and what the register computes from the records it holds (2
members, 75,000 people employed, today) are two facts with two sources and two
dates, so they are never put in one sentence as if they were one. A sentence
here is one of three kinds, its `provenance`:

- "declared": only figures of the federation's latest declaration, with its date;
- "computed": only figures the register computes, with the day they are computed for;
- "comparison": a declared and a computed figure set side by side, each named as such.

Every figure in a sentence's HTML is a `<data class="figure">` carrying its
value, its provenance and the field it comes from, and every date a `<time>`,
so the page says, to software as to readers, where each number comes from.
A figure that nobody declared is left out or said to be "not declared",
never written as 0.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.utils.formats import number_format
from django.utils.html import conditional_escape, format_html, strip_tags
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from members.dates import format_date
from members.models import DeclaredFigures, Organisation, Source
from members.stats import FederationFigures, federation_figures

MILLION = 1_000_000

DECLARED = "declared"
COMPUTED = "computed"
COMPARISON = "comparison"


@dataclass(frozen=True)
class Figure:
    """A number with where it comes from: declared by the federation, or computed by the register.

    `value` None: computed, and no organisation below the federation declared it.
    """

    value: int | None
    declared: bool
    date: date
    source: Source | None
    source_note: str
    field: str = ""


@dataclass(frozen=True)
class Sentence:
    """One sentence in the active language, whose figures all have the same provenance (or are compared)."""

    provenance: str
    html: SafeString

    @property
    def text(self) -> str:
        """The sentence as plain text."""
        return html.unescape(strip_tags(self.html))


@dataclass(frozen=True)
class Headline:
    """The headline's sentences (declared, then computed) and the four figures they state."""

    members: Figure
    countries: Figure
    enterprises: Figure
    employment: Figure
    sentences: list[Sentence] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The sentences as one plain text."""
        return " ".join(sentence.text for sentence in self.sentences)


def humanise_number(value: int) -> str:
    """Return a count as a reader expects it in the active language: "68,000", "4 million"."""
    if value >= MILLION:
        millions, plural = _millions(value)
        return ngettext("%(millions)s million", "%(millions)s million", plural) % {"millions": millions}
    return _grouped(value)


def _grouped(value: float) -> str:
    return number_format(value, force_grouping=True)


def _millions(value: int) -> tuple[str, int]:
    """Return (the number of millions to one decimal, localised; the count that picks the plural)."""
    millions = round(value / MILLION, 1)
    if millions == int(millions):
        return _grouped(int(millions)), int(millions)
    return number_format(millions, decimal_pos=1, force_grouping=True), math.ceil(millions)


def _fill(template: str, **values: str) -> SafeString:
    """Return the translated template with its placeholders filled; everything but SafeStrings escaped."""
    escaped = {name: conditional_escape(value) for name, value in values.items()}
    # Both the template and every value are escaped above, so the result is safe HTML.
    return mark_safe(conditional_escape(template) % escaped)  # noqa: S308


def number_html(value: int, provenance: str, field: str, shown: str | None = None) -> SafeString:
    return format_html(
        '<data class="figure" value="{}" data-provenance="{}" data-field="{}">{}</data>',
        value,
        provenance,
        field,
        shown if shown is not None else _grouped(value),
    )


def missing_html(provenance: str, field: str) -> SafeString:
    """Return "not declared" (declared column) or "not declared by any member" (computed), never 0."""
    words = gettext("not declared") if provenance == DECLARED else gettext("not declared by any member")
    return format_html(
        '<span class="not-declared" data-provenance="{}" data-field="{}">{}</span>', provenance, field, words
    )


def figure_html(value: int | None, provenance: str, field: str) -> SafeString:
    """Return the figure marked up with its provenance, or the words saying nobody declared it."""
    return missing_html(provenance, field) if value is None else number_html(value, provenance, field)


def time_html(day: date) -> SafeString:
    return format_html('<time datetime="{}">{}</time>', day.isoformat(), format_date(day))


# French and Spanish join a million to its noun ("4 millions de personnes",
# "4 millones de personas"), so the million forms are whole phrases for the
# translators rather than a number put before the noun.


def _counted(
    value: int,
    provenance: str,
    field: str,
    counted: Callable[[int], str],
    in_millions: Callable[[int], str] | None = None,
) -> SafeString:
    """Return "68,000 enterprises" or "4 million people employed" with its number marked up."""
    if in_millions is not None and value >= MILLION:
        millions, plural = _millions(value)
        return _fill(in_millions(plural), millions=number_html(value, provenance, field, millions))
    return _fill(counted(value), count=number_html(value, provenance, field))


def _members(value: int, provenance: str, field: str) -> SafeString:
    return _counted(value, provenance, field, lambda n: ngettext("%(count)s member", "%(count)s members", n))


def _countries(value: int, provenance: str, field: str = "countries") -> SafeString:
    return _counted(
        value, provenance, field, lambda n: ngettext("%(count)s country", "%(count)s countries", n)
    )


def _enterprises(value: int, provenance: str) -> SafeString:
    return _counted(
        value,
        provenance,
        "enterprises",
        lambda n: ngettext("%(count)s enterprise", "%(count)s enterprises", n),
        lambda n: ngettext("%(millions)s million enterprises", "%(millions)s million enterprises", n),
    )


def _employed(value: int, provenance: str) -> SafeString:
    return _counted(
        value,
        provenance,
        "employment",
        lambda n: ngettext("%(count)s person employed", "%(count)s people employed", n),
        lambda n: ngettext("%(millions)s million people employed", "%(millions)s million people employed", n),
    )


def _and(parts: list[SafeString]) -> SafeString:
    """Return "a, b and c" in the active language."""
    if len(parts) == 1:
        return parts[0]
    items = mark_safe(", ".join(parts[:-1]))  # noqa: S308 - joins SafeStrings only
    return _fill(gettext("%(items)s and %(last)s"), items=items, last=parts[-1])


def _declared_sentence(federation: Organisation, declaration: DeclaredFigures) -> Sentence | None:
    """Return the federation's declaration as a sentence with its date (None: it gives none of the four).

    A declaration of members and countries reads as the federation's own
    words do ("According to its declaration of 21 June 2017, CICOPA affiliates
    48 members in 32 countries, representing 68,000 enterprises which employ 4
    million people."); any other as a list of what it declared.
    """
    members, countries = declaration.member_organisations, declaration.countries
    enterprises, employment = declaration.enterprises, declaration.employment
    if members is not None and countries is not None:
        return Sentence(DECLARED, _affiliates(federation, declaration, members, countries))
    parts: list[SafeString] = []
    if members is not None:
        parts.append(_members(members, DECLARED, "member_organisations"))
    elif countries is not None:
        parts.append(
            _counted(
                countries,
                DECLARED,
                "countries",
                lambda n: ngettext("members in %(count)s country", "members in %(count)s countries", n),
            )
        )
    if enterprises is not None:
        parts.append(_enterprises(enterprises, DECLARED))
    if employment is not None:
        parts.append(_employed(employment, DECLARED))
    if not parts:
        return None
    text = _fill(
        gettext("On %(date)s, %(federation)s declared %(figures)s."),
        date=time_html(declaration.declared_on),
        federation=federation.short_name,
        figures=_and(parts),
    )
    return Sentence(DECLARED, text)


def _affiliates(
    federation: Organisation, declaration: DeclaredFigures, members: int, countries: int
) -> SafeString:
    enterprises, employment = declaration.enterprises, declaration.employment
    words = {
        "federation": federation.short_name,
        "members": _members(members, DECLARED, "member_organisations"),
        "countries": _countries(countries, DECLARED),
        "enterprises": "" if enterprises is None else _enterprises_phrase(enterprises),
        "employment": "" if employment is None else _people_phrase(employment),
    }
    # The verb agrees with what employs (the enterprises, or else the members).
    if enterprises is not None and employment is not None:
        template = ngettext(
            "%(federation)s affiliates %(members)s in %(countries)s, representing %(enterprises)s "
            "which employs %(employment)s.",
            "%(federation)s affiliates %(members)s in %(countries)s, representing %(enterprises)s "
            "which employ %(employment)s.",
            enterprises,
        )
    elif enterprises is not None:
        template = gettext(
            "%(federation)s affiliates %(members)s in %(countries)s, representing %(enterprises)s."
        )
    elif employment is not None:
        template = ngettext(
            "%(federation)s affiliates %(members)s in %(countries)s, which employs %(employment)s.",
            "%(federation)s affiliates %(members)s in %(countries)s, which employ %(employment)s.",
            members,
        )
    else:
        template = gettext("%(federation)s affiliates %(members)s in %(countries)s.")
    return _fill(
        gettext("According to its declaration of %(date)s, %(sentence)s"),
        date=time_html(declaration.declared_on),
        sentence=_fill(template, **words),
    )


def _enterprises_phrase(value: int) -> SafeString:
    return _counted(
        value,
        DECLARED,
        "enterprises",
        lambda n: ngettext("%(count)s enterprise", "%(count)s enterprises", n),
        lambda n: ngettext("%(millions)s million enterprises", "%(millions)s million enterprises", n),
    )


def _people_phrase(value: int) -> SafeString:
    return _counted(
        value,
        DECLARED,
        "employment",
        lambda n: ngettext("%(count)s person", "%(count)s people", n),
        lambda n: ngettext("%(millions)s million people", "%(millions)s million people", n),
    )


def _computed_sentence(federation: Organisation, figures: FederationFigures) -> Sentence:
    """Return what the register holds of the federation on the day, and the totals it computes that
    the federation did not declare: "On 1 December 2026 the register holds 2 members of CECOP in 2
    countries; from the declarations it holds, it computes 75,000 people employed."
    """
    day = time_html(figures.as_of)
    name = federation.short_name
    if not figures.members:
        return Sentence(
            COMPUTED,
            _fill(
                gettext("The register holds no membership of %(federation)s on %(date)s."),
                federation=name,
                date=day,
            ),
        )
    declaration = figures.declaration
    held = {
        "date": day,
        "federation": name,
        "members": _members(figures.members, COMPUTED, "members"),
        "countries": _countries(figures.countries, COMPUTED),
    }
    # The totals the federation declared itself are in the declared sentence; the register's are in its table.
    wanted = [
        name
        for name in ("enterprises", "employment")
        if declaration is None or getattr(declaration, name) is None
    ]
    parts: list[SafeString] = []
    if "enterprises" in wanted and figures.enterprises is not None:
        parts.append(_enterprises(figures.enterprises, COMPUTED))
    if "employment" in wanted and figures.employment is not None:
        parts.append(_employed(figures.employment, COMPUTED))
    if parts:
        template = gettext(
            "On %(date)s the register holds %(members)s of %(federation)s in %(countries)s; "
            "from the declarations it holds, it computes %(figures)s."
        )
        return Sentence(COMPUTED, _fill(template, figures=_and(parts), **held))
    if len(wanted) == 2:
        template = gettext(
            "On %(date)s the register holds %(members)s of %(federation)s in %(countries)s; "
            "no organisation among them has declared enterprises or employment."
        )
    else:
        template = gettext("On %(date)s the register holds %(members)s of %(federation)s in %(countries)s.")
    return Sentence(COMPUTED, _fill(template, **held))


def _figure(
    computed: int | None,
    declaration: DeclaredFigures | None,
    declared_field: str,
    computed_field: str,
    day: date,
) -> Figure:
    declared = getattr(declaration, declared_field) if declaration else None
    if declaration is not None and declared is not None:
        return Figure(
            declared,
            True,
            declaration.declared_on,
            declaration.source,
            declaration.source_note,
            declared_field,
        )
    return Figure(computed, False, day, None, "", computed_field)


def headline(
    federation: Organisation, as_of: date | None = None, figures: FederationFigures | None = None
) -> Headline:
    """Return the headline in the active language: the declared sentence, then the computed one.

    Four queries, none when `figures` is given.

    Each of the four figures is the federation's own latest declaration on or
    before the day where it gives one, and the register's computed figure
    otherwise. Pass the federation's `figures` (from figures_for_federations)
    to build the sentences without a query, as the home page does for every federation.
    """
    if figures is None:
        figures = federation_figures(federation, as_of)
    declaration = figures.declaration
    sentences = []
    if declaration is not None and (declared := _declared_sentence(federation, declaration)):
        sentences.append(declared)
    sentences.append(_computed_sentence(federation, figures))
    return Headline(
        members=_figure(figures.members, declaration, "member_organisations", "members", figures.as_of),
        countries=_figure(figures.countries, declaration, "countries", "countries", figures.as_of),
        enterprises=_figure(figures.enterprises, declaration, "enterprises", "enterprises", figures.as_of),
        employment=_figure(figures.employment, declaration, "employment", "employment", figures.as_of),
        sentences=sentences,
    )


def coverage(figures: FederationFigures) -> list[Sentence]:
    """Return the sentences under the declared/computed table: how much of the federation the register holds.

    "The register holds 4 of the 48 members CICOPA declares; its totals cover
    only those." and how many of those members declared enterprises or employment.
    None when the register holds no member on the day (the headline says so).
    """
    held, covered = figures.members, figures.covered_members
    if not held:
        return []
    name = figures.federation.short_name
    declared = figures.declaration.member_organisations if figures.declaration else None
    sentences = []
    if declared is None:
        template = ngettext(
            "%(federation)s has declared no number of members; the register’s totals cover the "
            "%(held)s member it holds.",
            "%(federation)s has declared no number of members; the register’s totals cover the "
            "%(held)s members it holds.",
            held,
        )
        sentences.append(
            Sentence(COMPUTED, _fill(template, federation=name, held=number_html(held, COMPUTED, "members")))
        )
    else:
        if held <= declared:
            template = ngettext(
                "The register holds %(held)s of the %(declared)s member %(federation)s declares; "
                "its totals cover only those.",
                "The register holds %(held)s of the %(declared)s members %(federation)s declares; "
                "its totals cover only those.",
                declared,
            )
        else:
            template = ngettext(
                "The register holds %(held)s member of %(federation)s, which declares %(declared)s; "
                "its totals cover the one the register holds.",
                "The register holds %(held)s members of %(federation)s, which declares %(declared)s; "
                "its totals cover those the register holds.",
                held,
            )
        text = _fill(
            template,
            federation=name,
            held=number_html(held, COMPUTED, "members"),
            declared=number_html(declared, DECLARED, "member_organisations"),
        )
        sentences.append(Sentence(COMPARISON, text))
    counted = {
        "count": number_html(held, COMPUTED, "members"),
        "covered": number_html(covered, COMPUTED, "covered_members"),
    }
    if covered == 0:
        template = ngettext(
            "Its %(count)s member in the register has declared neither enterprises nor employment.",
            "None of its %(count)s members in the register has declared enterprises or employment.",
            held,
        )
        counted.pop("covered")
    elif covered == held:
        template = ngettext(
            "Its %(count)s member in the register has declared enterprises or employment.",
            "All %(count)s of its members in the register have declared enterprises or employment.",
            held,
        )
        counted.pop("covered")
    else:
        template = ngettext(
            "%(covered)s of its %(count)s members in the register has declared enterprises or employment.",
            "%(covered)s of its %(count)s members in the register have declared enterprises or employment.",
            covered,
        )
    sentences.append(Sentence(COMPUTED, _fill(template, **counted)))
    return sentences
