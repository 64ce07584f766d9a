"""The ``postgres`` marker: such tests run on PostgreSQL and are skipped, saying why, on SQLite."""

from __future__ import annotations

import pytest

INNER_TESTS = """
import pytest

@pytest.mark.postgres
def test_needs_postgres():
    pass

@pytest.mark.parametrize("n", [1, pytest.param(2, marks=pytest.mark.postgres)])
def test_some_cases_need_postgres(n):
    pass
"""


@pytest.fixture
def inner(pytester):
    """A test directory of its own that uses the suite's hook."""
    pytester.makeconftest("from tests.conftest import pytest_collection_modifyitems  # noqa: F401\n")
    pytester.makeini("[pytest]\nmarkers =\n    postgres: needs PostgreSQL\n")
    pytester.makepyfile(INNER_TESTS)
    return pytester


def test_marked_tests_are_skipped_on_sqlite(inner, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///somewhere.sqlite3")
    result = inner.runpytest_inprocess("-rs")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["*needs PostgreSQL*"])


def test_marked_tests_run_on_postgres(inner, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/anything")
    inner.runpytest_inprocess().assert_outcomes(passed=3)
