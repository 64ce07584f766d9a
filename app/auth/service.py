"""Account rules: officers and their passwords."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.auth.models import OFFICER_ROLES, Officer
from app.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from app.errors import Conflict, ValidationFailed


def create_officer(session: Session, *, username: str, password: str, name: str, union_id: int, role: str) -> Officer:
    if role not in OFFICER_ROLES:
        raise ValidationFailed(errors={"role": ["角色须为 reviewer、admin 或 viewer"]})
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(errors={"password": [f"密码长度不能少于 {MIN_PASSWORD_LENGTH} 位"]})
    if session.scalar(sa.select(Officer.id).where(Officer.username == username)) is not None:
        raise Conflict("用户名已被使用", code="username_taken")
    officer = Officer(
        username=username, password_hash=hash_password(password), name=name, union_id=union_id, role=role, active=True
    )
    session.add(officer)
    session.flush()
    return officer


def find_officer(session: Session, username: str) -> Officer | None:
    return session.scalars(sa.select(Officer).where(Officer.username == username)).first()
