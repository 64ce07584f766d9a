"""GB/T 2260 administrative divisions, read from the TSV files shipped in ``data/``.

Containment follows the code: ``320102`` (玄武区) is inside ``320100`` (南京市),
which is inside ``320000`` (江苏省). Another province is added by dropping its
``regions-<name>.tsv`` (same columns) beside Jiangsu's.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
LEVELS = ("province", "city", "county")


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: str
    parent_code: str | None


@functools.cache
def all_regions() -> dict[str, Region]:
    return load_regions(DATA_DIR)


def load_regions(data_dir: Path) -> dict[str, Region]:
    """Every ``regions-*.tsv`` in ``data_dir`` (columns: code, name, level, parent)."""
    regions: dict[str, Region] = {}
    for path in sorted(data_dir.glob("regions-*.tsv")):
        # Strip every field: a stray CR or space must not end up inside a region's name.
        text = path.read_text(encoding="utf-8-sig").replace("\r", "")
        for row in csv.DictReader(text.splitlines(), delimiter="\t"):
            code, name, level, parent = (row[k].strip() for k in ("code", "name", "level", "parent"))
            if len(code) != 6 or not code.isdigit() or level not in LEVELS or not name:
                raise ValueError(f"{path.name}: malformed region row {row!r}")
            regions[code] = Region(code, name, level, parent or None)
    return regions


def get_region(code: str) -> Region | None:
    return all_regions().get(code)


def is_valid_region_code(code: str) -> bool:
    return code in all_regions()


def ancestors(code: str) -> list[str]:
    """The region and every region containing it, most specific first."""
    return list(_ancestor_chain(code))


@functools.lru_cache(maxsize=4096)
def _ancestor_chain(code: str) -> tuple[str, ...]:
    # Routing asks this for hundreds of candidate unions per decision; the data never changes while running.
    chain: list[str] = []
    region = get_region(code)
    while region is not None:
        chain.append(region.code)
        region = get_region(region.parent_code) if region.parent_code else None
    return tuple(chain)


def contains(outer: str, inner: str) -> bool:
    """True when region ``outer`` is ``inner`` or contains it."""
    return outer in _ancestor_chain(inner)


def within(code: str) -> list[str]:
    """Every known region inside ``code``, itself included (for "in this region" filters)."""
    return [c for c in all_regions() if contains(code, c)]


@functools.lru_cache(maxsize=4096)
def display_name(code: str) -> str:
    """How an officer names a place: ``南京市玄武区``, ``南京市``, ``江苏省`` (the province is implied below it)."""
    chain = [get_region(c) for c in reversed(_ancestor_chain(code))]
    names = [r.name for r in chain if r is not None]
    if not names:
        return code
    return names[0] if len(names) == 1 else "".join(names[1:])


def full_name(code: str) -> str:
    """``江苏省南京市玄武区`` for ``320102``."""
    return "".join(get_region(c).name for c in reversed(ancestors(code)))  # type: ignore[union-attr]  # ancestors() only yields known codes
