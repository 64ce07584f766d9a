"""The routing engine: which union receives a worker's application, and why.

``route`` is a pure function over an immutable ``DirectorySnapshot`` (no database,
no HTTP), so every rule can be tested with a handful of dataclasses. The rules of
DESIGN.md ("Routing") are tried in order and the first that yields an accepting
union wins:

1. ``override``   — admins' override rules (station / employer / region + occupation),
                    highest priority first. A rule belongs to the subtree of the union
                    whose admin made it: a station managed outside that subtree, or a
                    target union that has left it, passes the rule over;
2. ``enterprise`` — the nearest accepting enterprise union of the station's employer
                    or of its parent chain whose region contains the station's region;
3. ``industry``   — an accepting industry union covering the occupation whose region
                    contains the station's region;
4. ``regional``   — an accepting street/park/building/market union whose region
                    contains the station's region;
5. ``fallback``   — the federation of the station's district, else city, else
                    province. Reaching it marks a blind spot (盲区).

Ties break deterministically: the most specific region first, then the lowest id
(the union registered first). Every candidate considered lands in the trace with
its outcome and a sentence, in Chinese, that a union officer can check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

from app.directory.regions import ancestors, contains, display_name
from app.directory.vocabulary import OCCUPATIONS

RULES = ("override", "enterprise", "industry", "regional", "fallback")
CHOSEN = "chosen"
PASSED_OVER = "passed_over"
NOT_APPLICABLE = "not_applicable"
OUTCOMES = (CHOSEN, PASSED_OVER, NOT_APPLICABLE)


@dataclass(frozen=True)
class UnionFacts:
    id: int
    name: str
    kind: str
    region_code: str
    occupations: frozenset[str] = frozenset()
    employer_id: int | None = None
    accepting: bool = True
    path: str = "/"  # the materialised path in the union tree (``/1/3/``); "/" stands for the root


@dataclass(frozen=True)
class EmployerFacts:
    id: int
    name: str
    region_code: str
    parent_id: int | None = None


@dataclass(frozen=True)
class StationFacts:
    id: int
    name: str
    region_code: str
    employer_id: int | None = None
    occupation: str = "other"
    union_path: str = "/"  # the path of the union that manages the station


@dataclass(frozen=True)
class OverrideRule:
    """An admin's override: exactly one of station, employer or region (the latter with an occupation)."""

    id: int
    union_id: int
    priority: int = 0
    station_id: int | None = None
    employer_id: int | None = None
    region_code: str | None = None
    occupation: str | None = None
    note: str = ""
    owner_path: str = "/"  # the subtree the rule belongs to: the path of the union whose admin made it
    owner_name: str = ""

    def holds(self, path: str) -> bool:
        """True when a union (or the union managing a station), by its path, lies in the rule's subtree."""
        return path.startswith(self.owner_path)


@dataclass(frozen=True)
class DirectorySnapshot:
    """The part of the directory a decision may look at. It may hold more than one station needs."""

    unions: Mapping[int, UnionFacts]
    employers: Mapping[int, EmployerFacts]
    rules: tuple[OverrideRule, ...] = ()

    @classmethod
    def of(
        cls,
        unions: Iterable[UnionFacts] = (),
        employers: Iterable[EmployerFacts] = (),
        rules: Iterable[OverrideRule] = (),
    ) -> DirectorySnapshot:
        return cls(
            unions=MappingProxyType({u.id: u for u in unions}),
            employers=MappingProxyType({e.id: e for e in employers}),
            rules=tuple(rules),
        )


