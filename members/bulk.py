"""New rows written at bulk speed, each with its change-history record, in the caller's transaction.

`insert_with_history(model, rows, ...)` writes rows given as field values
(attname -> Python value) and the "created" record django-simple-history
keeps for each (`history_type` "+", the user, the date), and returns the new
rows' ids in order. It does what `bulk_create_with_history` does without
building a model instance and a historical instance per row:

- On PostgreSQL the ids are taken from the table's sequence first (one
  `SELECT nextval(...) FROM generate_series(1, n)`: COPY cannot hand ids
  back), then the rows and their history records go through `COPY ... FROM
  STDIN`, the database's own bulk load, each value prepared once and written
  to both tables.
- Elsewhere (SQLite) through multi-row `INSERT ... RETURNING id`, as many
  rows a statement as the database takes parameters, as Django's bulk_create
  does there.

The columns are the models' concrete fields, read from `_meta` each time
(generated columns left to the database), so the writer follows the schema:
a field a row does not give takes its default, as `Model(**values)` would,
and every value is prepared by its field (`get_db_prep_save`), as bulk_create
prepares it. Nothing here commits: a failure anywhere raises, and the
caller's transaction rolls every row back, history included. No signal is
sent (neither does bulk_create): callers tell the caches themselves.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import DateField, DateTimeField, Field, Model
from django.utils import timezone
from simple_history.utils import get_history_model_for_model

from members.batches import batched

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# What the history records of rows created say of them (simple_history's own code for "created").
CREATED = "+"

# COPY's text format: a backslash, tab, newline or carriage return inside a value is escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_NULL = "\\N"


def _columns(model: type[Model]) -> list[Field[Any, Any]]:
    """The model's columns the writer fills: its concrete fields, less those the database generates."""
    return [field for field in model._meta.concrete_fields if not getattr(field, "generated", False)]


def insert_with_history(
    model: type[Model],
    rows: Sequence[Mapping[str, Any]],
    database: str,
    user: AbstractBaseUser | None = None,
    now: datetime.datetime | None = None,
) -> list[int]:
    """Insert the rows (attname -> value) and a "created" history record of each; return their ids in order.

    `user` is each record's `history_user`, `now` its `history_date` and the
    rows' auto_now / auto_now_add stamps (by default the present moment).
    """
    if not rows:
        return []
    connection = connections[database]
    now = now or timezone.now()
    columns = _columns(model)
    pk = model._meta.pk
    assert pk is not None  # noqa: S101 - every concrete model has one
    given = [field for field in columns if field is not pk]
    names = {name for field in given for name in (field.attname, field.name)}
    for row in rows:
        if not names.issuperset(row):  # as Model(**values) refuses them
            raise TypeError(f"{model.__name__} has no field {sorted(set(row) - names)[0]!r}")
    copying = connection.vendor == "postgresql"
    # On PostgreSQL each value is turned into COPY's text once, and that text serves both tables.
    finish = _copy_text if copying else _as_is
    prepare = _Preparer(given, now, connection, finish)
    prepared = [prepare(row) for row in rows]
    if copying:
        ids = _next_ids(model, len(rows), connection)
        numbered = [[str(pk_value), *cells] for pk_value, cells in zip(ids, prepared, strict=True)]
        _copy(connection, model._meta.db_table, [pk, *given], numbered)
    else:
        ids = _insert_returning(connection, database, model._meta.db_table, given, pk, prepared)
        numbered = [[pk_value, *cells] for pk_value, cells in zip(ids, prepared, strict=True)]
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):  # as simple_history's own bulk writes
        return ids
    history = get_history_model_for_model(model)
    _insert_history(history, [pk, *given], numbered, database, user, now, finish)
    return ids


def _as_is(value: Any) -> Any:
    return value


class _Preparer:
    """Turns rows (attname -> value) into their cells as the database stores them, in the fields' order.

    Each value is prepared by its field (`get_db_prep_save`, as bulk_create
    does), then finished (COPY's text, or as it is for a query's parameter);
    a value that comes again in the same column (a category, a date, a
    country, an empty cell) is prepared once.
    """

    def __init__(
        self,
        fields: Sequence[Field[Any, Any]],
        now: datetime.datetime,
        connection: BaseDatabaseWrapper,
        finish: Callable[[Any], Any],
    ) -> None:
        self.fields = fields
        self.connection = connection
        self.finish = finish
        self.memos: list[dict[Any, Any]] = [{} for _ in fields]
        # What the fields' pre_save() gives a row being added: the moment, or its day.
        self.stamps = {
            index: finish(
                field.get_db_prep_save(
                    now if isinstance(field, DateTimeField) else timezone.localdate(now), connection
                )
            )
            for index, field in enumerate(fields)
            if isinstance(field, DateField) and (field.auto_now or field.auto_now_add)
        }

    def __call__(self, row: Mapping[str, Any]) -> list[Any]:
        cells = []
        for index, (field, memo) in enumerate(zip(self.fields, self.memos, strict=True)):
            if index in self.stamps:
                cells.append(self.stamps[index])
                continue
            if field.attname in row:
                value = row[field.attname]
            elif field.name in row:
                value = row[field.name]
            else:
                value = field.get_default()
            # By type and value: 1, 1.0 and True are equal keys, not equal cells.
            key = (type(value), tuple(value) if isinstance(value, list) else value)
            try:
                cell = memo[key]
            except KeyError:
                cell = memo[key] = self.finish(field.get_db_prep_save(value, self.connection))
            except TypeError:  # not hashable
                cell = self.finish(field.get_db_prep_save(value, self.connection))
            cells.append(cell)
        return cells


