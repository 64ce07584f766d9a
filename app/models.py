"""Imports every feature's models, so ``Base.metadata`` (Alembic, tests) sees all tables."""

from app.audit import models as audit_models
from app.auth import models as auth_models
from app.directory import models as directory_models
from app.enrollment import models as enrollment_models
from app.founding import models as founding_models
from app.joincodes import models as joincodes_models
from app.notify import models as notify_models
from app.routing import models as routing_models
from app.stats import models as stats_models

__all__ = [
    "audit_models",
    "auth_models",
    "directory_models",
    "enrollment_models",
    "founding_models",
    "joincodes_models",
    "notify_models",
    "routing_models",
    "stats_models",
]
