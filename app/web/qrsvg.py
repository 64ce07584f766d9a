"""A compact inline SVG QR code for the member card on a phone screen.

The poster's renderer (``app.joincodes.qr``) draws filled rectangles at the highest error
correction, for paper that gets scuffed. A screen is not scuffed, and the card token is
long: here error correction M keeps the symbol small, and each row is one stroked line of
relative moves, a third of the bytes, so the card page stays well inside its 30 KB.
"""

from __future__ import annotations

import functools

import qrcode
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE = 4


@functools.lru_cache(maxsize=64)
def screen_svg(text: str) -> str:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()
    size = len(matrix)
    moves: list[str] = []
    for y, row in enumerate(matrix):
        x, pen = 0, 0  # pen: where the last stroke on this row ended
        line: list[str] = []
        while x < size:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < size and row[x]:
                x += 1
            line.append(f"m{start - pen} 0h{x - start}")
            pen = x
        if line:
            moves.append(f"M0 {y}.5" + "".join(line))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path stroke="#000" d="{"".join(moves)}"/></svg>'
    )
