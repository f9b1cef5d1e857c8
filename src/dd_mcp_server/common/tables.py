"""Lists of records as tables: a header of columns, one line per record, shared values said once.

In JSON every record repeats every key; a model reads sixty monitors or fifty logs for a fraction
of the tokens as a table. The table is written in TOON (the `toon-format` package), whose tabular
arrays are exactly this (`monitors[2]{id,name}:` then one line per record) and which quotes and
escapes whatever needs it, so every cell, newlines and delimiters included, decodes back intact
and with its type. CSV was measured too: 3-10% smaller on the demo organisation, but it loses
types (`"304"` and `304`, null and `""` read the same) and splits a cell with a newline over lines.

A record becomes a row when every value is a scalar: nested objects are flattened to dotted
columns (`http.status_code`), lists of objects to numbered ones (`links.0.url`), and lists of
scalars are joined into one cell with commas.
"""

from __future__ import annotations

from collections import deque
from typing import Any

SHARED = "all_rows"  # the values every row has, said once above the rows
EVERY_ROW = ", in every row too"  # after a list field's name in SHARED: items every row's list also holds
JOIN = ","

Scalar = str | int | float | bool | None
_MISSING = object()


def flatten(record: dict[str, Any]) -> dict[str, Scalar] | None:
    """`record` as one row: nested objects as dotted columns, lists of scalars joined into one cell,
    lists of objects as numbered columns (`links.0.url`); None if it cannot be a row.

    A key holding a dot could not be told from a nested one, an empty key cannot be a column, and
    a list mixing objects with other values (or holding lists) has no column form: such a record
    is not flattened. Columns come level by level, in the record's order.
    """
    flat: dict[str, Scalar] = {}
    pending: deque[tuple[str, dict[str, Any]]] = deque([("", record)])
    while pending:
        prefix, node = pending.popleft()
        for key, value in node.items():
            if not isinstance(key, str) or not key or "." in key:
                return None
            column = prefix + key
            if isinstance(value, dict):
                pending.append((column + ".", value))
            elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
                pending.extend((f"{column}.{index}.", item) for index, item in enumerate(value))
            elif isinstance(value, list):
                if not _scalars(value):
                    return None
                flat[column] = JOIN.join(_cell_text(item) for item in value)
            else:
                flat[column] = value
    return flat


def common_items(records: list[dict[str, Any]]) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The items of a list field that every record's list holds (`env:prod` in every monitor's tags),
    said once as `{"tags, in every row too": "env:prod"}`, and the records without them.

    Only top-level lists of scalars, and only across two records or more; items are equal when of
    one type and value (1 and true differ).
    """
    if len(records) < 2:
        return {}, records
    said: dict[str, str] = {}
    common: dict[str, set[tuple[type, Scalar]]] = {}
    for key, value in records[0].items():
        if isinstance(value, list) and value and _scalars(value):
            every = {(type(item), item) for item in value}
            for record in records[1:]:
                other = record.get(key)
                every &= {(type(i), i) for i in other} if isinstance(other, list) and _scalars(other) else set()
            if every:
                common[key] = every
                said[key + EVERY_ROW] = JOIN.join(_cell_text(i) for i in value if (type(i), i) in every)
    if not common:
        return {}, records
    rest = [
        {k: [i for i in v if (type(i), i) not in common[k]] if k in common else v for k, v in record.items()}
        for record in records
    ]
    return said, rest


def _scalars(items: list[Any]) -> bool:
    """No item is an object or a list: the list fits in one cell."""
    return not any(isinstance(item, dict | list) for item in items)


def _cell_text(item: Scalar) -> str:
    """A list item as JSON would write it: `true`, `null`, `1.5`, or the string itself."""
    if item is None:
        return "null"
    if isinstance(item, bool):
        return "true" if item else "false"
    return str(item)


def tabulate(records: list[dict[str, Any]]) -> tuple[dict[str, Scalar], list[dict[str, Scalar]]] | None:
    """The values shared by every flat record, and the rows with one column each for the rest; None if a
    value is not a scalar (the records could not be flattened).

    Columns keep the order in which they first appear. A column empty in every row is dropped; a
    row without a column has null there (in a list view, null and absent mean the same). A value
    shared by every row of two or more moves above the table.
    """
    if not records or any(isinstance(value, dict | list) for record in records for value in record.values()):
        return None
    rows: list[dict[str, Scalar]] = records
    columns = [c for c in dict.fromkeys(c for row in rows for c in row) if any(_filled(row.get(c)) for row in rows)]
    first = rows[0]
    shared = {
        c: first[c] for c in columns if len(rows) > 1 and c in first and all(_same(row, c, first) for row in rows)
    }
    own = [c for c in columns if c not in shared]
    if not own:  # every row alike: keep them as rows, or the table would be empty
        shared, own = {}, columns
    return shared, [{c: row.get(c) for c in own} for row in rows]


def _same(row: dict[str, Scalar], column: str, first: dict[str, Scalar]) -> bool:
    """The row has the first row's value in `column`, of the same type (1, 1.0 and true differ)."""
    value = row.get(column, _MISSING)
    return type(value) is type(first[column]) and value == first[column]


def _filled(value: Scalar) -> bool:
    return value is not None and value != ""


def toon(document: dict[str, Any]) -> str:
    """`document` as TOON text. Imported on first use: a session that never lists pays nothing."""
    import toon_format

    return toon_format.encode(document)
