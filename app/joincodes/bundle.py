"""The print-shop bundle: a ZIP of many stations' QR PNGs and a manifest, written as it is sent.

The archive is produced chunk by chunk (``zipfile`` writes data descriptors when
its output cannot seek), so a bundle of two thousand stations starts downloading
at once and never sits whole in memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator, Sequence

from app.joincodes import qr
from app.joincodes.service import PrintItem, join_url

_UNSAFE_IN_FILENAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _ChunkSink(io.RawIOBase):
    """A write-only, unseekable stream whose written bytes are taken out chunk by chunk."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]  # RawIOBase declares a broader buffer type
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def png_filename(item: PrintItem) -> str:
    name = _UNSAFE_IN_FILENAME.sub("_", item.station_name).strip(" ._")[:60] or "station"
    return f"{item.station_id}-{name}.png"


def _cell(value: str) -> str:
    # A station name starting with "=" must not become a formula when the print shop opens the CSV in Excel.
    return "'" + value if value.startswith(_CSV_FORMULA_START) else value


def manifest_csv(items: Sequence[PrintItem], base_url: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["station_id", "station_name", "file", "url", "status"])
    for item in items:
        if item.token is None:
            writer.writerow([item.station_id, _cell(item.station_name), "", "", "no_live_code"])
        else:
            url = join_url(base_url, item.token)
            writer.writerow([item.station_id, _cell(item.station_name), png_filename(item), url, "ok"])
    # A BOM, so that Excel on a print shop's Windows PC reads the Chinese names as UTF-8.
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def stream_png_bundle(items: Sequence[PrintItem], *, base_url: str, size: int) -> Iterator[bytes]:
    """Yield a ZIP with one PNG per station that has a live code, plus ``manifest.csv`` listing every station."""
    sink = _ChunkSink()
    stamp = dt.datetime.now(dt.UTC).timetuple()[:6]
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(zipfile.ZipInfo("manifest.csv", stamp), manifest_csv(items, base_url))
        yield sink.take()
        for item in items:
            if item.token is None:
                continue
            # PNGs are already compressed: store them, spend no CPU on deflate.
            png = qr.render_png(join_url(base_url, item.token), size)
            archive.writestr(zipfile.ZipInfo(png_filename(item), stamp), png)
            yield sink.take()
    yield sink.take()
