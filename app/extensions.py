"""Extension objects, created once and bound to an app in ``create_app``."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_smorest import Api

from app.errors import ErrorSchema


class RuhuiApi(Api):  # type: ignore[misc]  # flask-smorest ships no type hints
    """flask-smorest's Api, with our envelope documented and its own error handler left out.

    ``app.errors`` renders every error; flask-smorest's handler would answer with
    a different body, so it is not registered.
    """

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        pass


api = RuhuiApi()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)
