"""What a file's names stand for: organisations by slug, name or acronym; sources by address or title.

Identities finds the organisation a row describes. A row with a slug is that
organisation; without one, an organisation of the register or of the file
with the same name or acronym (folded as members/rules.py's `fold` folds) in
the same country is the same one; otherwise the row describes a new
organisation whose slug is made from its acronym or name, in ASCII, unique
against the register and the file. A new one whose name is like an existing
organisation's (the same name in another country, or the same letters and
digits once spaces and punctuation are dropped) is named so that the
preview warns of it: never a silent duplicate. A federation is found by slug,
acronym or name the same way.

SourceBook finds the source a row cites, by address (or title), or plans it.
Each loads what it needs in a few batched queries, whatever the file's size.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Func, Q, Value
from django.db.models.functions import Replace

from members.batches import batched
from members.csv_io.columns import ORGANISATION_COLUMNS, folded, make_slug
from members.models import Organisation, Source
from members.rules import Folded

# How many numbered slugs ("coop-2" … ) are tried for a name whose slug is taken.
SLUG_SUFFIXES = 20
# What a near-identical name may differ by: these characters, once folded ("Co-op A." ~ "coop a").
SQUASHED = (" ", "-", ".", ",", "'", "’", "&", "(", ")", "/", "_")


def _squashed(name: str) -> str:
    text = folded(name)
    for character in SQUASHED:
        text = text.replace(character, "")
    return text


def _squashed_sql(field: str) -> Func:
    expression: Func = Folded(field)
    for character in SQUASHED:
        expression = Replace(expression, Value(character), Value(""))
    return expression


class Identities:
    """The organisations of the register and of the file, by slug, folded name and folded acronym."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.by_slug: dict[str, dict[str, Any]] = {}  # the register's, loaded for the file
        self._by_name: dict[str, list[dict[str, Any]]] = {}
        self._by_acronym: dict[str, list[dict[str, Any]]] = {}
        self._by_squashed: dict[str, list[dict[str, Any]]] = {}
        # The file's organisations, as rows describe them: slug -> values, and by folded name / acronym.
        self._file: dict[str, dict[str, Any]] = {}
        self._file_names: dict[str, list[str]] = {}
        self._file_acronyms: dict[str, list[str]] = {}
        self._taken: set[str] = set()

    def load(self, rows: list[Any]) -> None:
        """Load the register's organisations the rows may name (by slug, name or acronym), in batches."""
        slugs, names, squashed = set(), set(), set()
        for row in rows:
            values = row.values
            if values.get("slug"):
                slugs.add(values["slug"])
            for key in ("name", "acronym", "federation"):
                if values.get(key):
                    names.add(folded(values[key]))
            if values.get("name"):
                squashed.add(_squashed(values["name"]))
            if values.get("federation"):
                slugs.add(values["federation"])
        fields = ["id", *(c.field for c in ORGANISATION_COLUMNS)]
        stored = Organisation.objects.using(self.database).annotate(
            folded_name=Folded("name"), folded_acronym=Folded("acronym"), squashed_name=_squashed_sql("name")
        )
        keys = sorted(slugs | names | squashed)
        # The folded names cannot be looked up in an index: each query folds every organisation of
        # the register, so as few queries as the database takes (one on PostgreSQL).
        for batch in batched(keys, self.database, per_item=4, largest=max(len(keys), 1)):
            query = (
                Q(slug__in=batch)
                | Q(folded_name__in=batch)
                | Q(folded_acronym__in=batch)
                | Q(squashed_name__in=batch)
            )
            for values in stored.filter(query).values(*fields):
                self._add(values)

    def _add(self, values: dict[str, Any]) -> None:
        if values["slug"] in self.by_slug:
            return
        values["countries_of_operation"] = [c for c in values["countries_of_operation"].split(",") if c]
        self.by_slug[values["slug"]] = values
        self._taken.add(values["slug"])
        self._by_name.setdefault(folded(values["name"]), []).append(values)
        self._by_squashed.setdefault(_squashed(values["name"]), []).append(values)
        if values["acronym"]:
            self._by_acronym.setdefault(folded(values["acronym"]), []).append(values)

    def remember(self, values: dict[str, Any], slug: str) -> None:
        """Note that the file describes the organisation `slug` with these values."""
        if slug in self._file:
            return
        self._file[slug] = values
        self._taken.add(slug)
        self._file_names.setdefault(folded(values["name"]), []).append(slug)
        if values.get("acronym"):
            self._file_acronyms.setdefault(folded(values["acronym"]), []).append(slug)

    @staticmethod
    def _same_place(country: str | None, candidate: str | None) -> bool:
        return not country or not candidate or country == candidate

    def find(self, values: dict[str, Any]) -> str | list[str] | None:
        """The slug of the organisation these values describe; the slugs if several could be; None if new."""
        country = values.get("country")
        name = folded(values["name"])
        acronym = folded(values["acronym"]) if values.get("acronym") else ""
        # The file first: a second row of the same organisation (in another federation, say).
        in_file = [
            slug
            for slug in self._file_names.get(name, [])
            if self._same_place(country, self._file[slug].get("country"))
        ]
        if in_file:
            return in_file[0]
        for table, key in ((self._by_name, name), (self._by_acronym, acronym)):
            if not key:
                continue
            candidates = [v["slug"] for v in table.get(key, []) if self._same_place(country, v["country"])]
            if len(candidates) == 1:
                self.remember(values, candidates[0])
                return candidates[0]
            if candidates:
                return sorted(candidates)
        return None

    def reserve_slugs(self, rows: list[Any]) -> None:
        """Load which of the slugs that new rows would take are already the register's (batched).

        First the slugs of their acronyms and names; then, for those taken, the numbered ones.
        """
        wanted: set[str] = set()
        for row in rows:
            wanted |= {make_slug(row.values.get("acronym") or ""), make_slug(row.values["name"])}
        wanted.discard("")
        taken = self._stored_slugs(wanted - self._taken)
        bases = taken | (wanted & self._taken)
        numbered = {f"{base}-{n}" for base in bases for n in range(2, SLUG_SUFFIXES + 2)}
        self._stored_slugs(numbered - self._taken)

    def _stored_slugs(self, slugs: set[str]) -> set[str]:
        stored = Organisation.objects.using(self.database)
        found: set[str] = set()
        for batch in batched(sorted(slugs), self.database):
            found.update(stored.filter(slug__in=batch).values_list("slug", flat=True))
        self._taken |= found
        return found

    def new_slug(self, values: dict[str, Any]) -> str:
        """A slug for a new organisation, from its acronym or name, that neither register nor file has."""
        base = make_slug(values.get("acronym") or "") or make_slug(values["name"])
        if not base:
            return ""
        # A second row of a new organisation named like the first is the same one (found above);
        # a different one whose acronym is taken gets its name's slug, then a number.
        for slug in (base, make_slug(values["name"]), *(f"{base}-{n}" for n in range(2, SLUG_SUFFIXES + 2))):
            if slug and slug not in self._taken:
                self.remember(values, slug)
                return slug
        return ""

    def look_alikes(self, values: dict[str, Any], slug: str) -> list[dict[str, Any]]:
        """The register's organisations a new one looks like: same name elsewhere, or near-identical name."""
        name = folded(values["name"])
        alike = [v for v in self._by_name.get(name, []) if v["slug"] != slug]
        alike += [
            v
            for v in self._by_squashed.get(_squashed(values["name"]), [])
            if v["slug"] != slug and folded(v["name"]) != name
        ]
        return alike

    def federation(self, text: str) -> str | list[str] | None:
        """The slug of the federation a cell names by slug, acronym or name; a list if several could be."""
        if text in self._file or text in self.by_slug:
            return text
        key = folded(text)
        for file_table, table in ((self._file_acronyms, self._by_acronym), (self._file_names, self._by_name)):
            candidates = sorted({*file_table.get(key, []), *(v["slug"] for v in table.get(key, []))})
            if len(candidates) == 1:
                return candidates[0]
            if candidates:
                # Among several, the federations of the register (those with a federation's kind).
                federations = [
                    slug
                    for slug in candidates
                    if (self.by_slug.get(slug) or self._file.get(slug) or {}).get("kind")
                    in Organisation.FEDERATION_KINDS
                ]
                return federations[0] if len(federations) == 1 else candidates
        return None


