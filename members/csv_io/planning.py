"""The import plan: the parsed rows checked against each other and the register, nothing written.

plan_import() reads a whole file and returns an ImportPlan: what would be
created, updated or left alone, with each difference, or every error. The
membership rules (not a member of itself, ending after it starts, no
overlapping periods, no cycle) are members/validation.py's, so the import
refuses what `Membership.clean()` and the admin refuse, with the same
message. What is checked is read from the primary database, as what may be
saved always is.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar, cast

from django.db import router
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from members.batches import batched
from members.csv_io.columns import (
    BY_HEADER,
    DECLARATION_COLUMNS,
    HEADERS,
    MEMBERSHIP_COLUMNS,
    ORGANISATION_COLUMNS,
    Column,
)
from members.csv_io.matching import Identities, SourceBook
from members.csv_io.parsing import ImportOptions, Row, read_file
from members.csv_io.records import RowError, row_label
from members.dates import END_PRECISIONS, DatePrecision, start_of_period, stored_left_on
from members.models import Membership, Organisation
from members.stats import HeldMembership, breaches_among, rules_of
from members.validation import (
    Node,
    Period,
    cycle_error,
    cycles,
    dates_error,
    overlap_error,
    overlaps,
    self_membership_error,
    stored_periods,
)

MEMBERSHIP_FIELDS = ["category", "joined_on", "joined_precision", "left_on", "left_precision"]

T = TypeVar("T")
# The stored memberships of the file's organisations by (member id, federation id, joined_on).
StoredMemberships = dict[tuple[Node, Node, datetime.date], dict[str, Any]]


@dataclass(frozen=True)
class Change:
    """One difference an import would make: the column, the value before and the value after."""

    column: str
    old: str
    new: str

    @property
    def label(self) -> str:
        """The column's name for people, in the active language."""
        column = BY_HEADER.get(self.column)
        return str(column.label) if column is not None and column.label else self.column


class NewMembership(NamedTuple):
    """A membership the import would create: its ends by slug, its fields, and the file's row it is on."""

    member: str
    federation: str
    values: dict[str, Any]
    row: int


CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
ACTION_LABELS = {
    CREATE: gettext_lazy("create"),
    UPDATE: gettext_lazy("update"),
    UNCHANGED: gettext_lazy("unchanged"),
}


@dataclass(slots=True)
class PlannedRow:
    """What importing one row of the file would do."""

    row: int
    slug: str
    federation: str
    organisation_action: str = UNCHANGED
    membership_action: str = ""
    changes: list[Change] = field(default_factory=list)

    @property
    def action(self) -> str:
        actions = {self.organisation_action, self.membership_action}
        return CREATE if CREATE in actions else UPDATE if UPDATE in actions else UNCHANGED

    @property
    def action_label(self) -> str:
        return str(ACTION_LABELS[self.action])


@dataclass
class ImportPlan:
    """Everything an import would do, or why it cannot be done."""

    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # slug -> field values
    organisations_to_create: dict[str, dict[str, Any]] = field(default_factory=dict)
    # pk -> changed field values
    organisations_to_update: dict[int, dict[str, Any]] = field(default_factory=dict)
    memberships_to_create: list[NewMembership] = field(default_factory=list)
    # pk -> changed field values
    memberships_to_update: dict[int, dict[str, Any]] = field(default_factory=dict)
    unchanged_organisations: int = 0
    unchanged_memberships: int = 0
    # What is not wrong but a person should know before confirming (a look-alike, a rule the import breaks).
    warnings: list[RowError] = field(default_factory=list)
    # Each column's name as the file writes it, for messages.
    column_names: dict[str, str] = field(default_factory=dict)
    # Sources to create, by the key memberships name them with (their address, or their title).
    sources_to_create: dict[str, dict[str, Any]] = field(default_factory=dict)

    def column_name(self, error: RowError) -> str:
        """The column of an error as the person knows it: the file's header, or else the column's label."""
        if not error.column:
            return error.letter
        if error.column in self.column_names:
            return self.column_names[error.column]
        column = BY_HEADER.get(error.column)
        return str(column.label) if column is not None and column.label else error.column

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def has_changes(self) -> bool:
        return bool(
            self.organisations_to_create
            or self.organisations_to_update
            or self.memberships_to_create
            or self.memberships_to_update
        )

    def counts(self) -> dict[str, int]:
        """Return how many organisations and memberships the plan creates, updates and leaves alone."""
        return {
            "organisations_created": len(self.organisations_to_create),
            "organisations_updated": len(self.organisations_to_update),
            "organisations_unchanged": self.unchanged_organisations,
            "memberships_created": len(self.memberships_to_create),
            "memberships_updated": len(self.memberships_to_update),
            "memberships_unchanged": self.unchanged_memberships,
        }


