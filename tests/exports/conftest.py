"""Fixtures for the exports: LibreOffice Calc's own CSV import, to open an export as a user does."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest
from openpyxl.cell.cell import Cell

from tests.exports.libreoffice import open_csv_in_calc


@pytest.fixture(scope="session")
def calc(tmp_path_factory: pytest.TempPathFactory) -> Callable[[bytes], list[list[Cell]]]:
    """``calc(csv_bytes)`` → the cells LibreOffice Calc imports from that CSV (one profile for the run)."""
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.fail("LibreOffice Calc is missing: `make test` installs it (apt-get install libreoffice-calc)")
    profile = tmp_path_factory.mktemp("libreoffice-profile")

    def open_csv(data: bytes) -> list[list[Cell]]:
        return open_csv_in_calc(soffice, data, tmp_path_factory.mktemp("calc"), profile)

    return open_csv
