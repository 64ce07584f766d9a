"""Imports every feature's models, so ``Base.metadata`` (Alembic, tests) sees all tables."""

from app.auth import models as auth_models
from app.directory import models as directory_models
from app.routing import models as routing_models

__all__ = ["auth_models", "directory_models", "routing_models"]