def plan_import(data: bytes, options: ImportOptions | None = None) -> ImportPlan:
    """Read and check a whole file (bytes) against the register; write nothing.

    `options` are the mapping step's choices (members/csv_io/parsing.py's
    ImportOptions); None reads the file as it is, every header matched by
    the tables of synonyms alone. Every error of the file is found in this
    one pass: the rows without errors are still planned, so that overlaps,
    loops and admission-rule breaches are named beside the cells' errors.
    """
    parsed = read_file(data, options)
    plan = ImportPlan(errors=parsed.errors, warnings=parsed.warnings, column_names=parsed.column_names)
    if not parsed.readable:
        return plan
    _Planner(plan, parsed.rows, parsed.columns).run()
    order = {header: index for index, header in enumerate(HEADERS)}
    plan.errors.sort(key=lambda e: (e.row or 0, order.get(e.column, -1)))
    plan.warnings.sort(key=lambda e: (e.row or 0, order.get(e.column, -1)))
    return plan


def _display(value: Any) -> str:
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, list):
        return " ".join(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _empty(column: Column) -> Any:
    return [] if column.field == "countries_of_operation" else ""


def _changes(columns: Iterable[Column], old: dict[str, Any] | None, new: dict[str, Any]) -> list[Change]:
    """Return the differences `new` makes in these columns: from `old`, or from nothing when it is None."""
    if old is None:
        return [Change(c.header, "", _display(new.get(c.field))) for c in columns if new.get(c.field)]
    return [
        Change(c.header, _display(old.get(c.field)), _display(new[c.field]))
        for c in columns
        if c.field in new
    ]


def _row_of(period: Period) -> Row:
    # The planner puts its row in each period it makes; stored periods are never refused.
    return cast(Row, period.origin)


class _Planner:
    """Checks parsed rows against each other and the register, and fills in the plan."""

    def __init__(self, plan: ImportPlan, rows: list[Row], present: set[str]) -> None:
        self.plan = plan
        self.rows = rows
        self.present = present
        # What may be saved is decided on the primary, never on a replica that may lag.
        self.database = router.db_for_write(Organisation)
        self.existing: dict[str, dict[str, Any]] = {}  # slug -> stored organisation's values
        self.short_names: dict[Node, str] = {}  # id -> stored organisation's acronym, or else name
        self.first_row_of: dict[str, Row] = {}  # slug -> first row describing it
        self.today = datetime.date.today()
        self.identities = Identities(self.database)
        self.sources = SourceBook(self.database, self.today)

    def error(self, row: Row, column: str, message: str) -> None:
        self.plan.errors.append(RowError(row.number, column, message))

    def warning(self, row: Row | None, column: str, message: str) -> None:
        self.plan.warnings.append(RowError(row.number if row else None, column, message))

    def run(self) -> None:
        self.identities.load(self.rows)
        self.existing = self.identities.by_slug
        self.short_names = {v["id"]: v["acronym"] or v["name"] for v in self.existing.values()}
        self._resolve_organisations()
        self.sources.load(self.rows)
        self._check_same_organisation()
        self._resolve_federations()
        self._check_membership_cells()
        refused = {error.row for error in self.plan.errors}
        rows = [row for row in self.rows if row.number not in refused and row.values.get("slug")]
        self._plan_organisations(rows)
        self._plan_memberships(rows)
        self.plan.sources_to_create = self.sources.to_create
        self._warn_of_breaches(rows)

    # Which organisation each row describes

    def _resolve_organisations(self) -> None:
        # Which slugs a new organisation might take, loaded at once for every row without one.
        self.identities.reserve_slugs(
            [
                row
                for row in self.rows
                if row.values.get("name") is not None and row.values.get("slug") is None
            ]
        )
        for row in self.rows:
            values = row.values
            if values.get("name") is None:
                continue  # refused already: "This cell is required"
            if values.get("slug") is not None:
                self.identities.remember(values, values["slug"])
                self._warn_of_look_alikes(row, values["slug"])
                continue
            found = self.identities.find(values)
            if isinstance(found, list):
                self.error(
                    row,
                    "name",
                    _(
                        "More than one organisation in the register has this name: %(slugs)s. Give the "
                        "slug of the one meant."
                    )
                    % {"slugs": ", ".join(found)},
                )
            elif found is not None:
                values["slug"] = found
            else:
                slug = self.identities.new_slug(values)
                if not slug:
                    message = _("No address (slug) can be made from this name; give one in a Slug column.")
                    self.error(row, "name", message)
                    continue
                values["slug"] = slug
                self._warn_of_look_alikes(row, slug)

    def _warn_of_look_alikes(self, row: Row, slug: str) -> None:
        if slug in self.existing:
            return
        for other in self.identities.look_alikes(row.values, slug):
            self.warning(
                row,
                "name",
                _(
                    "A new organisation, though “%(name)s” (%(slug)s, %(country)s) in the register has a "
                    "name like it. If it is the same, give its slug in a Slug column."
                )
                % {"name": other["name"], "slug": other["slug"], "country": other["country"] or "—"},
            )

    def _resolve_federations(self) -> None:
        for row in self.rows:
            text = row.values.get("federation")
            if text is None:
                continue
            found = self.identities.federation(text)
            if isinstance(found, list):
                self.error(
                    row,
                    "federation",
                    _(
                        "“%(value)s” may be any of these organisations: %(slugs)s. Give the slug of the one "
                        "meant."
                    )
                    % {"value": text, "slugs": ", ".join(found)},
                )
            elif found is None:
                self.error(
                    row,
                    "federation",
                    _(
                        "Unknown federation “%(slug)s”: no organisation has this slug, acronym or name in "
                        "the register or in the file."
                    )
                    % {"slug": text},
                )
            else:
                row.values["federation"] = found

    # Each row alone, and rows against each other

    def _check_membership_cells(self) -> None:
        attested = 0
        refused = {(error.row, error.column) for error in self.plan.errors}
        for row in self.rows:
            values = row.values
            if values.get("federation") is None:
                for column in MEMBERSHIP_COLUMNS[1:]:
                    if values.get(column.header) is not None and column.header not in (
                        "source_url",
                        "source_title",
                    ):
                        self.error(
                            row, column.header, _("A membership cell is filled in but “federation” is empty.")
                        )
                continue
            if values.get("joined_on") is None and (row.number, "joined_on") not in refused:
                day = self.sources.attested_on(values)
                if day is None:
                    self.error(
                        row,
                        "joined_on",
                        _(
                            "A membership needs the date it started or, when nobody knows it, a source "
                            "that attests it (a Source column): the import never makes a date up."
                        ),
                    )
                else:
                    values["joined_on"], values["joined_precision"] = day, DatePrecision.BY
                    values["attested"] = True
                    attested += 1
            message = self_membership_error(values.get("slug"), values["federation"])
            if message:
                self.error(row, "federation", message)
            if values.get("left_on") is None and values.get("left_precision") is not None:
                self.error(row, "left_precision", _("A precision is given for a date that is not there."))
            if values.get("joined_precision") in END_PRECISIONS:
                message = _("“At the end of” a period is for a departure, not a start.")
                self.error(row, "joined_precision", message)
        if attested:
            self.warning(
                None,
                "joined_on",
                ngettext(
                    "%(count)d membership has no start date: it is recorded as attested by its source "
                    "(“member by” the source's date, or today's when the source has none), never as a join.",
                    "%(count)d memberships have no start date: they are recorded as attested by their "
                    "source (“member by” the source's date, or today's when the source has none), never as "
                    "joins.",
                    attested,
                )
                % {"count": attested},
            )

    def _check_same_organisation(self) -> None:
        keys: dict[tuple[Any, ...], Row] = {}
        for row in self.rows:
            slug = row.values.get("slug")
            if slug is None:
                continue
            first = self.first_row_of.setdefault(slug, row)
            if first is not row:
                self._check_same_description(row, first)
            joined = row.values.get("joined_on")
            if joined is not None:
                joined = start_of_period(joined, row.values.get("joined_precision") or DatePrecision.DAY)
            key = (slug, row.values.get("federation"), joined)
            if key in keys:
                self.error(row, "", _("Duplicates row %(row)d.") % {"row": keys[key].number})
            else:
                keys[key] = row

    def _check_same_description(self, row: Row, first: Row) -> None:
        """Rows of one organisation agree; a cell a later row leaves empty is not repeated, not erased."""
        for column in (*ORGANISATION_COLUMNS, *DECLARATION_COLUMNS):
            header = column.header
            mine, theirs = row.values.get(header), first.values.get(header)
            if mine is None or mine == theirs:
                continue
            if theirs is None:
                first.values[header] = mine
                continue
            self.error(
                row,
                header,
                _("Differs from row %(row)d, which describes the same organisation.") % {"row": first.number},
            )

    # Against the register

    def _plan_organisations(self, rows: list[Row]) -> None:
        good = {row.number for row in rows}
        planned = {
            slug: self._plan_organisation(slug, row)
            for slug, row in self.first_row_of.items()
            if row.number in good
        }
        for row in rows:
            slug = row.values["slug"]
            planned_row = PlannedRow(row.number, slug, row.values.get("federation") or "")
            if self.first_row_of[slug] is row and slug in planned:
                planned_row.organisation_action, planned_row.changes = planned[slug]
            self.plan.rows.append(planned_row)

    def _plan_organisation(self, slug: str, row: Row) -> tuple[str, list[Change]]:
        old = self.existing.get(slug)
        new = {
            c.field: row.values[c.header] if row.values.get(c.header) is not None else _empty(c)
            for c in ORGANISATION_COLUMNS
            # A cell left empty for an organisation of the register keeps what it holds, unless the
            # file's column says so; a region given inside the country's cell is a value like any.
            if (c.header in self.present and (old is None or c.header != "kind"))
            or row.values.get(c.header) is not None
        }
        new["slug"] = slug
        if old is None:
            if not new.get("kind"):
                self.error(
                    row,
                    "kind",
                    _(
                        "A new organisation needs its kind: fill in the Kind column, or choose a kind for "
                        "every row in the mapping step."
                    ),
                )
            self.plan.organisations_to_create[slug] = new
            return CREATE, _changes(ORGANISATION_COLUMNS, None, new)
        changed = {name: value for name, value in new.items() if old[name] != value}
        if not changed:
            self.plan.unchanged_organisations += 1
            return UNCHANGED, []
        self.plan.organisations_to_update[old["id"]] = changed
        return UPDATE, _changes(ORGANISATION_COLUMNS, old, changed)

    # Memberships: each is a Period for members/validation.py's checks

    def _node(self, slug: str) -> Node:
        # Organisations in the register are known by id, those the file creates by slug.
        stored = self.existing.get(slug)
        return stored["id"] if stored else slug

    def _short_name(self, node: Node) -> str:
        """The organisation's name as Membership.clean() gives it: its acronym, or else its name."""
        if isinstance(node, str):  # created by the file: as its row gives it
            values = self.first_row_of[node].values
            return values.get("acronym") or values.get("name") or node
        return self.short_names[node]

    def _plan_memberships(self, rows: list[Row]) -> None:
        stored = self._load_memberships()
        self.stored_memberships = stored
        periods = []
        planned_rows = {planned.row: planned for planned in self.plan.rows}
        for row in rows:
            if row.values.get("federation"):
                period = self._plan_membership(row, planned_rows[row.number], stored)
                if period is not None:
                    periods.append(period)
        self.periods = periods
        self._check_overlaps(periods)
        self._check_cycles([period for period in periods if period.pk is None])

    def _load_memberships(self) -> StoredMemberships:
        member_ids = [self.existing[slug]["id"] for slug in self.first_row_of if slug in self.existing]
        stored = Membership.objects.using(self.database)
        memberships = {}
        for batch in batched(member_ids, self.database):
            rows = stored.filter(member_id__in=batch).values(
                "id", "member_id", "federation_id", "source_id", *MEMBERSHIP_FIELDS
            )
            for values in rows:
                memberships[(values["member_id"], values["federation_id"], values["joined_on"])] = values
        return memberships

    def _attested_match(
        self, member: Node, federation: Node, stored: StoredMemberships
    ) -> dict[str, Any] | None:
        """The stored membership a row without a start date stands for: the latest of the pair, if any."""
        if not hasattr(self, "_by_pair"):
            self._by_pair: dict[tuple[Node, Node], dict[str, Any]] = {}
            for (m, f, _joined), values in stored.items():
                latest = self._by_pair.get((m, f))
                if latest is None or values["joined_on"] > latest["joined_on"]:
                    self._by_pair[(m, f)] = values
        return self._by_pair.get((member, federation))

    def _plan_membership(self, row: Row, planned_row: PlannedRow, stored: StoredMemberships) -> Period | None:
        """Plan the row's membership; return its period, or None if its dates are refused."""
        values = row.values
        member, federation = self._node(values["slug"]), self._node(values["federation"])
        if values.get("attested") and (old := self._attested_match(member, federation, stored)) is not None:
            # No date in the file for a membership the register holds: its dates stay as they are.
            joined, joined_precision = old["joined_on"], old["joined_precision"]
        else:
            joined_precision = values.get("joined_precision") or DatePrecision.DAY
            joined = start_of_period(values["joined_on"], joined_precision)
            old = stored.get((member, federation, joined))
        left_precision = values.get("left_precision") or (old["left_precision"] if old else DatePrecision.DAY)
        # A departure "at the end of 2022" is written as a day of 2022 and stored as 2023-01-01.
        left = stored_left_on(values.get("left_on"), left_precision)
        new: dict[str, Any] = {
            "category": values.get("category") or (old["category"] if old else Membership.Category.FULL),
            "joined_on": joined,
            "joined_precision": joined_precision,
            # A file without a "left" column leaves a stored departure as it is.
            "left_on": left if old is None or "left_on" in self.present else old["left_on"],
            "left_precision": left_precision
            if old is None or "left_on" in self.present
            else old["left_precision"],
        }
        source = self.sources.key_of(values)
        if source is not None:
            new["source"] = source
        if old is None:
            self.plan.memberships_to_create.append(
                NewMembership(values["slug"], values["federation"], new, row.number)
            )
            planned_row.membership_action = CREATE
            # The precision of a date that is not there says nothing.
            shown = new if left is not None else {k: v for k, v in new.items() if k != "left_precision"}
            planned_row.changes += _changes(MEMBERSHIP_COLUMNS[1:], None, _shown(shown))
        else:
            planned_row.membership_action = self._plan_update(old, new, planned_row)
        left = new["left_on"]
        message = dates_error(joined, left)
        if message:
            self.error(row, "left_on", message)
            return None
        pk = old["id"] if old else None
        return Period(member, federation, joined, left, joined_precision, left_precision, pk, origin=row)

    def _plan_update(self, old: dict[str, Any], new: dict[str, Any], planned_row: PlannedRow) -> str:
        changed = {name: value for name, value in new.items() if name != "source" and old[name] != value}
        source = new.get("source")
        if source is not None and source != old["source_id"]:
            changed["source"] = source
        if "left_on" not in changed and new["left_on"] is None:
            changed.pop("left_precision", None)
        if not changed:
            self.plan.unchanged_memberships += 1
            return UNCHANGED
        self.plan.memberships_to_update[old["id"]] = changed
        planned_row.changes += _changes(MEMBERSHIP_COLUMNS, _shown(old), _shown(changed))
        return UPDATE

    def _check_overlaps(self, periods: list[Period]) -> None:
        pairs = {
            (p.member, p.federation)
            for p in periods
            if isinstance(p.member, int) and isinstance(p.federation, int)
        }
        # The stored periods the file gives again are replaced by the file's version.
        given = {p.pk for p in periods if p.pk is not None}
        stored = [p for p in stored_periods(pairs) if p.pk not in given]
        for later, earlier in overlaps([*periods, *stored]):
            # The error goes to the file's period; a stored one is what it clashes with.
            period, clash = (earlier, later) if later.stored else (later, earlier)
            message = overlap_error(
                self._short_name(period.member), self._short_name(period.federation), period, clash
            )
            if isinstance(clash.origin, Row):  # another row of the file
                message = f"{message} ({row_label(clash.origin.number)})"
            self.error(_row_of(period), "joined_on", message)

    def _check_cycles(self, created: list[Period]) -> None:
        for period in cycles(created):
            message = cycle_error(self._short_name(period.member), self._short_name(period.federation))
            self.error(_row_of(period), "federation", message)

    # Admission rules, for the register as the import would leave it

    def _warn_of_breaches(self, rows: list[Row]) -> None:
        """Warn of each admission-rule breach the file's rows would create (not those already stored)."""
        periods = getattr(self, "periods", [])
        if not periods:
            return
        countries: dict[Node, str] = {}
        for slug in self.first_row_of:
            stored = self.existing.get(slug)
            if stored is None:
                countries[slug] = (self.plan.organisations_to_create.get(slug) or {}).get("country") or ""
            else:
                changed = self.plan.organisations_to_update.get(stored["id"], {})
                countries[stored["id"]] = changed.get("country", stored["country"])
        before = [
            HeldMembership(
                v["member_id"], v["federation_id"], v["category"], v["joined_on"], v["left_on"], v["id"]
            )
            for v in self.stored_memberships.values()
        ]
        replaced = {p.pk for p in periods if p.pk is not None}
        stored_categories = {m.origin: m.category for m in before}
        after = [m for m in before if m.origin not in replaced]
        for period in periods:
            row = _row_of(period)
            category = (
                row.values.get("category") or stored_categories.get(period.pk) or Membership.Category.FULL
            )
            after.append(
                HeldMembership(
                    period.member, period.federation, category, period.joined_on, period.left_on, row
                )
            )
        rules = rules_of({p.federation for p in periods}, self.database)
        if not rules:
            return
        existing = {
            (m.member, r.pk) for m, r in breaches_among(before, countries, self.today, rules, self.database)
        }
        for membership, rule in breaches_among(after, countries, self.today, rules, self.database):
            if (membership.member, rule.pk) in existing or not isinstance(membership.origin, Row):
                continue
            self.warning(
                membership.origin,
                "federation",
                _(
                    "%(member)s would be a member of %(federation)s without being a member of %(required)s, "
                    "which %(federation)s requires: add that membership to the file, or check the rule."
                )
                % {
                    "member": self._short_name(membership.member),
                    "federation": self._short_name(membership.federation),
                    "required": rule.requires.short_name,
                },
            )


def _shown(values: dict[str, Any]) -> dict[str, Any]:
    """Membership values as the preview names them: its source by address or title, not by key."""
    shown = {k: v for k, v in values.items() if k not in ("source", "source_id")}
    source = values.get("source")
    if isinstance(source, str):
        shown["source_url"] = source.removeprefix("title:")
    return shown
