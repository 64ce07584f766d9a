"""QR images of a join code's URL: PNG for print shops, SVG for posters, both from one module matrix.

Error correction is level H (30 % of the symbol may be lost): stickers at a depot
get scuffed, rained on and half covered by notices. Every image keeps the standard
four-module quiet zone, or cheap phone scanners lose the code against a busy wall.
Rendering is a pure function of (URL, size), so results are cached in the process
and the HTTP layer can answer a reprint with ``304 Not Modified`` from the ETag alone.
"""

from __future__ import annotations

import functools
import hashlib
import io

import qrcode
import qrcode.constants
from PIL import Image

MIN_SIZE = 100
MAX_SIZE = 4000
DEFAULT_SIZE = 600
QUIET_ZONE_MODULES = 4
# Bump when the rendering changes, so that ETags of old images stop matching.
RENDERING_VERSION = "1"


@functools.lru_cache(maxsize=1024)
def module_matrix(url: str) -> tuple[tuple[bool, ...], ...]:
    """The QR symbol of ``url`` as rows of dark (True) / light modules, quiet zone included."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_H, border=QUIET_ZONE_MODULES)
    code.add_data(url)
    code.make(fit=True)
    return tuple(tuple(bool(cell) for cell in row) for row in code.get_matrix())


def image_etag(url: str, kind: str, size: int) -> str:
    """A strong validator for the image: it changes exactly when the pixels would."""
    digest = hashlib.sha256(f"{RENDERING_VERSION}|{kind}|{size}|{url}".encode()).hexdigest()
    return digest[:32]


@functools.lru_cache(maxsize=256)
def render_png(url: str, size: int) -> bytes:
    """A ``size`` × ``size`` 1-bit PNG; modules are whole pixels, the remainder widens the margin."""
    matrix = module_matrix(url)
    modules = len(matrix)
    box = max(1, size // modules)
    symbol = Image.new("1", (modules, modules), 1)
    symbol.putdata([0 if dark else 1 for row in matrix for dark in row])
    symbol = symbol.resize((modules * box, modules * box), Image.Resampling.NEAREST)
    side = max(size, modules * box)
    canvas = Image.new("1", (side, side), 1)
    offset = (side - modules * box) // 2
    canvas.paste(symbol, (offset, offset))
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()


@functools.lru_cache(maxsize=256)
def render_svg(url: str, size: int) -> str:
    """A standalone SVG document (also inlined in the poster): one path of horizontal runs."""
    matrix = module_matrix(url)
    modules = len(matrix)
    runs: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < modules:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < modules and row[x]:
                x += 1
            runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {modules} {modules}" shape-rendering="crispEdges">'
        f'<rect width="{modules}" height="{modules}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>'
    )