def _insert_history(
    history: type[Model],
    row_columns: Sequence[Field[Any, Any]],
    rows: Sequence[list[Any]],
    database: str,
    user: AbstractBaseUser | None,
    now: datetime.datetime,
    finish: Callable[[Any], Any],
) -> None:
    """Write a "created" history record of each row: its tracked values, as stored, and who and when."""
    connection = connections[database]
    position = {field.attname: index for index, field in enumerate(row_columns)}
    own = {
        "history_date": now,
        "history_type": CREATED,
        "history_user_id": user.pk if user is not None else None,
        "history_change_reason": None,
    }
    history_pk = history._meta.pk
    columns = [field for field in _columns(history) if field is not history_pk]
    # Each column of the record: the row's own cell (the same attname), or the record's own value.
    plan: list[tuple[int | None, Any]] = []
    for field in columns:
        if field.attname in position:
            plan.append((position[field.attname], None))
        else:
            value = own[field.attname] if field.attname in own else field.get_default()
            plan.append((None, finish(field.get_db_prep_save(value, connection))))
    records = [
        [cells[index] if index is not None else constant for index, constant in plan] for cells in rows
    ]
    if connection.vendor == "postgresql":
        _copy(connection, history._meta.db_table, columns, records)
    else:
        _insert_returning(connection, database, history._meta.db_table, columns, None, records)


def insert_rows(
    model: type[Model], names: Sequence[str], rows: Iterable[Sequence[Any]], database: str
) -> None:
    """Insert rows of plain values (ints, dates, None) into these columns of the model's table, no history.

    For derived tables that are written in bulk (members/counted.py): COPY on
    PostgreSQL, multi-row INSERTs elsewhere, in the caller's transaction.
    """
    connection = connections[database]
    fields = [field for name in names if isinstance(field := model._meta.get_field(name), Field)]
    if connection.vendor == "postgresql":
        _copy(connection, model._meta.db_table, fields, ([_copy_text(v) for v in row] for row in rows))
    else:
        _insert_returning(connection, database, model._meta.db_table, fields, None, [list(r) for r in rows])


def _next_ids(model: type[Model], count: int, connection: BaseDatabaseWrapper) -> list[int]:
    """Take `count` ids from the table's sequence, in one query; they are the new rows' ids."""
    pk = model._meta.pk
    assert pk is not None  # noqa: S101
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _copy_text(value: Any) -> str:
    """A prepared value in COPY's text format."""
    if value is None:
        return _COPY_NULL
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):  # datetime is a date
        return value.isoformat()
    # An adapter (JSON, an array) has no text form of ours: refuse it rather than guess.
    raise TypeError(f"No COPY text form for {type(value).__name__}")


def _copy(
    connection: BaseDatabaseWrapper, table: str, columns: Sequence[Field[Any, Any]], rows: Iterable[list[str]]
) -> None:
    """COPY the rows (cells in COPY's text, in the columns' order) into the table, in this transaction."""
    quote = connection.ops.quote_name
    statement = f"COPY {quote(table)} ({', '.join(quote(f.column) for f in columns)}) FROM STDIN"
    text = "".join("\t".join(row) + "\n" for row in rows)
    # Errors raised by the driver's copy become Django's (IntegrityError, ...), as a query's do.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        raw = cursor.cursor
        if hasattr(raw, "copy_expert"):  # psycopg2
            raw.copy_expert(statement, io.StringIO(text))
        else:  # psycopg 3
            with raw.copy(statement) as copy:
                copy.write(text)


def _insert_returning(
    connection: BaseDatabaseWrapper,
    database: str,
    table: str,
    columns: Sequence[Field[Any, Any]],
    pk: Field[Any, Any] | None,
    rows: Sequence[list[Any]],
) -> list[int]:
    """Insert the rows by multi-row INSERTs (RETURNING the pk when one is named); return the pks in order."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in columns)
    one = f"({', '.join(['%s'] * len(columns))})"
    returning = f" RETURNING {quote(pk.column)}" if pk is not None else ""
    ids: list[int] = []
    with connection.cursor() as cursor:
        for batch in batched(rows, database, per_item=len(columns)):
            sql = f"INSERT INTO {quote(table)} ({names}) VALUES {', '.join([one] * len(batch))}{returning}"  # noqa: S608 - names only
            cursor.execute(sql, [value for row in batch for value in row])
            if pk is not None:
                ids += [row[0] for row in cursor.fetchall()]
    return ids
