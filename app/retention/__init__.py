"""Erasing personal data that nothing holds any more, on a schedule and on the worker's request."""