@dataclass(frozen=True)
class TraceStep:
    """One candidate (or the absence of any) under one rule, with what happened to it and why."""

    rule: str
    union_id: int | None
    outcome: str
    reason: str
    union_name: str | None = None
    union_kind: str | None = None
    override_rule_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The trace item of ``GET /routing/explain`` (and of an application's stored trace)."""
        union = None
        if self.union_id is not None:
            union = {"id": str(self.union_id), "name": self.union_name, "kind": self.union_kind}
        item: dict[str, Any] = {"rule": self.rule, "union": union, "outcome": self.outcome, "reason": self.reason}
        if self.override_rule_id is not None:
            item["override_rule_id"] = str(self.override_rule_id)
        return item


@dataclass(frozen=True)
class RouteDecision:
    union_id: int
    rule: str
    trace: list[TraceStep]
    union_name: str = ""
    union_kind: str = ""

    @property
    def reasons(self) -> list[str]:
        """The trace as the sentences an officer (or the worker) reads, in order."""
        return [step.reason for step in self.trace]

    @property
    def is_blind_spot(self) -> bool:
        """Only a fallback federation could take the worker: a union should be built here."""
        return self.rule == "fallback"

    def union_ref(self) -> dict[str, str]:
        return {"id": str(self.union_id), "name": self.union_name, "kind": self.union_kind}

    def as_json(self) -> dict[str, Any]:
        return {
            "union": self.union_ref(),
            "rule": self.rule,
            "blind_spot": self.is_blind_spot,
            "reasons": self.reasons,
            "trace": [step.as_json() for step in self.trace],
        }


class NoUnionAvailable(Exception):
    """Not even a federation accepts applications for this place (all of them paused)."""

    def __init__(self, trace: list[TraceStep]) -> None:
        super().__init__("no accepting union for this station")
        self.trace = trace


def route(
    snapshot: DirectorySnapshot,
    station: StationFacts,
    occupation: str,
    employment_form: str | None = None,
) -> RouteDecision:
    """Decide which union receives an application from ``station`` by a worker in ``occupation``.

    ``employment_form`` does not change the outcome under the five rules of the
    design; it is accepted so that callers pass the whole application and a future
    rule can use it without changing them.
    """
    context = _Context(snapshot, station, occupation)
    trace: list[TraceStep] = []
    for rule, candidates in (
        ("override", _override_candidates),
        ("enterprise", _enterprise_candidates),
        ("industry", _industry_candidates),
        ("regional", _regional_candidates),
    ):
        chosen = _evaluate(rule, candidates(context), trace)
        if chosen is not None:
            return RouteDecision(chosen.id, rule, trace, chosen.name, chosen.kind)
    chosen = _fallback(context, trace)
    if chosen is None:
        raise NoUnionAvailable(trace)
    return RouteDecision(chosen.id, "fallback", trace, chosen.name, chosen.kind)


class _HasParent(Protocol):
    @property
    def parent_id(self) -> int | None: ...


_Linked = TypeVar("_Linked", bound=_HasParent)


def parent_chain(
    first_id: int | None, lookup: Callable[[int], _Linked | None], limit: int | None = None
) -> list[_Linked]:
    """The record ``first_id``, then its parent, grandparent…, stopping at a gap, a loop or ``limit`` records."""
    chain: list[_Linked] = []
    seen: set[int] = set()
    current = first_id
    while current is not None and current not in seen and (limit is None or len(chain) < limit):
        record = lookup(current)
        if record is None:
            break
        chain.append(record)
        seen.add(current)
        current = record.parent_id
    return chain


# --- the candidates of each rule -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    snapshot: DirectorySnapshot
    station: StationFacts
    occupation: str

    @property
    def occupation_name(self) -> str:
        return OCCUPATIONS.get(self.occupation, self.occupation)

    @property
    def place(self) -> str:
        return display_name(self.station.region_code)

    def employer_chain(self) -> list[EmployerFacts]:
        """The station's employer, then its parent, grandparent…, stopping at a gap or a loop."""
        return parent_chain(self.station.employer_id, self.snapshot.employers.get)


@dataclass(frozen=True)
class _Candidate:
    """A union a rule could pick, with the sentences for each outcome.

    ``rank`` orders candidates (lower first). ``unfit`` is set when the candidate
    cannot take the worker for a reason other than "not accepting". ``excluded`` is
    set when the candidate was never in the running (an override rule outside its
    subtree): it is passed over with that reason whatever else was chosen.
    """

    union: UnionFacts
    rank: tuple[Any, ...]
    chosen: str
    paused: str
    outranked_by: Callable[[_Candidate], str]
    unfit: str | None = None
    override_rule_id: int | None = None
    excluded: str | None = None


@dataclass(frozen=True)
class _RuleCandidates:
    items: Sequence[_Candidate]
    none_reason: str


# A district may hold hundreds of regional unions: the trace names the first few that lost the tie-break
# and counts the rest, so that it stays a page an officer reads (and a row an application stores).
MAX_OUTRANKED_IN_TRACE = 3
_CANDIDATE_NAMES = {"override": "覆盖规则", "enterprise": "企业工会", "industry": "行业工会", "regional": "区域工会"}


def _evaluate(rule: str, candidates: _RuleCandidates, trace: list[TraceStep]) -> UnionFacts | None:
    """Walk the candidates best first: the first accepting fit is chosen, every other one says why not."""
    if not candidates.items:
        trace.append(TraceStep(rule, None, NOT_APPLICABLE, candidates.none_reason))
        return None
    chosen: _Candidate | None = None
    outranked = 0
    for candidate in sorted(candidates.items, key=lambda c: c.rank):
        if candidate.excluded is not None:
            outcome, reason = PASSED_OVER, candidate.excluded
        elif chosen is not None:
            outranked += 1
            if outranked > MAX_OUTRANKED_IN_TRACE:
                continue
            outcome, reason = PASSED_OVER, candidate.outranked_by(chosen)
        elif candidate.unfit is not None:
            outcome, reason = PASSED_OVER, candidate.unfit
        elif not candidate.union.accepting:
            outcome, reason = PASSED_OVER, candidate.paused
        else:
            chosen = candidate
            outcome, reason = CHOSEN, candidate.chosen
        trace.append(_step(rule, candidate.union, outcome, reason, candidate.override_rule_id))
    if outranked > MAX_OUTRANKED_IN_TRACE:
        rest = outranked - MAX_OUTRANKED_IN_TRACE
        reason = f"另有 {rest} 个同样适用的{_CANDIDATE_NAMES[rule]}排序更靠后，未予采用。"
        trace.append(TraceStep(rule, None, PASSED_OVER, reason))
    return chosen.union if chosen is not None else None


def _step(rule: str, union: UnionFacts, outcome: str, reason: str, override_rule_id: int | None = None) -> TraceStep:
    return TraceStep(rule, union.id, outcome, reason, union.name, union.kind, override_rule_id)


def _specificity(region_code: str) -> int:
    """3 for a district/county, 2 for a city, 1 for a province: smaller regions win ties."""
    return len(ancestors(region_code))


def _quoted(name: str) -> str:
    return f"「{name}」"


def _override_candidates(context: _Context) -> _RuleCandidates:
    station = context.station
    chain = context.employer_chain()
    distance = {employer.id: index for index, employer in enumerate(chain)}
    items: list[_Candidate] = []
    for rule in context.snapshot.rules:
        if rule.occupation is not None and rule.occupation != context.occupation:
            continue
        if rule.station_id is not None:
            if rule.station_id != station.id:
                continue
            breadth, subject = 0, f"站点{_quoted(station.name)}"
        elif rule.employer_id is not None:
            if rule.employer_id not in distance:
                continue
            employer = chain[distance[rule.employer_id]]
            breadth = 1 + distance[rule.employer_id]
            subject = f"用人单位{_quoted(employer.name)}"
            if breadth > 1:
                subject += "（站点所属单位的上级单位）"
        elif rule.region_code is not None:
            if not contains(rule.region_code, station.region_code):
                continue
            breadth = 100 - _specificity(rule.region_code)
            subject = display_name(rule.region_code)
        else:
            continue
        union = context.snapshot.unions.get(rule.union_id)
        if union is None:
            continue
        if rule.occupation is not None:
            subject += f"的{OCCUPATIONS.get(rule.occupation, rule.occupation)}"
        note = f"（备注：{rule.note}）" if rule.note else ""
        label = f"覆盖规则 #{rule.id}（优先级 {rule.priority}）"
        owner = _quoted(rule.owner_name) if rule.owner_name else "设置规则的工会"
        excluded = None
        if not rule.holds(station.union_path):
            excluded = (
                f"{label}由{owner}设置，但站点{_quoted(station.name)}不在{owner}及其下级工会的管理范围内，跳过该规则。"
            )
        elif not rule.holds(union.path):
            excluded = f"{label}指定的{_quoted(union.name)}已不在{owner}之下，跳过该规则。"
        items.append(
            _Candidate(
                union=union,
                rank=(-rule.priority, breadth, rule.id),
                chosen=f"管理员设置的{label}：{subject}的入会申请交由{_quoted(union.name)}受理。{note}",
                paused=f"{label}指定的{_quoted(union.name)}目前暂停受理入会申请，跳过该规则。",
                outranked_by=_override_outranked(rule.id, rule.priority, breadth),
                override_rule_id=rule.id,
                excluded=excluded,
            )
        )
    return _RuleCandidates(items, "没有适用于该站点和职业的覆盖规则。")


def _override_outranked(rule_id: int, priority: int, breadth: int) -> Callable[[_Candidate], str]:
    def reason(chosen: _Candidate) -> str:
        chosen_priority, chosen_breadth, chosen_id = chosen.rank[0] * -1, chosen.rank[1], chosen.rank[2]
        if priority < chosen_priority:
            why = f"优先级低于已采用的覆盖规则 #{chosen_id}"
        elif breadth > chosen_breadth:
            why = f"优先级相同，但适用范围比已采用的覆盖规则 #{chosen_id} 宽"
        else:
            why = f"优先级和适用范围相同，按设置顺序采用先设置的覆盖规则 #{chosen_id}"
        return f"覆盖规则 #{rule_id} 也适用，但{why}。"

    return reason


def _enterprise_candidates(context: _Context) -> _RuleCandidates:
    station = context.station
    chain = context.employer_chain()
    if not chain:
        return _RuleCandidates((), f"站点{_quoted(station.name)}未登记所属用人单位，企业工会规则不适用。")
    by_employer: dict[int, list[UnionFacts]] = {}
    for union in context.snapshot.unions.values():
        if union.kind == "enterprise" and union.employer_id is not None:
            by_employer.setdefault(union.employer_id, []).append(union)
    items: list[_Candidate] = []
    own = chain[0]
    for distance, employer in enumerate(chain):
        for union in by_employer.get(employer.id, []):
            items.append(_enterprise_candidate(context, own, distance, employer, union))
    upward = "及其上级单位" if len(chain) > 1 else ""
    return _RuleCandidates(items, f"站点所属单位{_quoted(own.name)}{upward}尚未建立企业工会。")


def _enterprise_candidate(
    context: _Context, own: EmployerFacts, distance: int, employer: EmployerFacts, union: UnionFacts
) -> _Candidate:
    place, union_place = context.place, display_name(union.region_code)
    specificity = _specificity(union.region_code)
    u, e = _quoted(union.name), _quoted(employer.name)
    if distance == 0:
        chosen = (
            f"站点所属单位{e}建有企业工会{u}，其区域（{union_place}）包含站点所在地（{place}），且正在受理入会申请。"
        )
        unfit = f"{u}是站点所属单位{e}的企业工会，但其区域（{union_place}）不包含站点所在地（{place}）。"
    else:
        chosen = (
            f"站点所属单位{_quoted(own.name)}没有可受理的企业工会，由其上级单位{e}的企业工会{u}受理："
            f"该工会的区域（{union_place}）包含站点所在地（{place}）。"
        )
        unfit = (
            f"上级单位{e}的企业工会{u}的区域（{union_place}）不包含站点所在地（{place}），不能受理该分支机构的职工。"
        )

    def outranked_by(chosen_candidate: _Candidate) -> str:
        c = _quoted(chosen_candidate.union.name)
        if chosen_candidate.rank[0] < distance:
            return f"已有隶属关系更近的企业工会{c}，不再考虑上级单位{e}的{u}。"
        if chosen_candidate.rank[1] < -specificity:
            return f"{u}的区域（{union_place}）比{c}的大，区域更具体的工会优先。"
        return f"{u}与{c}同属{e}且区域相同，按建立顺序由先建立的{c}受理。"

    return _Candidate(
        union=union,
        rank=(distance, -specificity, union.id),
        chosen=chosen,
        paused=f"{u}（{e}的企业工会）目前暂停受理入会申请。",
        outranked_by=outranked_by,
        unfit=None if contains(union.region_code, context.station.region_code) else unfit,
    )


def _area_candidates(
    context: _Context, kind: str, label: str, fits: Callable[[UnionFacts], bool], none_reason: str
) -> _RuleCandidates:
    """Industry and regional unions: those whose region contains the station, most specific first."""
    place = context.place
    items: list[_Candidate] = []
    for union in context.snapshot.unions.values():
        if union.kind != kind or not fits(union) or not contains(union.region_code, context.station.region_code):
            continue
        specificity = _specificity(union.region_code)
        u, union_place = _quoted(union.name), display_name(union.region_code)

        def outranked_by(chosen: _Candidate, u: str = u, union_place: str = union_place) -> str:
            c, chosen_place = _quoted(chosen.union.name), display_name(chosen.union.region_code)
            if chosen_place != union_place:
                return f"{label}{u}的区域（{union_place}）比选定的{c}（{chosen_place}）大，区域更具体的工会优先。"
            return f"{label}{u}与选定的{c}区域相同（{union_place}），按建立顺序由先建立的{c}受理。"

        if kind == "industry":
            covers, its, but = f"覆盖{context.occupation_name}，", "其", "但"
        else:
            covers, its, but = "", "的", ""
        items.append(
            _Candidate(
                union=union,
                rank=(-specificity, union.id),
                chosen=f"{label}{u}{covers}{its}区域（{union_place}）包含站点所在地（{place}），且正在受理入会申请。",
                paused=f"{label}{u}{covers}{but}目前暂停受理入会申请。",
                outranked_by=outranked_by,
            )
        )
    return _RuleCandidates(items, none_reason)


def _industry_candidates(context: _Context) -> _RuleCandidates:
    return _area_candidates(
        context,
        "industry",
        "行业工会",
        lambda union: context.occupation in union.occupations,
        f"没有覆盖{context.occupation_name}、且区域包含站点所在地（{context.place}）的行业工会。",
    )


def _regional_candidates(context: _Context) -> _RuleCandidates:
    return _area_candidates(
        context,
        "regional",
        "区域工会",
        lambda union: True,
        f"没有区域包含站点所在地（{context.place}）的街区、园区、楼宇或市场工会。",
    )


def _fallback(context: _Context, trace: list[TraceStep]) -> UnionFacts | None:
    """The federation of the district, else the city, else the province; paused ones are passed over."""
    federations: dict[str, list[UnionFacts]] = {}
    for union in context.snapshot.unions.values():
        if union.kind == "federation":
            federations.setdefault(union.region_code, []).append(union)
    for region_code in ancestors(context.station.region_code):
        level = display_name(region_code)
        candidates = sorted(federations.get(region_code, []), key=lambda union: union.id)
        if not candidates:
            trace.append(TraceStep("fallback", None, NOT_APPLICABLE, f"{level}没有登记地方总工会。"))
            continue
        chosen: UnionFacts | None = None
        for union in candidates:
            u = _quoted(union.name)
            if chosen is not None:
                c = _quoted(chosen.name)
                trace.append(
                    _step(
                        "fallback",
                        union,
                        PASSED_OVER,
                        f"{u}与{c}同为{level}的地方总工会，按建立顺序由先建立的{c}受理。",
                    )
                )
            elif not union.accepting:
                trace.append(_step("fallback", union, PASSED_OVER, f"{level}的地方总工会{u}目前暂停受理入会申请。"))
            else:
                chosen = union
                reason = (
                    f"站点所在地（{context.place}）没有可受理的企业、行业或区域工会，"
                    f"由{level}的地方总工会{u}兜底受理；此处为建会盲区，宜就近建立工会。"
                )
                trace.append(_step("fallback", union, CHOSEN, reason))
        if chosen is not None:
            return chosen
    return None
