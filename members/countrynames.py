"""Countries by the names people write: ISO codes, names in English, French and Spanish, variants.

The names come from maintained data: pycountry (ISO 3166's names, official
names and common names) and django-countries (the names the register shows,
in each of its languages). What neither holds — the everyday and former names
staff type ("UK", "Turkey", "Ivory Coast", "Macedonia", "DR Congo") — is the
small table VARIANTS below, and the names that stand for more than one country
("Congo", "Korea") are AMBIGUOUS: those are refused with the candidates, never
picked. A part in parentheses that is not a country is a region or state:
"India (Kerala)" and "Basque Country (Spain)" are India and Spain, with
Kerala and the Basque Country as their subdivision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

import pycountry
from django.utils import translation
from django.utils.translation import gettext as _
from django_countries import countries

from members.rules import fold

LANGUAGES = ("en", "fr", "es")

# Everyday, former and abbreviated names that the data sources do not hold.
VARIANTS = {
    "UK": "GB",
    "U.K.": "GB",
    "Great Britain": "GB",
    "Britain": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Northern Ireland": "GB",
    "Royaume-Uni": "GB",
    "Reino Unido": "GB",
    "USA": "US",
    "U.S.A.": "US",
    "US": "US",
    "U.S.": "US",
    "America": "US",
    "United States": "US",
    "États-Unis": "US",
    "Estados Unidos": "US",
    "EEUU": "US",
    "EE.UU.": "US",
    "Czech Republic": "CZ",
    "République tchèque": "CZ",
    "República Checa": "CZ",
    "Turkey": "TR",
    "Holland": "NL",
    "Pays-Bas": "NL",
    "Países Bajos": "NL",
    "Ivory Coast": "CI",
    "Macedonia": "MK",
    "Republic of Macedonia": "MK",
    "FYROM": "MK",
    "Macédoine": "MK",
    "DR Congo": "CD",
    "DRC": "CD",
    "D.R. Congo": "CD",
    "RD Congo": "CD",
    "RDC": "CD",
    "Congo-Kinshasa": "CD",
    "Zaire": "CD",
    "Congo-Brazzaville": "CG",
    "Republic of Congo": "CG",
    "South Korea": "KR",
    "North Korea": "KP",
    "Russia": "RU",
    "Swaziland": "SZ",
    "Burma": "MM",
    "Cape Verde": "CV",
    "East Timor": "TL",
    "Vatican": "VA",
    "Vietnam": "VN",
    "Laos": "LA",
    "Syria": "SY",
    "Iran": "IR",
    "Bolivia": "BO",
    "Venezuela": "VE",
    "Tanzania": "TZ",
    "Moldova": "MD",
    "Palestine": "PS",
    "Taiwan": "TW",
}
# Names that stand for more than one country: an error listing these, never a pick.
AMBIGUOUS = {
    "Congo": ("CG", "CD"),
    "Korea": ("KR", "KP"),
    "Corée": ("KR", "KP"),
    "Corea": ("KR", "KP"),
    "Virgin Islands": ("VG", "VI"),
    "Îles Vierges": ("VG", "VI"),
    "Islas Vírgenes": ("VG", "VI"),
}
_PARENTHESES = re.compile(r"^(?P<outer>[^()]+?)\s*\((?P<inner>[^()]+)\)$")


def key(name: str) -> str:
    """A name as look-ups compare it: folded, punctuation and a leading "the" dropped."""
    text = fold(name).replace("’", "'").replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text)
    words = text.split()
    if words[:1] in (["the"], ["la"], ["le"], ["les"], ["el"], ["los"], ["las"]) and len(words) > 1:
        words = words[1:]
    return " ".join(words)


def _inverted(name: str) -> str | None:
    # pycountry's "Congo, The Democratic Republic of the" → "The Democratic Republic of the Congo".
    if "," in name:
        head, _sep, tail = name.partition(",")
        return f"{tail.strip()} {head.strip()}"
    return None


@cache
def _index() -> dict[str, frozenset[str]]:
    """Every known name's key → the codes it stands for."""
    names: dict[str, set[str]] = {}

    def add(name: str | None, code: str) -> None:
        if name:
            names.setdefault(key(name), set()).add(code)
            inverted = _inverted(name)
            if inverted:
                names.setdefault(key(inverted), set()).add(code)

    valid = _iso_codes()
    for country in pycountry.countries:
        code = country.alpha_2
        if code not in valid:
            continue
        for attribute in ("name", "official_name", "common_name", "alpha_3"):
            add(getattr(country, attribute, None), code)
    for language in LANGUAGES:
        with translation.override(language):
            for code, name in countries:
                add(str(name), code)
    for name, code in VARIANTS.items():
        names[key(name)] = {code}
    for name, codes in AMBIGUOUS.items():
        names[key(name)] = set(codes)
    return {name: frozenset(codes) for name, codes in names.items()}


class UnknownCountry(ValueError):
    """No country has this name."""


class AmbiguousCountry(ValueError):
    """The name stands for more than one country; `candidates` are their codes."""

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


@dataclass(frozen=True)
class Place:
    """A country's ISO code and, when the text named one, a region or state within it."""

    country: str
    subdivision: str = ""


@cache
def _iso_codes() -> frozenset[str]:
    return frozenset(code for code, _name in countries)


def _codes(text: str) -> frozenset[str]:
    text = text.strip()
    if len(text) == 2 and text.isalpha() and text.upper() in _iso_codes():
        return frozenset({text.upper()})
    return _index().get(key(text), frozenset()) if key(text) else frozenset()


def _ambiguous(text: str, codes: frozenset[str]) -> AmbiguousCountry:
    candidates = sorted(codes)
    named = ", ".join(f"{countries.name(code)} ({code})" for code in candidates)
    return AmbiguousCountry(
        _("“%(value)s” may be any of these countries: %(candidates)s. Write the one meant.")
        % {"value": text, "candidates": named},
        candidates,
    )


@lru_cache(maxsize=4096)  # a sheet names the same countries again and again
def find_country(text: str) -> Place:
    """Return the country (and subdivision) a cell names; raise UnknownCountry or AmbiguousCountry."""
    text = " ".join(text.split())
    codes = _codes(text)
    if len(codes) == 1:
        return Place(next(iter(codes)))
    if codes:
        raise _ambiguous(text, codes)
    match = _PARENTHESES.match(text)
    if match:
        outer, inner = match["outer"].strip(), match["inner"].strip()
        outer_codes, inner_codes = _codes(outer), _codes(inner)
        if len(outer_codes) == 1 and not inner_codes:  # "India (Kerala)"
            return Place(next(iter(outer_codes)), inner)
        if len(inner_codes) == 1 and not outer_codes:  # "Basque Country (Spain)"
            return Place(next(iter(inner_codes)), outer)
        for part, part_codes in ((outer, outer_codes), (inner, inner_codes)):
            if len(part_codes) > 1:
                raise _ambiguous(part, part_codes)
    raise UnknownCountry(
        _(
            "Unknown country “%(value)s”: give its ISO code (BE) or its English, French or Spanish "
            "name; a region goes in parentheses after it (India (Kerala))."
        )
        % {"value": text}
    )
