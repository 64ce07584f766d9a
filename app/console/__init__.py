"""The officer console at ``/console``: the same services as the API, as server-rendered pages.

Union officers sign in with their username and password into a signed, HttpOnly cookie
session (``officer_*`` keys, an idle timeout); every form carries a CSRF token. The pages
are a second door onto the services the JSON API uses, so scope and roles are checked
where they always are: in the services. Each module below is one area of the console.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


def init_app(app: Flask) -> None:
    """Register the console's pages and make the session cookie what a console needs."""
    from app.console import directory, founding, insight, joincodes, memberships, review, session  # noqa: F401  # they register views

    # Lax: a form posted from another site never carries the officer's cookie (CSRF tokens do the rest).
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SECURE"] = app.extensions["ruhui.settings"].is_production
    app.register_blueprint(bp)
