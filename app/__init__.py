"""Ruhui (入会): the union-enrollment backend. ``create_app`` reads like a table of contents."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask_limiter import Limiter
from werkzeug.middleware.proxy_fix import ProxyFix

from app import docs, headers, inputs, ratelimits, web
from app.auth import passwords
from app.config import Settings, load_settings
from app.db import db as database
from app.docs import SWAGGER_UI_STATIC
from app.errors import register_error_handlers
from app.extensions import api, limiter
from app.observability import configure_logging, init_request_tracing
from app.privacy import init_keyring

API_PREFIX = "/api/v1"

# Flask-Limiter's after-request and teardown hooks (name-mangled privates), dropped by ``_drop_limiter_hooks``.
_LIMITER_HEADERS = vars(Limiter)["_Limiter__inject_headers"]
_LIMITER_RELEASE = vars(Limiter)["_Limiter__release_context"]

_ASYNC_FLAGS = inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE


class Ruhui(Flask):
    """Flask, with the check whether a hook or view is ``async`` made cheap (all of ours are plain functions).

    Flask asks ``inspect.iscoroutinefunction`` of every hook and view on every request (eight
    times a request here); for a function or bound method the answer is in its code's flags.
    """

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        code = getattr(func, "__code__", None)  # a function, or a bound method (which passes it through)
        if code is not None and not code.co_flags & _ASYNC_FLAGS:
            return func
        return super().ensure_sync(func)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app; ``test_config`` overrides settings (field names of ``Settings``)."""
    app = Ruhui(__name__, instance_path=str(Path(__file__).resolve().parent.parent / "instance"))
    settings = load_settings(Path(app.instance_path), test_config)
    configure_app(app, settings)
    configure_logging(settings.log_level, access_flush_ms=settings.access_log_interval_ms)
    register_extensions(app, settings)
    register_blueprints(app)
    web.init_app(app, settings)
    register_error_handlers(app)
    register_commands(app)
    return app


def configure_app(app: Flask, settings: Settings) -> None:
    app.extensions["ruhui.settings"] = settings
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # DefaultJSONProvider option; Chinese as UTF-8 is half the bytes of \u escapes
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.env == "test",
        MAX_CONTENT_LENGTH=10 * 1024 * 1024,
        API_TITLE="Ruhui 入会 API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL=SWAGGER_UI_STATIC,
        API_SPEC_OPTIONS={
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
            },
            "info": {"description": "Union enrollment for new-economy workers. Errors share one envelope."},
        },
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        RATELIMIT_KEY_PREFIX=settings.ratelimit_key_prefix,
        # A storage that is down raises limits' StorageError, which app.errors answers with a 503.
        RATELIMIT_STORAGE_OPTIONS={
            "wrap_exceptions": True,
            **ratelimits.storage_options(settings.ratelimit_storage_uri),
        },
    )
    if settings.trusted_proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxy_hops, x_proto=settings.trusted_proxy_hops)  # type: ignore[method-assign]  # the documented way to add WSGI middleware


def register_extensions(app: Flask, settings: Settings) -> None:
    init_request_tracing(app)
    inputs.init_app(app)
    headers.init_app(app)
    passwords.use_test_profile(settings.env == "test")
    database.init_app(app, settings.database_url, settings.database_read_url)
    init_keyring(app, settings)
    limiter.init_app(app)
    _drop_limiter_hooks(app)
    ratelimits.init_app(app)
    api.init_app(app)
    docs.init_spec(api)


def _drop_limiter_hooks(app: Flask) -> None:
    """Flask-Limiter's per-request hooks, which only cost time here (15 % of a ``/healthz`` with all three).

    No default or blueprint limits: a view's own ``limiter.limit`` decorator checks its limit when
    called. No ``deduct_when`` limits and no rate-limit headers, which are all its after-request hook
    serves; and its request context lives on Flask's request context, gone with it, so the teardown
    that resets it has nothing to do.
    """
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    app.after_request_funcs[None] = [
        hook for hook in app.after_request_funcs[None] if getattr(hook, "func", None) is not _LIMITER_HEADERS
    ]
    app.teardown_request_funcs[None] = [
        hook for hook in app.teardown_request_funcs[None] if getattr(hook, "__func__", None) is not _LIMITER_RELEASE
    ]
    assert not app.config.get("RATELIMIT_HEADERS_ENABLED"), "rate-limit headers need Flask-Limiter's after-request hook"


def register_blueprints(app: Flask) -> None:
    from app import health
    from app.audit.api import blp as audit_blp
    from app.auth import api as auth_api
    from app.joincodes import api as joincodes_api
    from app.metrics import api as metrics_api

    app.register_blueprint(health.bp)
    app.register_blueprint(metrics_api.bp)
    app.register_blueprint(docs.bp)
    api.register_blueprint(auth_api.auth_blp, url_prefix=f"{API_PREFIX}/auth")
    api.register_blueprint(auth_api.officers_blp, url_prefix=f"{API_PREFIX}/officers")
    api.register_blueprint(audit_blp, url_prefix=f"{API_PREFIX}/audit")
    api.register_blueprint(joincodes_api.blp, url_prefix=API_PREFIX)
    api.register_blueprint(joincodes_api.join_blp, url_prefix=API_PREFIX)

    from app.directory import api as directory_api
    from app.founding import api as founding_api
    from app.routing import api as routing_api

    for blueprint, url_prefix in (*directory_api.BLUEPRINTS, *routing_api.BLUEPRINTS, *founding_api.BLUEPRINTS):
        api.register_blueprint(blueprint, url_prefix=url_prefix)

    from app.enrollment import api as enrollment_api

    api.register_blueprint(enrollment_api.applications_blp, url_prefix=f"{API_PREFIX}/applications")
    api.register_blueprint(enrollment_api.me_blp, url_prefix=f"{API_PREFIX}/me")
    api.register_blueprint(enrollment_api.cards_blp, url_prefix=f"{API_PREFIX}/cards")

    from app.review import api as review_api

    api.register_blueprint(review_api.blp, url_prefix=f"{API_PREFIX}/review")

    from app.memberships import api as memberships_api

    api.register_blueprint(memberships_api.blp, url_prefix=f"{API_PREFIX}/review/memberships")
    api.register_blueprint(memberships_api.unions_blp, url_prefix=f"{API_PREFIX}/unions")

    from app.exports import api as exports_api
    from app.stats import api as stats_api

    api.register_blueprint(stats_api.blp, url_prefix=f"{API_PREFIX}/stats")
    api.register_blueprint(exports_api.blp, url_prefix=f"{API_PREFIX}/exports")

    from app import console

    console.init_app(app)


def register_commands(app: Flask) -> None:
    from app import cli

    cli.register(app)
