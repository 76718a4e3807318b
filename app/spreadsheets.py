"""CSV cells that a spreadsheet opens safely, and reads back as they were.

A cell beginning with = + - @ (or a tab or carriage return, which some
spreadsheets skip before looking) is run as a formula when the file is
opened: a client named `=HYPERLINK("http://…")` would become a link on a
supervisor's screen. Such a cell is written with a leading apostrophe, which
spreadsheets treat as "this is text". The import takes that apostrophe off
again, so an exported file imports unchanged: `+12015550123:self` is written
as `'+12015550123:self` and read back as `+12015550123:self`.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def unescape_cell(text: str) -> str:
    """Undo escape_cell (only an apostrophe it would have added is removed)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def escape_row(values: list[Any]) -> list[Any]:
    return [escape_cell(value) for value in values]
