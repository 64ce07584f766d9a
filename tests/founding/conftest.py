"""Fixtures of the founding tests: the small ledger of ``tests.founding.ledger``."""

from __future__ import annotations

from tests.founding.ledger import ledger  # noqa: F401  # a fixture, offered to every test here
