"""The import plan: the parsed rows checked against each other and the register, nothing written."""

import csv
import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import pairwise

from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.csv_io.columns import (
    BY_HEADER,
    COLUMNS,
    DECLARATION,
    HEADERS,
    MEMBERSHIP_COLUMNS,
    ORGANISATION_COLUMNS,
)
from members.csv_io.parsing import (
    _LINE,
    RowError,
    _check_header,
    _parse_rows,
    decode,
    max_import_bytes,
    sniff_delimiter,
    too_large_error,
)
from members.dates import DatePrecision, start_of_period
from members.models import Membership, Organisation

# Slugs per IN (...) lookup, at most: fewer round trips, bounded query size.
LOOKUP_BATCH = 10_000


@dataclass(frozen=True)
class Change:
    column: str
    old: str
    new: str


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
    def action(self):
        actions = {self.organisation_action, self.membership_action}
        return CREATE if CREATE in actions else UPDATE if UPDATE in actions else UNCHANGED

    @property
    def action_label(self):
        return ACTION_LABELS[self.action]


@dataclass
class ImportPlan:
    """Everything an import would do, or why it cannot be done."""

    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    organisations_to_create: dict = field(default_factory=dict)  # slug -> field values
    organisations_to_update: dict = field(default_factory=dict)  # pk -> changed field values
    memberships_to_create: list = field(default_factory=list)  # (member slug, federation slug, values)
    memberships_to_update: dict = field(default_factory=dict)  # pk -> changed field values
    unchanged_organisations: int = 0
    unchanged_memberships: int = 0

    @property
    def is_valid(self):
        return not self.errors

    @property
    def has_changes(self):
        return bool(
            self.organisations_to_create
            or self.organisations_to_update
            or self.memberships_to_create
            or self.memberships_to_update
        )

    def counts(self):
        return {
            "organisations_created": len(self.organisations_to_create),
            "organisations_updated": len(self.organisations_to_update),
            "organisations_unchanged": self.unchanged_organisations,
            "memberships_created": len(self.memberships_to_create),
            "memberships_updated": len(self.memberships_to_update),
            "memberships_unchanged": self.unchanged_memberships,
        }


def plan_import(data):
    """Read and check a whole file (bytes) against the register; write nothing."""
    plan = ImportPlan()
    limit = max_import_bytes()
    if len(data) > limit:
        plan.errors.append(too_large_error(len(data)))
        return plan
    try:
        text = decode(data)
    except ValueError as error:
        plan.errors.append(RowError(None, "", str(error)))
        return plan
    # Lines read lazily, split on "\n" only (as csv expects with newline=""):
    # a StringIO would hold a second, wider copy of the whole file.
    lines = (match.group() for match in _LINE.finditer(text))
    reader = csv.reader(lines, delimiter=sniff_delimiter(text))
    try:
        header = [name.strip() for name in next(reader, [])]
        headers = _check_header(header, plan)
        if plan.errors:
            return plan
        rows = _parse_rows(reader, headers, plan)
    except csv.Error as error:
        plan.errors.append(
            RowError(reader.line_num, "", _("The file is not valid CSV: %(error)s") % {"error": error})
        )
        return plan
    if not rows and not plan.errors:
        plan.errors.append(RowError(None, "", _("The file has a header but no rows.")))
    planner = _Planner(plan, rows, set(headers))
    if plan.errors:
        # Still name unknown federations, so that one round of corrections fixes them all.
        planner.check_references()
        plan.errors.sort(key=lambda e: (e.row or 0, HEADERS.index(e.column) if e.column in BY_HEADER else -1))
        return plan
    planner.run()
    if plan.errors:
        plan.errors.sort(key=lambda e: (e.row or 0, HEADERS.index(e.column) if e.column in BY_HEADER else -1))
    return plan