class SourceBook:
    """The sources rows cite: found in the register by address (or else by title), or to create."""

    def __init__(self, database: str, today: datetime.date) -> None:
        self.database = database
        self.today = today
        self.found: dict[str, dict[str, Any]] = {}  # key -> stored source's id and date
        self.to_create: dict[str, dict[str, Any]] = {}  # key -> fields of a new source

    @staticmethod
    def _key(values: dict[str, Any]) -> str | None:
        if values.get("source_url"):
            return str(values["source_url"])
        if values.get("source_title"):
            return "title:" + str(values["source_title"])
        return None

    def load(self, rows: list[Any]) -> None:
        urls = {row.values["source_url"] for row in rows if row.values.get("source_url")}
        titles = {
            row.values["source_title"]
            for row in rows
            if row.values.get("source_title") and not row.values.get("source_url")
        }
        stored = Source.objects.using(self.database).order_by("pk")
        for batch in batched(sorted(urls), self.database):
            for pk, url, published in stored.filter(url__in=batch).values_list("pk", "url", "published_on"):
                self.found.setdefault(url, {"id": pk, "published_on": published})
        for batch in batched(sorted(titles), self.database):
            for pk, title, published in stored.filter(title__in=batch).values_list(
                "pk", "title", "published_on"
            ):
                self.found.setdefault("title:" + title, {"id": pk, "published_on": published})
        for row in rows:
            key = self._key(row.values)
            if key is not None and key not in self.found and key not in self.to_create:
                url = row.values.get("source_url") or ""
                title = row.values.get("source_title") or url
                self.to_create[key] = {
                    "title": title[: Source._meta.get_field("title").max_length],
                    "url": url,
                }

    def key_of(self, values: dict[str, Any]) -> int | str | None:
        """The source a row cites: a stored source's id, or the key of one to create; None if none."""
        key = self._key(values)
        if key is None:
            return None
        if key in self.found:
            return int(self.found[key]["id"])
        return key

    def attested_on(self, values: dict[str, Any]) -> datetime.date | None:
        """The day a row's source attests its membership: the source's date, or today; None without one."""
        key = self._key(values)
        if key is None:
            return None
        published = self.found.get(key, {}).get("published_on")
        return published or self.today
