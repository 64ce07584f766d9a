"""Benchmarks: each module has a ``main(argv)`` that prints its figures. ``python -m bench`` runs them all."""
