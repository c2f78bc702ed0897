"""Rule test cases that belong to a policy document: parse them, run them, say what differs.

A case (the format of app/policies/cases/*.yaml) names the clause and the figure it checks, the
event, what is known of the enterprise (`facts`), and the lines expected by funder as
{rule id: amount in 元}; `benefits` and `not_computable` list rule ids; `explains` gives a
fragment each line's explanation must contain. A case passes only if the engine gives exactly
those lines, benefits and not-computable rules.

    parse_cases(text) -> list[dict]                 # ValidationFailed naming the case and field
    run_cases(cases, policy_set) -> list[CaseResult] # pure
    run(session, code=…, draft=True) -> Report       # the draft's (or published) cases against
                                                     # the published documents with that draft in place
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import FieldError, ValidationFailed
from app.policies.loader import PolicySet
from app.policies.schema import FUNDER_NAMES

CASE_KEYS = {
    "name", "clause", "figure", "event", "facts", "overrides", "lines", "benefits", "not_computable", "explains",
}  # fmt: skip


@dataclass
class CaseResult:
    name: str
    clause: str
    figure: str
    passed: bool
    expected: list[str]  # one line per expected amount: "县级 rule_id 50,000 元"
    computed: list[str]
    problems: list[str] = field(default_factory=list)


@dataclass
class Report:
    code: str
    results: list[CaseResult]
    error: str | None = None  # the cases could not be read at all

    @property
    def passed(self) -> bool:
        return self.error is None and all(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        return sum(not r.passed for r in self.results)


def parse_cases(content: str | None) -> list[dict]:
    """The cases in `content` (a YAML list), checked for shape; ValidationFailed names case and field."""
    from app.awards.event_models import EnterpriseFacts, parse_event

    if not content or not content.strip():
        return []
    try:
        raw = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark is not None else ""
        raise ValidationFailed.one(
            "cases", f"测试用例：YAML 格式错误{where}：{getattr(exc, 'problem', exc)}"
        ) from None
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValidationFailed.one("cases", "测试用例：应为列表（每条以 “- name:” 开头）")
    errors: list[FieldError] = []
    for i, case in enumerate(raw):
        name = case.get("name") if isinstance(case, dict) else None
        where = f"用例“{name}”" if name else f"第 {i + 1} 条用例"
        if not isinstance(case, dict):
            errors.append(FieldError(f"cases[{i}]", f"{where}：应为映射（name、event、lines…）"))
            continue
        unknown = set(case) - CASE_KEYS
        if unknown:
            errors.append(FieldError(f"cases[{i}]", f"{where}：不认识的字段 {sorted(unknown)}"))
        for key in ("name", "clause", "figure", "event"):
            if not case.get(key):
                errors.append(FieldError(f"cases[{i}].{key}", f"{where}：缺少 {key}"))
        if isinstance(case.get("event"), dict):
            try:
                parse_event(case["event"])
            except ValidationError as exc:
                detail = "；".join(
                    f"{'.'.join(str(p) for p in e['loc'][1:]) or 'event'}：{e['msg']}"
                    for e in exc.errors()[:3]
                )
                errors.append(FieldError(f"cases[{i}].event", f"{where}：event 不合规（{detail}）"))
        try:
            EnterpriseFacts(**(case.get("facts") or {}))
        except (ValidationError, TypeError) as exc:
            errors.append(FieldError(f"cases[{i}].facts", f"{where}：facts 不合规（{exc}）"))
        lines = case.get("lines") or {}
        if not isinstance(lines, dict) or any(
            f not in FUNDER_NAMES
            or not isinstance(v, dict)
            or not all(isinstance(a, int) for a in v.values())
            for f, v in lines.items()
        ):
            errors.append(
                FieldError(
                    f"cases[{i}].lines", f"{where}：lines 应为 {{出资层级: {{规则编号: 金额（整数元）}}}}"
                )
            )
    if errors:
        raise ValidationFailed(errors)
    return raw


def _cited(case: dict) -> str:
    clause = case.get("clause", "")
    return " | ".join(clause) if isinstance(clause, list) else str(clause)


def _fmt(funder: str, rule_id: str, amount: int) -> str:
    return f"{FUNDER_NAMES.get(funder, funder)} {rule_id} {amount:,} 元"


def run_cases(cases: list[dict], policy_set: PolicySet) -> list[CaseResult]:
    from app.awards.engine import compute
    from app.awards.event_models import EnterpriseFacts, parse_event

    out = []
    for case in cases:
        expected_lines = case.get("lines") or {}
        expected = [_fmt(f, rid, amt) for f, rules in expected_lines.items() for rid, amt in rules.items()]
        problems: list[str] = []
        computed: list[str] = []
        try:
            result = compute(
                parse_event(case["event"]),
                EnterpriseFacts(**(case.get("facts") or {})),
                policy_set,
                overrides=case.get("overrides"),
            )
        except ValueError as exc:
            out.append(
                CaseResult(
                    case["name"],
                    _cited(case),
                    str(case.get("figure", "")),
                    False,
                    expected,
                    [],
                    [f"无法计算：{exc}"],
                )
            )
            continue
        got: dict[str, dict[str, int]] = {}
        for line in result.lines:
            got.setdefault(line.funder, {})[line.rule_id] = line.amount_yuan
            computed.append(_fmt(line.funder, line.rule_id, line.amount_yuan))
        if got != expected_lines:
            want = {(f, r): a for f, rs in expected_lines.items() for r, a in rs.items()}
            have = {(f, r): a for f, rs in got.items() for r, a in rs.items()}
            for key in sorted(set(want) | set(have)):
                if want.get(key) != have.get(key):
                    w = "无" if key not in want else f"{want[key]:,} 元"
                    h = "无" if key not in have else f"{have[key]:,} 元"
                    problems.append(f"{FUNDER_NAMES.get(key[0], key[0])} {key[1]}：应为 {w}，算得 {h}")
        benefits = [b.rule_id for b in result.benefits]
        if benefits != (case.get("benefits") or []):
            problems.append(f"非资金待遇：应为 {case.get('benefits') or []}，算得 {benefits}")
        nc = [n.rule_id for n in result.not_computable]
        if nc != (case.get("not_computable") or []):
            problems.append(f"无法计算的规则：应为 {case.get('not_computable') or []}，算得 {nc}")
        explanations = {line.rule_id: line.explanation for line in result.lines}
        for rule_id, fragment in (case.get("explains") or {}).items():
            if fragment not in explanations.get(rule_id, ""):
                problems.append(f"{rule_id} 的说明中应有“{fragment}”")
        out.append(
            CaseResult(
                case["name"],
                _cited(case),
                str(case.get("figure", "")),
                not problems,
                expected,
                computed,
                problems,
            )
        )
    return out


def run(session: Session, *, code: str, draft: bool = True) -> Report:
    """Run the cases of the draft of `code` (or of its published version) against the published
    documents with that version in place."""
    from app.policies import store
    from app.policies.models import PolicyVersion

    status = "draft" if draft else "published"
    v = session.scalar(
        select(PolicyVersion).where(PolicyVersion.code == code, PolicyVersion.status == status)
    )
    if v is None:
        return Report(code, [], f"政策文件 {code} 没有{'草稿' if draft else '已发布的版本'}")
    try:
        cases = parse_cases(v.cases)
    except ValidationFailed as e:
        return Report(code, [], e.detail)
    ps = store.with_drafts(session, [code]) if draft else store.current(session)
    return Report(code, run_cases(cases, ps))
