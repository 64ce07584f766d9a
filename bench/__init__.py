"""Benchmarks: ``.venv/bin/python -m bench.<name>`` prints its figures."""
