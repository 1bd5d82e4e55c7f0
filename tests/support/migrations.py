"""Rows written as an older schema revision had them, for tests of data migrations.

The models describe the newest schema: inserting through them after ``upgrade(revision=…)``
names columns the older tables do not have yet. ``insert_as_of`` writes only the columns the
table has, with the model's defaults for the rest (and its types, so encrypted columns are
encrypted).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def insert_as_of(connection: sa.Connection, model: Any, **values: Any) -> int:
    """Insert one row of ``model`` into its table as it is now in the database; returns its id."""
    table = model.__table__
    present = {column["name"] for column in sa.inspect(connection).get_columns(table.name)}
    row: dict[str, Any] = {}
    for column in table.columns:
        if column.name not in present:
            continue
        if column.name in values:
            row[column.name] = values[column.name]
        elif column.default is not None and not column.primary_key:
            default = column.default.arg
            row[column.name] = default(None) if callable(default) else default
    # A lightweight table of the columns present: the model's Table would add its newer columns' defaults.
    then = sa.table(table.name, *(sa.column(column.name, column.type) for column in table.columns
                                  if column.name in present))
    inserted = connection.execute(sa.insert(then).values(row).returning(then.c.id))
    return int(inserted.scalar_one())
