"""Streaming spreadsheet writers: CSV (UTF-8 with BOM) and XLSX (openpyxl write-only), formula-inert.

Both take an iterator of rows and yield bytes, so a response never holds more than
a chunk of rows: the CSV is written a few hundred rows at a time; the XLSX sheet is
streamed by openpyxl's write-only mode into a temporary file (an XLSX is a ZIP
whose directory comes last, so it can only be sent once complete) and the file is
then sent in chunks and removed.

Formula injection (CSV injection): a spreadsheet evaluates a cell that begins with
``=``, ``+``, ``-`` or ``@`` (and, in some, a leading tab or carriage return). Any
text an applicant or officer typed (names, employer names, decision reasons) may
begin so, so every such cell gets a leading ``'``, the spreadsheet convention for
"this is text" (OWASP's recommendation). openpyxl would even store a string
beginning with ``=`` as a formula; the prefix stops that too.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

BOM = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
CSV_ROWS_PER_CHUNK = 500
FILE_CHUNK_BYTES = 64 * 1024


def inert(value: object) -> str:
    """The cell text of ``value``, never read by a spreadsheet as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[bytes]:
    """A CSV file with a BOM (so Excel in China reads UTF-8), ``\\r\\n`` line ends, in chunks of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([inert(cell) for cell in header])
    pending = 0
    for row in rows:
        writer.writerow([inert(cell) for cell in row])
        pending += 1
        if pending >= CSV_ROWS_PER_CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


def xlsx_chunks(header: Sequence[str], rows: Iterable[Sequence[object]], *, title: str) -> Iterator[bytes]:
    """An XLSX workbook of one sheet, written in openpyxl's write-only mode, then sent in chunks."""
    handle, path = tempfile.mkstemp(prefix="ruhui-export-", suffix=".xlsx")
    os.close(handle)
    try:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title=title)
        sheet.append([_xlsx_cell(cell) for cell in header])
        for row in rows:
            sheet.append([_xlsx_cell(cell) for cell in row])
        workbook.save(path)
        with open(path, "rb") as stream:
            while chunk := stream.read(FILE_CHUNK_BYTES):
                yield chunk
    finally:
        os.unlink(path)


def _xlsx_cell(value: object) -> str:
    # XML 1.0 cannot hold most control characters; openpyxl refuses them rather than write a broken file.
    # Stripped before the formula check, so a control character cannot hide a leading "=".
    return inert(ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value)))
