"""Open a CSV the way a spreadsheet user does: through LibreOffice Calc's own CSV import, with its defaults.

``soffice --headless --convert-to xlsx`` runs the same import filter as File → Open;
the only option given is the character set (UTF-8, which the import dialog picks for
a file that starts with a UTF-8 BOM): separators, column types and number recognition
stay LibreOffice's defaults. The XLSX it writes is read back with openpyxl, so a test
sees each cell as Calc stored it: a number, a date, a string, or a formula.

Each run uses a profile of its own (``-env:UserInstallation``), so parallel runs and a
desktop LibreOffice never share one.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import openpyxl
from openpyxl.cell.cell import Cell

CSV_UTF8 = "CSV:44,34,76"  # field separator ",", text delimiter '"', character set 76 = UTF-8
TIMEOUT_SECONDS = 180


def open_csv_in_calc(soffice: str, data: bytes, workdir: Path, profile: Path) -> list[list[Cell]]:
    """The cells of the first sheet, as LibreOffice Calc imported ``data`` (a CSV file's bytes)."""
    source = workdir / "export.csv"
    source.write_bytes(data)
    completed = subprocess.run(  # noqa: S603  # a fixed command line; the only input is a file we wrote
        [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            f"--infilter={CSV_UTF8}",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(workdir),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    converted = workdir / "export.xlsx"
    assert converted.exists(), (completed.returncode, completed.stdout, completed.stderr)
    workbook = openpyxl.load_workbook(converted)
    try:
        return [list(row) for row in workbook.worksheets[0].iter_rows()]
    finally:
        workbook.close()


def open_xlsx_in_calc(soffice: str, data: bytes, workdir: Path, profile: Path) -> openpyxl.Workbook:
    """The workbook as LibreOffice Calc opened ``data`` (an XLSX file's bytes) and saved it again.

    A file Calc cannot read fails here (no output); what comes back is what Calc made of each cell.
    """
    source = workdir / "report.xlsx"
    source.write_bytes(data)
    outdir = workdir / "saved"
    outdir.mkdir(exist_ok=True)
    completed = subprocess.run(  # noqa: S603  # a fixed command line; the only input is a file we wrote
        [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(outdir),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    converted = outdir / "report.xlsx"
    assert converted.exists(), (completed.returncode, completed.stdout, completed.stderr)
    return openpyxl.load_workbook(converted)
