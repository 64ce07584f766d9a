"""Streaming spreadsheet writers: CSV (UTF-8 with BOM) and XLSX (openpyxl write-only), formula-inert.

Both take an iterator of rows and yield bytes, so a response never holds more than
a chunk of rows: the CSV is written a few hundred rows at a time; the XLSX sheet is
streamed by openpyxl's write-only mode into a temporary file (an XLSX is a ZIP
whose directory comes last, so it can only be sent once complete) and the file is
then sent in chunks and removed. A cell is text, a time (a naive ``datetime`` in the
officers' time zone) or empty.

Formula injection (CSV injection): a spreadsheet evaluates a cell that begins with
``=``, ``+``, ``-`` or ``@`` (and, in some, a leading tab or carriage return). Any
text an applicant or officer typed (names, employer names, decision reasons) may
begin so, so every such cell gets a leading ``'``, the spreadsheet convention for
"this is text" (OWASP's recommendation). openpyxl would even store a string
beginning with ``=`` as a formula; the prefix stops that too.

Numbers that are not quantities (CSV): a spreadsheet opening a CSV reads a cell of
digits as a number and keeps 15 significant digits, so an ID number became
``3.20102199005171E+017``, a 16-digit member number lost its last digit and leading
zeros go. A CSV carries no types, so such a cell must not look like a number to the
importer. Of the known ways:

- ``="320102…"`` is a formula by construction: it shows the text only where the
  importer evaluates formulas (Excel does, and so did LibreOffice 7.4 when tried; an
  importer that does not shows ``="…"``), and it breaks "no cell is a formula".
- a leading ``'`` is an input convention, not a file one: Excel and LibreOffice show
  the apostrophe as part of the text.
- a leading tab (what we do): the cell is no number, so Excel and WPS (the usual
  practice of Chinese CSV exports of ID numbers) and LibreOffice (read back through
  its own CSV import in ``tests/exports``) keep it as text with every digit; the tab
  does not show. It cannot start a formula, and a cell of digits holds nothing else.
  The cost: a copied cell carries the tab, and LibreOffice's "Trim spaces" import
  option (off by default) would undo it.

The XLSX needs none of this: it stores text as text, times as date cells (shown
``yyyy-mm-dd hh:mm``), and gives each column a width.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

BOM = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "\t"  # before a CSV cell of digits, so the importer keeps it as text (see above)
_DIGITS = re.compile(r"[0-9]+")
CSV_TIME_FORMAT = "%Y-%m-%d %H:%M"  # what LibreOffice and Excel read as a date and time
XLSX_TIME_FORMAT = "yyyy-mm-dd hh:mm"
CSV_ROWS_PER_CHUNK = 500
FILE_CHUNK_BYTES = 64 * 1024

Cell = str | dt.datetime | None


@dataclass(frozen=True)
class Column:
    title: str
    width: float  # in characters, as spreadsheets measure columns (a Chinese character takes about two)


def inert(value: object) -> str:
    """The cell text of ``value``, never read by a spreadsheet as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _csv_cell(value: Cell) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime(CSV_TIME_FORMAT)
    text = inert(value)
    return TEXT_MARK + text if _DIGITS.fullmatch(text) else text


def csv_chunks(columns: Sequence[Column], rows: Iterable[Sequence[Cell]]) -> Iterator[bytes]:
    """A CSV file with a BOM (so Excel in China reads UTF-8), ``\\r\\n`` line ends, in chunks of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([inert(column.title) for column in columns])
    pending = 0
    for row in rows:
        writer.writerow([_csv_cell(cell) for cell in row])
        pending += 1
        if pending >= CSV_ROWS_PER_CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


def xlsx_chunks(columns: Sequence[Column], rows: Iterable[Sequence[Cell]], *, title: str) -> Iterator[bytes]:
    """An XLSX workbook of one sheet, written in openpyxl's write-only mode, then sent in chunks."""
    handle, path = tempfile.mkstemp(prefix="ruhui-export-", suffix=".xlsx")
    os.close(handle)
    try:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title=title)
        for number, column in enumerate(columns, start=1):  # before the first row: <cols> precedes the data
            sheet.column_dimensions[get_column_letter(number)].width = column.width
        sheet.append([_xlsx_text(column.title) for column in columns])
        for row in rows:
            sheet.append([_xlsx_cell(sheet, cell) for cell in row])
        workbook.save(path)
        with open(path, "rb") as stream:
            while chunk := stream.read(FILE_CHUNK_BYTES):
                yield chunk
    finally:
        os.unlink(path)


def _xlsx_cell(sheet: Any, value: Cell) -> Any:  # openpyxl has no type hints: a str or a WriteOnlyCell
    if isinstance(value, dt.datetime):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = XLSX_TIME_FORMAT
        return cell
    return _xlsx_text(value)


def _xlsx_text(value: object) -> str:
    # XML 1.0 cannot hold most control characters; openpyxl refuses them rather than write a broken file.
    # Stripped before the formula check, so a control character cannot hide a leading "=".
    return inert(ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value)))
