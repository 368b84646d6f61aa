"""Tables as a librarian reads them: codes named in the current language, headers translated,
so the page and its CSV download show the same rows and words."""

from __future__ import annotations

from libcrm.workspace import web
from libcrm.workspace.vocabulary import label


def labelled(table: web.Table, headers: dict[str, str], kinds: dict[str, str] | None = None):
    """A copy of ``table`` with the codes of the columns in ``kinds`` (column -> vocabulary
    kind) named by :func:`label` and a header per column (``headers``: column -> header).

    Parameters
    ----------
    table : web.Table
        Rows as the query returned them.
    headers : dict
        The translated header of every column, in the table's column order.
    kinds : dict, optional
        Columns holding codes of a vocabulary kind, e.g. ``{"category": "event_category"}``.

    Returns
    -------
    web.Table
        Same columns and rows, codes replaced by names, with ``headers`` set.
    """
    kinds = kinds or {}
    positions = {table.columns.index(column): kind for column, kind in kinds.items()}
    rows = [
        tuple(
            label(positions[i], value) if i in positions else value for i, value in enumerate(row)
        )
        for row in table.rows
    ]
    return web.Table(table.columns, rows, [headers[column] for column in table.columns])
