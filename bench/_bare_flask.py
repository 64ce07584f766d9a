"""The yardstick of ``bench.http``: a bare Flask app answering a small JSON, with no middleware at all."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/ping")
def ping() -> dict[str, str]:
    return {"status": "ok"}
