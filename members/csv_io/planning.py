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
from django.utils.translation import gettext_lazy

from members.batches import batched
from members.csv_io.columns import (
    BY_HEADER,
    DECLARATION_COLUMNS,
    HEADERS,
    MEMBERSHIP_COLUMNS,
    ORGANISATION_COLUMNS,
    Column,
)
from members.csv_io.parsing import Row, read_file
from members.csv_io.records import RowError, row_label
from members.dates import END_PRECISIONS, DatePrecision, start_of_period, stored_left_on
from members.models import Membership, Organisation
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


def plan_import(data: bytes, options: dict[str, Any] | None = None) -> ImportPlan:
    """Read and check a whole file (bytes) against the register; write nothing.

    `options` are the choices made when the file was previewed (a JSON-serialisable
    dict, stored with an import job); none is read yet.
    """
    parsed = read_file(data)
    plan = ImportPlan(errors=parsed.errors)
    if not parsed.readable:
        return plan
    planner = _Planner(plan, parsed.rows, parsed.columns)
    if plan.errors:
        # Still name unknown federations, so that one round of corrections fixes them all.
        planner.check_references()
    else:
        planner.run()
    plan.errors.sort(key=lambda e: (e.row or 0, HEADERS.index(e.column) if e.column in BY_HEADER else -1))
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
        Change(c.header, _display(old[c.field]), _display(new[c.field])) for c in columns if c.field in new
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

    def error(self, row: Row, column: str, message: str) -> None:
        self.plan.errors.append(RowError(row.number, column, message))

    def check_references(self) -> None:
        for row in self.rows:
            if row.values.get("slug") is not None:
                self.first_row_of.setdefault(row.values["slug"], row)
        self._load_organisations()
        self._check_federations()

    def run(self) -> None:
        self._check_membership_cells()
        self._check_same_organisation()
        self._load_organisations()
        self._check_federations()
        if self.plan.errors:
            return
        self._plan_organisations()
        self._plan_memberships()

    # Each row alone, and rows against each other

    def _check_membership_cells(self) -> None:
        for row in self.rows:
            values = row.values
            if values.get("federation") is None:
                for column in MEMBERSHIP_COLUMNS[1:]:
                    if values.get(column.header) is not None:
                        self.error(
                            row, column.header, _("A membership cell is filled in but “federation” is empty.")
                        )
                continue
            if values.get("joined_on") is None and "joined_on" in self.present:
                self.error(row, "joined_on", _("A membership needs the date it started."))
            message = self_membership_error(values.get("slug"), values["federation"])
            if message:
                self.error(row, "federation", message)
            if values.get("left_on") is None and values.get("left_precision") is not None:
                self.error(row, "left_precision", _("A precision is given for a date that is not there."))
            if values.get("joined_precision") in END_PRECISIONS:
                message = _("“At the end of” a period is for a departure, not a start.")
                self.error(row, "joined_precision", message)

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
        for column in (*ORGANISATION_COLUMNS, *DECLARATION_COLUMNS):
            header = column.header
            if header in self.present and row.values.get(header) != first.values.get(header):
                self.error(
                    row,
                    header,
                    _("Differs from row %(row)d, which describes the same organisation.")
                    % {"row": first.number},
                )

    # Against the register

    def _load_organisations(self) -> None:
        slugs = set(self.first_row_of) | {
            r.values["federation"] for r in self.rows if r.values.get("federation")
        }
        names = ["id", *(c.field for c in ORGANISATION_COLUMNS)]
        stored = Organisation.objects.using(self.database)
        for batch in batched(slugs, self.database):
            for values in stored.filter(slug__in=batch).values(*names):
                values["countries_of_operation"] = [
                    c for c in values["countries_of_operation"].split(",") if c
                ]
                self.existing[values["slug"]] = values
                self.short_names[values["id"]] = values["acronym"] or values["name"]

    def _check_federations(self) -> None:
        for row in self.rows:
            federation = row.values.get("federation")
            if federation and federation not in self.existing and federation not in self.first_row_of:
                self.error(
                    row,
                    "federation",
                    _(
                        "Unknown federation “%(slug)s”: no organisation has this slug in the register "
                        "or in the file."
                    )
                    % {"slug": federation},
                )

    def _plan_organisations(self) -> None:
        planned = {slug: self._plan_organisation(slug, row) for slug, row in self.first_row_of.items()}
        for row in self.rows:
            slug = row.values["slug"]
            planned_row = PlannedRow(row.number, slug, row.values.get("federation") or "")
            if self.first_row_of[slug] is row:
                planned_row.organisation_action, planned_row.changes = planned[slug]
            self.plan.rows.append(planned_row)

    def _plan_organisation(self, slug: str, row: Row) -> tuple[str, list[Change]]:
        new = {
            c.field: row.values[c.header] if row.values.get(c.header) is not None else _empty(c)
            for c in ORGANISATION_COLUMNS
            if c.header in self.present
        }
        old = self.existing.get(slug)
        if old is None:
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
            return values.get("acronym") or values["name"]
        return self.short_names[node]

    def _plan_memberships(self) -> None:
        stored = self._load_memberships()
        periods = []
        for row, planned_row in zip(self.rows, self.plan.rows, strict=True):
            if row.values.get("federation"):
                period = self._plan_membership(row, planned_row, stored)
                if period is not None:
                    periods.append(period)
        self._check_overlaps(periods)
        self._check_cycles([period for period in periods if period.pk is None])

    def _load_memberships(self) -> StoredMemberships:
        member_ids = [self.existing[slug]["id"] for slug in self.first_row_of if slug in self.existing]
        stored = Membership.objects.using(self.database)
        memberships = {}
        for batch in batched(member_ids, self.database):
            rows = stored.filter(member_id__in=batch).values(
                "id", "member_id", "federation_id", *MEMBERSHIP_FIELDS
            )
            for values in rows:
                memberships[(values["member_id"], values["federation_id"], values["joined_on"])] = values
        return memberships

    def _plan_membership(self, row: Row, planned_row: PlannedRow, stored: StoredMemberships) -> Period | None:
        """Plan the row's membership; return its period, or None if its dates are refused."""
        values = row.values
        joined_precision = values.get("joined_precision") or DatePrecision.DAY
        joined = start_of_period(values["joined_on"], joined_precision)
        member, federation = self._node(values["slug"]), self._node(values["federation"])
        old = stored.get((member, federation, joined))
        left_precision = values.get("left_precision") or (old["left_precision"] if old else DatePrecision.DAY)
        # A departure "at the end of 2022" is written as a day of 2022 and stored as 2023-01-01.
        left = stored_left_on(values.get("left_on"), left_precision)
        new = {
            "category": values.get("category") or Membership.Category.FULL,
            "joined_on": joined,
            "joined_precision": joined_precision,
            "left_on": left,
            "left_precision": left_precision,
        }
        if old is None:
            self.plan.memberships_to_create.append(
                NewMembership(values["slug"], values["federation"], new, row.number)
            )
            planned_row.membership_action = CREATE
            # The precision of a date that is not there says nothing.
            shown = new if left is not None else {k: v for k, v in new.items() if k != "left_precision"}
            planned_row.changes += _changes(MEMBERSHIP_COLUMNS[1:], None, shown)
        else:
            planned_row.membership_action = self._plan_update(old, new, planned_row)
        message = dates_error(joined, left)
        if message:
            self.error(row, "left_on", message)
            return None
        pk = old["id"] if old else None
        return Period(member, federation, joined, left, joined_precision, left_precision, pk, origin=row)

    def _plan_update(self, old: dict[str, Any], new: dict[str, Any], planned_row: PlannedRow) -> str:
        changed = {name: value for name, value in new.items() if old[name] != value}
        if "left_on" not in changed and new["left_on"] is None:
            changed.pop("left_precision", None)
        if not changed:
            self.plan.unchanged_memberships += 1
            return UNCHANGED
        self.plan.memberships_to_update[old["id"]] = changed
        planned_row.changes += _changes(MEMBERSHIP_COLUMNS, old, changed)
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
