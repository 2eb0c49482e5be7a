"""Rows inserted in bulk on the hot path (history, results, audit entries).

On PostgreSQL rows travel as column arrays (`INSERT ... SELECT * FROM unnest($1::type[], ...)`):
one parameter per column whatever the row count, so the statement's text is the same every
time. psycopg then caches its conversion (it re-parses any query of more than 50 parameters,
which a multi-row VALUES of 7 audit entries is) and prepares it after five uses. Several such
inserts, and a final statement, can be sent as data-modifying CTEs of one statement
(`write_together`): one round trip for a settling transaction's writes.

SQLite keeps SQLAlchemy's multi-row INSERT, one statement per table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    Executable,
    Insert,
    Select,
    Table,
    Update,
    bindparam,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from hub.store.arrays import array_type

Rows = list[dict[str, Any]]


def write_together(
    session: Session,
    inserts: Sequence[tuple[Table, Rows]],
    then: Update | None = None,
    then_params: Mapping[str, Any] | None = None,
) -> None:
    """Insert each table's rows, then run `then` (an UPDATE with named parameters): on
    PostgreSQL as one statement whose inserts are data-modifying CTEs, elsewhere one statement
    each, in the order given. A table without rows is left out."""
    present = [(table, rows) for table, rows in inserts if rows]
    if not present and then is None:
        return
    if session.get_bind().dialect.name != "postgresql":
        for table, rows in present:
            _insert_many(session, table, rows)
        if then is not None:
            session.execute(then, dict(then_params or {}))
        return
    shapes = tuple(array_insert(table, tuple(rows[0])) for table, rows in present)
    params: dict[str, Any] = dict(then_params or {})
    for shape, (_table, rows) in zip(shapes, present, strict=True):
        params.update(shape.params(rows))
    session.connection().execute(combined(shapes, then), params)


def _insert_many(session: Session, table: Table, rows: Rows) -> None:
    """SQLAlchemy's "insertmanyvalues" (a multi-row INSERT per 1,000 rows, which it applies to
    an executemany INSERT ... RETURNING): one compiled, cached statement and one round trip. A
    plain executemany sends one statement per row (measured on PostgreSQL: a third more
    server CPU for 7 rows), and a multi-row `.values(rows)` is compiled afresh every time
    (twice the client CPU)."""
    if session.get_bind().dialect.insert_executemany_returning:
        session.execute(insert(table).returning(*table.primary_key.columns), rows)
    else:  # SQLite before 3.35
        session.execute(insert(table), rows)


@dataclass(frozen=True, eq=False)
class ArrayInsert:
    """`INSERT INTO table (columns) SELECT * FROM unnest(:table__c1::type[], ...)`."""

    table: Table
    columns: tuple[str, ...]
    statement: Insert

    def params(self, rows: Rows) -> dict[str, list[Any]]:
        """One array per column, in row order (a row without one of the columns: KeyError)."""
        return {_param(self.table, name): [row[name] for row in rows] for name in self.columns}


@cache
def array_insert(table: Table, columns: tuple[str, ...]) -> ArrayInsert:
    """Built once per table and set of columns; each array's type is its column's
    (`hub.store.arrays`)."""
    arrays = [bindparam(_param(table, name), type_=array_type(table.c[name])) for name in columns]
    unnested: Select[Any] = select(literal_column("*")).select_from(func.unnest(*arrays))
    statement = insert(table).from_select(list(columns), unnested, include_defaults=False)
    return ArrayInsert(table, columns, statement)


def _param(table: Table, column: str) -> str:
    return f"{table.name}__{column}"


@cache
def combined(shapes: tuple[ArrayInsert, ...], then: Update | None) -> Executable:
    """One statement per combination of tables (and final statement): the last write is the
    statement, the ones before it its CTEs (PostgreSQL runs each exactly once)."""
    writes: list[Insert | Update] = [shape.statement for shape in shapes]
    if then is not None:
        writes.append(then)
    *before, last = writes
    return last.add_cte(*(write.cte(f"write_{i}") for i, write in enumerate(before)))
