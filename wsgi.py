"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi``."""

import sys

from app import create_app
from app.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    print(f"ruhui: {exc}", file=sys.stderr)
    raise SystemExit(2) from None