def _batched(items, size=None):
    # SQLite caps the parameters of one query; PostgreSQL takes large IN lists.
    limit = connection.features.max_query_params
    size = size or (min(limit - 1, LOOKUP_BATCH) if limit else LOOKUP_BATCH)
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _display(column, value):
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, list):
        return " ".join(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


class _Planner:
    """Checks parsed rows against each other and the register, and fills in the plan."""

    def __init__(self, plan, rows, present):
        self.plan = plan
        self.rows = rows
        self.present = present
        self.existing = {}  # slug -> organisation values
        self.first_row_of = {}  # slug -> first _Row describing it

    def error(self, row, column, message):
        self.plan.errors.append(RowError(row.number, column, message))

    def check_references(self):
        for row in self.rows:
            if row.values.get("slug") is not None:
                self.first_row_of.setdefault(row.values["slug"], row)
        self._load_organisations()
        self._check_federations()

    def run(self):
        self._check_membership_cells()
        self._check_same_organisation()
        self._load_organisations()
        self._check_federations()
        if self.plan.errors:
            return
        self._plan_organisations()
        self._plan_memberships()

    def _check_membership_cells(self):
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
            if values["federation"] == values.get("slug"):
                self.error(row, "federation", _("An organisation cannot be a member of itself."))
            if values.get("left_on") is None and values.get("left_precision") is not None:
                self.error(row, "left_precision", _("A precision is given for a date that is not there."))

    def _check_same_organisation(self):
        keys = {}
        for row in self.rows:
            slug = row.values.get("slug")
            if slug is None:
                continue
            first = self.first_row_of.setdefault(slug, row)
            if first is not row:
                for column in (*ORGANISATION_COLUMNS, *(c for c in COLUMNS if c.model == DECLARATION)):
                    header = column.header
                    if header in self.present and row.values.get(header) != first.values.get(header):
                        self.error(
                            row,
                            header,
                            _("Differs from row %(row)d, which describes the same organisation.")
                            % {"row": first.number},
                        )
            joined = row.values.get("joined_on")
            if joined is not None:
                joined = start_of_period(joined, row.values.get("joined_precision") or DatePrecision.DAY)
            key = (slug, row.values.get("federation"), joined)
            if key in keys:
                self.error(row, "", _("Duplicates row %(row)d.") % {"row": keys[key].number})
            else:
                keys[key] = row

    def _load_organisations(self):
        slugs = set(self.first_row_of) | {
            r.values["federation"] for r in self.rows if r.values.get("federation")
        }
        names = ["id", *(c.field for c in ORGANISATION_COLUMNS)]
        for batch in _batched(slugs):
            for values in Organisation.objects.filter(slug__in=batch).values(*names):
                values["countries_of_operation"] = [
                    c for c in values["countries_of_operation"].split(",") if c
                ]
                self.existing[values["slug"]] = values

    def _check_federations(self):
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

    def _plan_organisations(self):
        planned = {}
        for slug, row in self.first_row_of.items():
            new = {
                c.field: row.values[c.header] if row.values.get(c.header) is not None else _empty(c)
                for c in ORGANISATION_COLUMNS
                if c.header in self.present
            }
            old = self.existing.get(slug)
            if old is None:
                self.plan.organisations_to_create[slug] = new
                changes = [
                    Change(c.header, "", _display(c, new.get(c.field)))
                    for c in ORGANISATION_COLUMNS
                    if new.get(c.field)
                ]
                planned[slug] = (CREATE, changes)
                continue
            changed = {name: value for name, value in new.items() if old[name] != value}
            if changed:
                self.plan.organisations_to_update[old["id"]] = changed
                changes = [
                    Change(c.header, _display(c, old[c.field]), _display(c, changed[c.field]))
                    for c in ORGANISATION_COLUMNS
                    if c.field in changed
                ]
                planned[slug] = (UPDATE, changes)
            else:
                self.plan.unchanged_organisations += 1
                planned[slug] = (UNCHANGED, [])
        for row in self.rows:
            slug = row.values["slug"]
            planned_row = PlannedRow(row.number, slug, row.values.get("federation") or "")
            if self.first_row_of[slug] is row:
                planned_row.organisation_action, planned_row.changes = planned[slug]
            self.plan.rows.append(planned_row)

    def _plan_memberships(self):
        ids = {slug: values["id"] for slug, values in self.existing.items()}
        member_ids = [ids[slug] for slug in self.first_row_of if slug in ids]
        fields = [
            "id",
            "member_id",
            "federation_id",
            "category",
            "joined_on",
            "joined_precision",
            "left_on",
            "left_precision",
        ]
        periods = defaultdict(list)  # (member, federation) -> [(joined, left, row or None, pk)]
        existing = {}
        for batch in _batched(member_ids):
            for values in Membership.objects.filter(member_id__in=batch).values(*fields):
                existing[(values["member_id"], values["federation_id"], values["joined_on"])] = values
        slug_of = {values["id"]: slug for slug, values in self.existing.items()}
        matched = set()

        def node(slug):
            # Existing organisations are known by id, new ones by slug.
            return ids.get(slug, slug)

        new_edges = []
        for row, planned_row in zip(self.rows, self.plan.rows, strict=True):
            values = row.values
            federation = values.get("federation")
            if not federation:
                continue
            joined_precision = values.get("joined_precision") or DatePrecision.DAY
            joined = start_of_period(values["joined_on"], joined_precision)
            key = (node(values["slug"]), node(federation), joined)
            old = existing.get(key)
            left_precision = values.get("left_precision") or (
                old["left_precision"] if old else DatePrecision.DAY
            )
            left = start_of_period(values.get("left_on"), left_precision)
            new = {
                "category": values.get("category") or Membership.Category.FULL,
                "joined_on": joined,
                "joined_precision": joined_precision,
                "left_on": left,
                "left_precision": left_precision,
            }
            if left is not None and left <= joined:
                self.error(row, "left_on", _("A membership must end after the day it starts."))
            periods[key[:2]].append((joined, left, row, old["id"] if old else None))
            if old is None:
                new_edges.append((key[0], key[1], row))
                self.plan.memberships_to_create.append((values["slug"], federation, new))
                planned_row.membership_action = CREATE
                planned_row.changes += [
                    Change(c.header, "", _display(c, new.get(c.field)))
                    for c in MEMBERSHIP_COLUMNS[1:]
                    if new.get(c.field) and (c.field != "left_precision" or left is not None)
                ]
                continue
            matched.add(old["id"])
            changed = {name: value for name, value in new.items() if old[name] != value}
            if "left_on" not in changed and new["left_on"] is None:
                changed.pop("left_precision", None)
            if changed:
                self.plan.memberships_to_update[old["id"]] = changed
                planned_row.membership_action = UPDATE
                planned_row.changes += [
                    Change(c.header, _display(c, old[c.field]), _display(c, changed[c.field]))
                    for c in MEMBERSHIP_COLUMNS
                    if c.field in changed
                ]
            else:
                self.plan.unchanged_memberships += 1
                planned_row.membership_action = UNCHANGED
        for values in existing.values():
            if values["id"] not in matched:
                key = (values["member_id"], values["federation_id"])
                periods[key].append((values["joined_on"], values["left_on"], None, values["id"]))
        self._check_overlaps(periods, slug_of)
        self._check_cycles(new_edges)

    def _check_overlaps(self, periods, slug_of):
        for pair, spans in periods.items():
            if len(spans) < 2:
                continue
            spans.sort(key=lambda span: span[0])
            for before, after in pairwise(spans):
                if before[1] is not None and before[1] <= after[0]:
                    continue
                row = after[2] or before[2]
                other = before if row is after[2] else after
                if row is None:
                    continue
                where = _("row %(row)d") % {"row": other[2].number} if other[2] else _("the register")
                self.error(
                    row,
                    "joined_on",
                    _(
                        "This period of %(member)s in %(federation)s overlaps another one, from %(joined)s, "
                        "in %(where)s; two periods of the same membership cannot overlap."
                    )
                    % {
                        "member": slug_of.get(pair[0], pair[0]),
                        "federation": slug_of.get(pair[1], pair[1]),
                        "joined": other[0].isoformat(),
                        "where": where,
                    },
                )

    def _check_cycles(self, new_edges):
        if not new_edges:
            return
        graph = defaultdict(set)
        for member, federation in Membership.objects.values_list("member_id", "federation_id").iterator():
            graph[member].add(federation)
        for member, federation, _row in new_edges:
            graph[member].add(federation)
        on_cycle = _nodes_on_cycles(graph)
        for member, federation, row in new_edges:
            if member in on_cycle and federation in on_cycle:
                self.error(
                    row,
                    "federation",
                    _(
                        "%(member)s cannot join %(federation)s: %(federation)s is already a member of "
                        "%(member)s, directly or through other federations."
                    )
                    % {"member": row.values["slug"], "federation": row.values["federation"]},
                )


def _empty(column):
    return [] if column.field == "countries_of_operation" else ""


def _nodes_on_cycles(graph):
    """The nodes that lie on a cycle, or between two: peel off sources, then sinks (Kahn's algorithm)."""
    nodes = set(graph) | {target for targets in graph.values() for target in targets}
    reverse = defaultdict(set)
    for source, targets in graph.items():
        for target in targets:
            reverse[target].add(source)
    remaining = set(nodes)
    for forward, backward in ((graph, reverse), (reverse, graph)):
        degree = {n: len(backward[n] & remaining) for n in remaining}
        queue = [n for n, d in degree.items() if d == 0]
        while queue:
            current = queue.pop()
            remaining.discard(current)
            for nxt in forward.get(current, ()):
                if nxt in remaining:
                    degree[nxt] -= 1
                    if degree[nxt] == 0:
                        queue.append(nxt)
    return remaining
