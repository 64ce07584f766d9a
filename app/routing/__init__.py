"""Routing: which union receives an application, the admins' override rules, and the explain endpoint."""
