"""Run every benchmark in this package, one after another: ``.venv/bin/python -m bench``."""

from __future__ import annotations

import importlib
import pkgutil

import bench


def main() -> None:
    for module_info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{module_info.name}")
        if hasattr(module, "main"):
            print(f"== bench.{module_info.name}")
            module.main([])
            print()


if __name__ == "__main__":
    main()
