"""An Excel workbook of a report's tables (openpyxl): one sheet per table, headers bold, columns sized.

Compare and optimize write every table of their report here too, so a planner can open the numbers in a
spreadsheet program. Values are written as numbers (NaN and None as empty cells), text as text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from io import BytesIO
from pathlib import Path
from typing import Any

from sim.files import atomic_write

MAX_SHEET_NAME = 31  # Excel's limit


def _cell(v: Any) -> Any:
    if v is None:
        return None
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def workbook_bytes(sheets: Mapping[str, Sequence[Mapping[str, Any]]], notes: Mapping[str, str] | None = None) -> bytes:
    """The .xlsx bytes of {sheet name: rows}; `notes` puts a first line of text above a sheet's table."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name[:MAX_SHEET_NAME])
        first = 1
        if notes and name in notes:
            ws.cell(row=1, column=1, value=notes[name]).font = Font(italic=True)
            first = 3
        columns = list(dict.fromkeys(k for r in rows for k in r))
        for j, col in enumerate(columns, start=1):
            ws.cell(row=first, column=j, value=col).font = Font(bold=True)
            width = max([len(str(col))] + [len(str(_cell(r.get(col)) or "")) for r in rows[:200]])
            ws.column_dimensions[get_column_letter(j)].width = min(60, max(8, width + 2))
        for i, r in enumerate(rows, start=first + 1):
            for j, col in enumerate(columns, start=1):
                ws.cell(row=i, column=j, value=_cell(r.get(col)))
        ws.freeze_panes = ws.cell(row=first + 1, column=1)
    if not wb.sheetnames:
        wb.create_sheet("empty")
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_workbook(path: Path, sheets: Mapping[str, Sequence[Mapping[str, Any]]],
                   notes: Mapping[str, str] | None = None) -> Path:
    """Write the workbook atomically."""
    return atomic_write(path, workbook_bytes(sheets, notes))
