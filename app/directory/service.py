"""Directory rules: the union tree and its materialised paths, employers, stations, and officers' scope.

Every function that serves an officer takes an ``Actor`` as its ``scope`` (the officer's union and
its path, see ``app.actors``). Anything outside the scope answers exactly like something that does
not exist — a 404 — so an officer cannot learn what other unions hold.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.actors import Actor, within_subtree
from app.audit.service import record_event
from app.directory.models import Employer, Station, Union
from app.directory.regions import contains, display_name, is_valid_region_code, within
from app.enrollment.models import rehome_applications
from app.errors import Conflict, NotFound, ValidationFailed
from app.pagination import Page, paginate

log = logging.getLogger("ruhui.directory")

MAX_PATH_LENGTH = 400  # Union.path is VARCHAR(400)
_ID_DIGITS = 19  # the widest BIGINT id, so a child's path is at most this much longer than its parent's
MAX_EMPLOYER_CHAIN = 32  # HQ → branch → sub-branch…; deeper is a data error, not a company


def audit_change(session: Session, scope: Actor, action: str, record: Any, union_path: str, **details: Any) -> None:
    """Append the directory change to the audit trail (ids and field names only, never values)."""
    record_event(
        session,
        actor=scope,
        action=action,
        object_type=action.split(".", 1)[0],
        object_id=record.id,
        union_path=union_path,
        details=details,
    )


# --- unions ---------------------------------------------------------------------------------------------------------


def add_union(
    session: Session,
    *,
    name: str,
    kind: str,
    region_code: str,
    parent: Union | None = None,
    occupations: list[str] | None = None,
    employer_id: int | None = None,
    accepting: bool = True,
    external_code: str | None = None,
) -> Union:
    """Insert a union under ``parent`` and give it its materialised path."""
    if not is_valid_region_code(region_code):
        raise ValidationFailed(errors={"region_code": ["不是有效的行政区划代码"]})
    union = Union(
        name=name,
        kind=kind,
        region_code=region_code,
        parent_id=parent.id if parent else None,
        occupations=occupations or [],
        employer_id=employer_id,
        accepting=accepting,
        external_code=external_code,
        path="",
    )
    session.add(union)
    _flush(session)  # the id is part of the path
    union.path = f"{parent.path if parent else '/'}{union.id}/"
    _flush(session)
    return union


def ensure_root_federation(session: Session, *, name: str, region_code: str) -> Union:
    """The root federation of that name, created when absent."""
    existing = session.scalars(
        sa.select(Union).where(Union.parent_id.is_(None), Union.name == name).order_by(Union.id).limit(1)
    ).first()
    if existing is not None:
        return existing
    return add_union(session, name=name, kind="federation", region_code=region_code)


def get_union(session: Session, scope: Actor, union_id: int | None, *, missing: str = "工会不存在") -> Union:
    """The union, when it lies in the scope; otherwise a 404 that does not tell the two apart."""
    union = session.get(Union, union_id) if union_id else None
    if union is None or not scope.covers(union.path):
        raise NotFound(missing)
    return union


def create_union(
    session: Session,
    scope: Actor,
    *,
    name: str,
    kind: str,
    parent_id: int,
    region_code: str,
    occupations: list[str] | None = None,
    employer_id: int | None = None,
    accepting: bool = True,
    external_code: str | None = None,
) -> Union:
    """Add a union under a parent in the scope."""
    parent = get_union(session, scope, parent_id, missing="上级工会不存在")
    occupations = _unique(occupations or [])
    if employer_id is not None:
        get_employer(session, scope, employer_id, missing="用人单位不存在")
    errors = _union_shape_errors(kind, occupations, employer_id)
    errors.update(_region_within_parent_errors(region_code, parent))
    if len(parent.path) + _ID_DIGITS + 1 > MAX_PATH_LENGTH:
        errors.setdefault("parent_id", []).append("工会层级过深，无法在其下再建工会")
    if errors:
        raise ValidationFailed(errors=errors)
    _check_external_code_free(session, Union, external_code)
    union = add_union(
        session,
        name=name,
        kind=kind,
        region_code=region_code,
        parent=parent,
        occupations=occupations,
        employer_id=employer_id,
        accepting=accepting,
        external_code=external_code,
    )
    log.debug("union created", extra={"union_id": union.id, "parent_id": parent.id, "kind": kind})
    audit_change(session, scope, "union.create", union, union.path, parent_id=str(parent.id))
    return union


def update_union(session: Session, scope: Actor, union_id: int, changes: Mapping[str, Any]) -> Union:
    """Change a union; a new ``parent_id`` moves it with its whole subtree."""
    union = get_union(session, scope, union_id)
    old_path = union.path
    new_parent: Union | None = None
    errors: dict[str, list[str]] = {}
    if "parent_id" in changes and changes["parent_id"] != union.parent_id:
        if changes["parent_id"] is None:
            raise ValidationFailed(errors={"parent_id": ["须指定上级工会"]})
        new_parent = get_union(session, scope, changes["parent_id"], missing="上级工会不存在")
        if within_subtree(new_parent.path, union.path):
            raise ValidationFailed(errors={"parent_id": ["不能把工会移到它自己或其下级工会之下"]})
    if changes.get("employer_id") is not None and changes["employer_id"] != union.employer_id:
        get_employer(session, scope, changes["employer_id"], missing="用人单位不存在")

    kind = changes.get("kind", union.kind)
    occupations = _unique(changes["occupations"]) if "occupations" in changes else list(union.occupations)
    employer_id = changes.get("employer_id", union.employer_id)
    region_code = changes.get("region_code", union.region_code)
    errors.update(_union_shape_errors(kind, occupations, employer_id))
    if new_parent is not None or region_code != union.region_code:
        parent = new_parent or (session.get(Union, union.parent_id) if union.parent_id else None)
        if parent is not None:
            errors.update(_region_within_parent_errors(region_code, parent))
    if region_code != union.region_code:
        errors.update(_children_within_region_errors(session, union, region_code))
    if errors:
        raise ValidationFailed(errors=errors)
    if changes.get("external_code") not in (None, union.external_code):
        _check_external_code_free(session, Union, changes["external_code"])

    if new_parent is not None:
        _move_subtree(session, union, new_parent)
    for attribute, value in (
        ("name", changes.get("name", union.name)),
        ("kind", kind),
        ("region_code", region_code),
        ("occupations", occupations),
        ("employer_id", employer_id),
        ("accepting", changes.get("accepting", union.accepting)),
        ("external_code", changes.get("external_code", union.external_code)),
    ):
        if getattr(union, attribute) != value:
            setattr(union, attribute, value)
    _flush(session)
    audit_change(session, scope, "union.update", union, old_path, fields=sorted(changes))
    return union


def _move_subtree(session: Session, union: Union, new_parent: Union) -> None:
    """Re-parent ``union``: one UPDATE rewrites the path prefix of every union beneath it."""
    old_path, new_path = union.path, f"{new_parent.path}{union.id}/"
    subtree = within_subtree(Union.path, old_path)
    deepest = session.scalar(sa.select(sa.func.max(sa.func.length(Union.path))).where(subtree))
    if (deepest or 0) - len(old_path) + len(new_path) > MAX_PATH_LENGTH:
        raise ValidationFailed(errors={"parent_id": ["移动后工会层级过深"]})
    session.execute(
        sa.update(Union)
        .where(subtree)
        .values(path=sa.literal(new_path, sa.String) + sa.func.substr(Union.path, len(old_path) + 1)),
        execution_options={"synchronize_session": "fetch"},
    )
    rehome_applications(session, old_path, new_path)
    union.parent_id = new_parent.id
    log.info("union moved", extra={"union_id": union.id, "parent_id": new_parent.id})


def _union_shape_errors(kind: str, occupations: list[str], employer_id: int | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if kind == "enterprise" and employer_id is None:
        errors["employer_id"] = ["企业工会须指定所属用人单位"]
    if kind != "enterprise" and employer_id is not None:
        errors["employer_id"] = ["只有企业工会可以指定用人单位"]
    if kind == "industry" and not occupations:
        errors["occupations"] = ["行业工会须至少覆盖一种职业"]
    return errors


def _region_within_parent_errors(region_code: str, parent: Union) -> dict[str, list[str]]:
    if contains(parent.region_code, region_code):
        return {}
    return {"region_code": [f"工会的区域须在上级工会的区域（{display_name(parent.region_code)}）之内"]}


def _children_within_region_errors(session: Session, union: Union, region_code: str) -> dict[str, list[str]]:
    children = session.execute(
        sa.select(Union.name, Union.region_code).where(Union.parent_id == union.id).order_by(Union.id)
    ).all()
    outside = [name for name, child_region in children if not contains(region_code, child_region)]
    if not outside:
        return {}
    names = "、".join(f"「{name}」" for name in outside[:3]) + ("等" if len(outside) > 3 else "")
    return {"region_code": [f"下级工会{names}的区域不在新区域之内"]}


def list_unions(
    session: Session,
    scope: Actor,
    *,
    limit: int,
    cursor: str | None = None,
    kind: str | None = None,
    parent_id: int | None = None,
    region_code: str | None = None,
    occupation: str | None = None,
    accepting: bool | None = None,
    q: str | None = None,
) -> Page:
    """The unions of the scope, oldest first, with the filters given."""
    statement = sa.select(Union).where(scope.covers(Union.path))
    if kind is not None:
        statement = statement.where(Union.kind == kind)
    if parent_id is not None:
        statement = statement.where(Union.parent_id == parent_id)
    if region_code is not None:
        statement = statement.where(Union.region_code.in_(within(region_code)))
    if occupation is not None:
        # Occupation codes are whole quoted tokens in the JSON text on both SQLite and PostgreSQL.
        statement = statement.where(sa.cast(Union.occupations, sa.Text).like(f'%"{occupation}"%'))
    if accepting is not None:
        statement = statement.where(Union.accepting.is_(accepting))
    if q:
        statement = statement.where(Union.name.contains(q, autoescape=True))
    return paginate(session, statement, keys=[Union.id], limit=limit, cursor=cursor, descending=False)


# --- employers ------------------------------------------------------------------------------------------------------


def get_employer(session: Session, scope: Actor, employer_id: int, *, missing: str = "用人单位不存在") -> Employer:
    """The employer, when the union managing it lies in the scope; otherwise a 404."""
    employer = session.scalars(
        sa.select(Employer)
        .join(Union, Union.id == Employer.union_id)
        .where(Employer.id == employer_id, scope.covers(Union.path))
    ).first()
    if employer is None:
        raise NotFound(missing)
    return employer


def find_employer_by_uscc(session: Session, scope: Actor, uscc: str) -> Employer | None:
    return session.scalars(
        sa.select(Employer)
        .join(Union, Union.id == Employer.union_id)
        .where(Employer.uscc == uscc, scope.covers(Union.path))
    ).first()


def create_employer(
    session: Session,
    scope: Actor,
    *,
    name: str,
    uscc: str,
    region_code: str,
    parent_id: int | None = None,
    union_id: int | None = None,
    external_code: str | None = None,
) -> Employer:
    """Register an employer, managed by ``union_id`` (default: the officer's own union)."""
    managing = get_union(session, scope, union_id or scope.union_id, missing="管理工会不存在")
    if parent_id is not None:
        get_employer(session, scope, parent_id, missing="上级单位不存在")
    _check_region_managed(region_code, managing)
    _check_uscc_free(session, uscc)
    _check_external_code_free(session, Employer, external_code)
    employer = Employer(
        name=name,
        uscc=uscc,
        region_code=region_code,
        parent_id=parent_id,
        union_id=managing.id,
        external_code=external_code,
    )
    session.add(employer)
    _flush(session)
    log.debug("employer created", extra={"employer_id": employer.id, "union_id": managing.id})
    audit_change(session, scope, "employer.create", employer, managing.path)
    return employer


def update_employer(session: Session, scope: Actor, employer_id: int, changes: Mapping[str, Any]) -> Employer:
    """Change an employer; a new ``parent_id`` must not make it its own HQ."""
    employer = get_employer(session, scope, employer_id)
    union_id = changes.get("union_id", employer.union_id)
    managing = get_union(session, scope, union_id, missing="管理工会不存在")
    parent_id = changes.get("parent_id", employer.parent_id)
    if parent_id is not None and parent_id != employer.parent_id:
        get_employer(session, scope, parent_id, missing="上级单位不存在")
        if employer.id in _employer_ancestor_ids(session, parent_id):
            raise ValidationFailed(errors={"parent_id": ["不能把单位设为它自己或其下属单位的下级"]})
    region_code = changes.get("region_code", employer.region_code)
    if region_code != employer.region_code or managing.id != employer.union_id:
        _check_region_managed(region_code, managing)
    uscc = changes.get("uscc", employer.uscc)
    if uscc != employer.uscc:
        _check_uscc_free(session, uscc)
    if changes.get("external_code") not in (None, employer.external_code):
        _check_external_code_free(session, Employer, changes["external_code"])
    for attribute, value in (
        ("name", changes.get("name", employer.name)),
        ("uscc", uscc),
        ("parent_id", parent_id),
        ("region_code", region_code),
        ("union_id", managing.id),
        ("external_code", changes.get("external_code", employer.external_code)),
    ):
        if getattr(employer, attribute) != value:
            setattr(employer, attribute, value)
    _flush(session)
    audit_change(session, scope, "employer.update", employer, managing.path, fields=sorted(changes))
    return employer


def _employer_ancestor_ids(session: Session, employer_id: int) -> list[int]:
    """``employer_id`` and the ids of its HQ chain, nearest first (bounded, loops cut)."""
    chain: list[int] = []
    current: int | None = employer_id
    while current is not None and current not in chain and len(chain) < MAX_EMPLOYER_CHAIN:
        chain.append(current)
        current = session.scalar(sa.select(Employer.parent_id).where(Employer.id == current))
    return chain


def list_employers(
    session: Session,
    scope: Actor,
    *,
    limit: int,
    cursor: str | None = None,
    region_code: str | None = None,
    parent_id: int | None = None,
    uscc: str | None = None,
    q: str | None = None,
) -> Page:
    """The employers managed within the scope, oldest first."""
    statement = sa.select(Employer).join(Union, Union.id == Employer.union_id).where(scope.covers(Union.path))
    if region_code is not None:
        statement = statement.where(Employer.region_code.in_(within(region_code)))
    if parent_id is not None:
        statement = statement.where(Employer.parent_id == parent_id)
    if uscc:
        statement = statement.where(Employer.uscc == uscc)
    if q:
        statement = statement.where(Employer.name.contains(q, autoescape=True))
    return paginate(session, statement, keys=[Employer.id], limit=limit, cursor=cursor, descending=False)


# --- stations -------------------------------------------------------------------------------------------------------


def get_station(
    session: Session, scope: Actor, station_id: int, *, missing: str = "站点不存在", code: str = NotFound.code
) -> Station:
    """The station, when the union managing it lies in the scope; otherwise a 404."""
    station = session.scalars(
        sa.select(Station)
        .join(Union, Union.id == Station.union_id)
        .where(Station.id == station_id, scope.covers(Union.path))
    ).first()
    if station is None:
        raise NotFound(missing, code=code)
    return station


def create_station(
    session: Session,
    scope: Actor,
    *,
    name: str,
    region_code: str,
    occupation: str,
    address: str = "",
    employer_id: int | None = None,
    union_id: int | None = None,
    external_code: str | None = None,
) -> Station:
    """Register a station, managed by ``union_id`` (default: the officer's own union)."""
    managing = get_union(session, scope, union_id or scope.union_id, missing="管理工会不存在")
    if employer_id is not None:
        get_employer(session, scope, employer_id)
    _check_region_managed(region_code, managing)
    _check_external_code_free(session, Station, external_code)
    station = Station(
        name=name,
        region_code=region_code,
        occupation=occupation,
        address=address,
        employer_id=employer_id,
        union_id=managing.id,
        external_code=external_code,
    )
    session.add(station)
    _flush(session)
    log.debug("station created", extra={"station_id": station.id, "union_id": managing.id})
    audit_change(session, scope, "station.create", station, managing.path)
    return station


def update_station(session: Session, scope: Actor, station_id: int, changes: Mapping[str, Any]) -> Station:
    """Change a station."""
    station = get_station(session, scope, station_id)
    managing = get_union(session, scope, changes.get("union_id", station.union_id), missing="管理工会不存在")
    employer_id = changes.get("employer_id", station.employer_id)
    if employer_id is not None and employer_id != station.employer_id:
        get_employer(session, scope, employer_id)
    region_code = changes.get("region_code", station.region_code)
    if region_code != station.region_code or managing.id != station.union_id:
        _check_region_managed(region_code, managing)
    if changes.get("external_code") not in (None, station.external_code):
        _check_external_code_free(session, Station, changes["external_code"])
    for attribute, value in (
        ("name", changes.get("name", station.name)),
        ("region_code", region_code),
        ("occupation", changes.get("occupation", station.occupation)),
        ("address", changes.get("address", station.address)),
        ("employer_id", employer_id),
        ("union_id", managing.id),
        ("external_code", changes.get("external_code", station.external_code)),
    ):
        if getattr(station, attribute) != value:
            setattr(station, attribute, value)
    _flush(session)
    audit_change(session, scope, "station.update", station, managing.path, fields=sorted(changes))
    return station


def list_stations(
    session: Session,
    scope: Actor,
    *,
    limit: int,
    cursor: str | None = None,
    region_code: str | None = None,
    employer_id: int | None = None,
    occupation: str | None = None,
    q: str | None = None,
) -> Page:
    """The stations managed within the scope, oldest first."""
    statement = sa.select(Station).join(Union, Union.id == Station.union_id).where(scope.covers(Union.path))
    if region_code is not None:
        statement = statement.where(Station.region_code.in_(within(region_code)))
    if employer_id is not None:
        statement = statement.where(Station.employer_id == employer_id)
    if occupation is not None:
        statement = statement.where(Station.occupation == occupation)
    if q:
        statement = statement.where(
            sa.or_(Station.name.contains(q, autoescape=True), Station.address.contains(q, autoescape=True))
        )
    return paginate(session, statement, keys=[Station.id], limit=limit, cursor=cursor, descending=False)


# --- shared checks --------------------------------------------------------------------------------------------------


def _check_region_managed(region_code: str, managing: Union) -> None:
    """Employers and stations lie within the region of the union that manages them."""
    if not contains(managing.region_code, region_code):
        place = display_name(managing.region_code)
        raise ValidationFailed(errors={"region_code": [f"须在管理工会的区域（{place}）之内"]})


def _check_uscc_free(session: Session, uscc: str) -> None:
    if session.scalar(sa.select(Employer.id).where(Employer.uscc == uscc)) is not None:
        raise Conflict("该统一社会信用代码已登记", code="uscc_taken")


def _check_external_code_free(session: Session, model: type[Union | Employer | Station], code: str | None) -> None:
    if code is not None and session.scalar(sa.select(model.id).where(model.external_code == code)) is not None:
        raise Conflict("外部编码已被使用", code="external_code_taken")


def _flush(session: Session) -> None:
    """Flush; a unique key taken by a concurrent request since we checked is a 409, not a 500."""
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:
        log.warning("write conflicted with a concurrent one", extra={"error": type(exc.orig).__name__})
        raise Conflict("与刚刚提交的另一条记录冲突，请刷新后重试", code="conflict") from exc


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))
