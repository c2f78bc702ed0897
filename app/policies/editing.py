"""Editing a draft rule by rule, and comparing a draft with the document it was copied from.

    rule_values(rule) -> dict                     # a rule as the form shows it (amounts in 万元)
    apply_rule_form(content, rule_id, form) -> str  # the YAML with that rule rebuilt from the form
    delete_rule(content, rule_id) -> str
    diff(source, draft) -> list[RuleDiff]          # rule by rule, amounts in 元

The YAML text is edited round-trip (ruamel.yaml): comments and the order of everything else are
kept, so a draft edited on the page still reads like the shipped files.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from app.errors import FieldError, ValidationFailed
from app.policies.loader import LoadedDocument
from app.policies.schema import FUNDER_NAMES, Rule

SHAPES = {
    "fixed": "定额（X 万元）",
    "up_to": "最高 X 万元（上限）",
    "percent": "按比例（X%）",
    "share": "按另一条规则金额的比例",
    "range": "按比例，限定上下限",
    "unspecified": "文件未定金额",
}
BASES = {
    "interest_paid_yuan": "实付利息",
    "amount_yuan": "设备购置额",
    "grant_yuan": "资助额",
    "benchmark_interest_yuan": "基准利率利息",
}
# The conditions the form has its own inputs for; any other condition is edited as YAML.
FORM_CONDITIONS = ("honour", "levels", "outcomes")


def _yaml() -> YAML:
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def _load(content: str) -> CommentedMap:
    return _yaml().load(content)


def _dump(data: Any) -> str:
    buf = io.StringIO()
    _yaml().dump(data, buf)
    return buf.getvalue()


def _wan(yuan: int | None) -> str:
    if yuan is None:
        return ""
    return f"{Decimal(yuan) / 10000:f}".rstrip("0").rstrip(".") if yuan % 10000 else str(yuan // 10000)


def rule_values(rule: Rule | None) -> dict[str, Any]:
    """The form's values for `rule` (None: a new rule)."""
    if rule is None:
        return {
            "kind": "money",
            "event": "honour",
            "shape": "up_to",
            "levels": [],
            "outcomes": ["new"],
            "one_off": True,
        }
    a = rule.amount
    c = rule.conditions
    others = c.model_dump(mode="json", exclude_defaults=True, exclude=set(FORM_CONDITIONS))
    v: dict[str, Any] = {
        "id": rule.id,
        "clause": rule.clause,
        "clause_text": rule.clause_text,
        "kind": rule.kind,
        "event": rule.event,
        "funder": rule.funder or "",
        "label": rule.label,
        "subject": rule.subject,
        "review": rule.review or "",
        "supersedes": rule.supersedes or "",
        "honour": c.honour or "",
        "levels": list(c.levels or []),
        "outcomes": list(c.outcomes or []),
        "other_conditions": yaml.safe_dump(others, allow_unicode=True, sort_keys=False).strip()
        if others
        else "",
        "shape": a.shape if a else "",
        "one_off": bool(getattr(a, "one_off", False)),
    }
    if a is not None:
        if a.shape in ("fixed", "up_to"):
            v["amount_wan"] = _wan(a.yuan)
        if a.shape in ("percent", "share", "range"):
            v["percent"] = f"{a.percent.normalize():f}"
        if a.shape in ("percent", "range"):
            v["base"] = a.base
        if a.shape == "percent":
            v.update(
                ceiling=a.ceiling, cap_wan=_wan(a.cap_yuan), cap_scope=a.cap_scope, limit_to=a.limit_to or ""
            )
        if a.shape == "share":
            v["of_rule"] = a.of_rule
        if a.shape == "range":
            v.update(min_wan=_wan(a.min_yuan), max_wan=_wan(a.max_yuan))
        if a.shape == "unspecified":
            v["reason"] = a.reason
    return v


def _to_yuan(
    text: str, name: str, errors: list[FieldError], prefix: str, required: bool = True
) -> int | None:
    text = (text or "").strip().replace(",", "")
    if not text:
        if required:
            errors.append(FieldError(name, f"{prefix}：{name}：请填写金额（万元）"))
        return None
    try:
        value = Decimal(text) * 10000
    except InvalidOperation:
        errors.append(FieldError(name, f"{prefix}：{name}：“{text}”不是数字（单位万元）"))
        return None
    if value < 0 or value != value.to_integral_value():
        errors.append(FieldError(name, f"{prefix}：{name}：金额须为不小于 0 的整数元（万元最多 4 位小数）"))
        return None
    return int(value)


def _number(text: str) -> int | float | str:
    d = Decimal(text)
    return int(d) if d == d.to_integral_value() else float(d)


def rule_from_form(form: dict[str, Any], *, rule_id: str) -> dict[str, Any]:
    """A rule mapping from the form (amounts in 万元 become 元); ValidationFailed for what the form itself gets wrong."""
    prefix = f"规则 {rule_id}"
    errors: list[FieldError] = []
    get = lambda k: (form.get(k) or "").strip() if isinstance(form.get(k, ""), str) else form.get(k)  # noqa: E731
    rule: dict[str, Any] = {"id": rule_id, "clause": get("clause"), "clause_text": get("clause_text")}
    kind = get("kind") or "money"
    if kind != "money":
        rule["kind"] = kind
    rule["event"] = get("event")
    if get("funder"):
        rule["funder"] = get("funder")
    rule["label"] = get("label")
    rule["subject"] = get("subject")
    conditions: dict[str, Any] = {}
    if get("honour"):
        conditions["honour"] = get("honour")
    levels = form.get("levels") or []
    outcomes = form.get("outcomes") or []
    if levels:
        conditions["levels"] = list(levels)
    if outcomes:
        conditions["outcomes"] = list(outcomes)
    other = get("other_conditions")
    if other:
        try:
            extra = yaml.safe_load(other)
        except yaml.YAMLError:
            extra = None
        if not isinstance(extra, dict):
            errors.append(
                FieldError("other_conditions", f"{prefix}：其他条件：应为 YAML 映射，如 ownership: [private]")
            )
        else:
            conditions.update(extra)
    if conditions:
        rule["conditions"] = conditions
    shape = get("shape")
    if kind == "money":
        amount: dict[str, Any] = {"shape": shape}
        if shape in ("fixed", "up_to"):
            amount["yuan"] = _to_yuan(get("amount_wan"), "amount_wan", errors, prefix)
            if form.get("one_off"):
                amount["one_off"] = True
        elif shape in ("percent", "share", "range"):
            try:
                amount["percent"] = _number(get("percent") or "")
            except InvalidOperation:
                errors.append(FieldError("percent", f"{prefix}：percent（比例）：请填写数字，如 40 表示 40%"))
            if shape in ("percent", "range"):
                amount = {
                    "shape": shape,
                    "base": get("base"),
                    **{k: v for k, v in amount.items() if k != "shape"},
                }
            if shape == "percent":
                if form.get("ceiling"):
                    amount["ceiling"] = True
                cap = _to_yuan(get("cap_wan"), "cap_wan", errors, prefix, required=False)
                if cap is not None:
                    amount["cap_yuan"] = cap
                if get("cap_scope") == "enterprise":
                    amount["cap_scope"] = "enterprise"
                if get("limit_to"):
                    amount["limit_to"] = get("limit_to")
            if shape == "share":
                amount = {"shape": "share", "of_rule": get("of_rule"), "percent": amount.get("percent")}
            if shape == "range":
                amount["min_yuan"] = _to_yuan(get("min_wan"), "min_wan", errors, prefix)
                amount["max_yuan"] = _to_yuan(get("max_wan"), "max_wan", errors, prefix)
        elif shape == "unspecified":
            amount["reason"] = get("reason")
        else:
            errors.append(FieldError("shape", f"{prefix}：shape（金额形式）：请选择"))
        rule["amount"] = amount
    if get("supersedes"):
        rule["supersedes"] = get("supersedes")
    if get("review"):
        rule["review"] = get("review")
    if errors:
        raise ValidationFailed(errors)
    return rule


def _flow(value: Any) -> Any:
    """Short mappings (amount, conditions) in flow style, as the shipped files write them."""
    if isinstance(value, dict):
        m = CommentedMap({k: _flow(v) for k, v in value.items()})
        if len(value) <= 6 and all(not isinstance(v, dict) for v in value.values()):
            m.fa.set_flow_style()
        return m
    if isinstance(value, list):
        s = CommentedSeq([_flow(v) for v in value])
        s.fa.set_flow_style()
        return s
    return value


def apply_rule(content: str, rule_id: str | None, rule: dict[str, Any]) -> str:
    """The YAML with the rule `rule_id` replaced by `rule` (None: `rule` appended)."""
    data = _load(content)
    rules = data.get("rules")
    if rules is None:
        rules = CommentedSeq()
        data["rules"] = rules
    new = CommentedMap()
    for k, v in rule.items():
        new[k] = _flow(v)
    if rule_id is None:
        if any(r.get("id") == rule["id"] for r in rules):
            raise ValidationFailed.one("id", f"规则 {rule['id']}：id（编号）：本文件已有该编号")
        rules.append(new)
    else:
        for i, r in enumerate(rules):
            if r.get("id") == rule_id:
                # ruamel keeps the comment above the next rule on this rule's last key: carry it over
                tail = r.ca.items.get(list(r.keys())[-1]) if len(r) else None
                if tail and len(new):
                    new.ca.items[list(new.keys())[-1]] = tail
                rules[i] = new
                break
        else:
            raise ValidationFailed.one("id", f"草稿中没有规则 {rule_id}")
    return _dump(data)


def delete_rule(content: str, rule_id: str) -> str:
    data = _load(content)
    rules = data.get("rules") or []
    for i, r in enumerate(rules):
        if r.get("id") == rule_id:
            tail = r.ca.items.get(list(r.keys())[-1]) if len(r) else None
            if tail and i > 0:  # the comment above the next rule moves to the rule before
                prev = rules[i - 1]
                prev.ca.items[list(prev.keys())[-1]] = tail
            del rules[i]
            return _dump(data)
    raise ValidationFailed.one("id", f"草稿中没有规则 {rule_id}")


# --- diff ---------------------------------------------------------------------------------------


@dataclass
class RuleDiff:
    rule_id: str  # the draft's id (or the source's, for a removed rule)
    status: str  # added | removed | changed | same
    subject: str
    changes: list[str] = field(default_factory=list)  # one line per field, amounts in 元


def _amount_lines(rule: Rule) -> dict[str, str]:
    a = rule.amount
    if a is None:
        return {}
    out = {"金额形式": SHAPES.get(a.shape, a.shape)}
    for k, label in (("yuan", "金额"), ("cap_yuan", "上限"), ("min_yuan", "下限"), ("max_yuan", "上限")):
        val = getattr(a, k, None)
        if val is not None:
            out[label + ("（封顶）" if k == "cap_yuan" else "")] = f"{val:,} 元"
    if getattr(a, "percent", None) is not None:
        out["比例"] = f"{a.percent.normalize():f}%"
    for k, label in (
        ("base", "计算基数"),
        ("of_rule", "所依据的规则"),
        ("limit_to", "不超过"),
        ("reason", "原因"),
    ):
        val = getattr(a, k, None)
        if val:
            out[label] = BASES.get(val, val)
    if getattr(a, "one_off", False):
        out["一次性"] = "是"
    if getattr(a, "ceiling", False):
        out["上限标记"] = "不超过"
    return out


def _fields(rule: Rule, code: str) -> dict[str, str]:
    def plain(x: Any) -> str:
        return "" if x is None else str(x).replace(f"{code}.", "")

    c = rule.conditions.model_dump(mode="json", exclude_defaults=True)
    return {
        "条款": rule.clause,
        "条款原文": rule.clause_text,
        "事件": rule.event,
        "出资": FUNDER_NAMES.get(rule.funder, "—") if rule.funder else "—",
        "名称": rule.label,
        "对象": rule.subject,
        "条件": ", ".join(f"{k}={v}" for k, v in c.items()),
        "取代": plain(rule.supersedes),
        "须人工核实": rule.review or "",
        **_amount_lines(rule),
    }


def diff(source: LoadedDocument, draft: LoadedDocument) -> list[RuleDiff]:
    """The draft against `source`, rule by rule (ids matched without the document code)."""

    def key(rule_id: str, code: str) -> str:
        return rule_id.removeprefix(code + ".")

    old = {key(r.id, source.code): r for r in source.spec.rules}
    out: list[RuleDiff] = []
    seen = set()
    for r in draft.spec.rules:
        k = key(r.id, draft.code)
        seen.add(k)
        before = old.get(k)
        if before is None:
            out.append(
                RuleDiff(
                    r.id, "added", r.subject, [f"{n}：{v}" for n, v in _fields(r, draft.code).items() if v]
                )
            )
            continue
        a, b = _fields(before, source.code), _fields(r, draft.code)
        changes = [
            f"{n}：{a.get(n) or '—'} → {b.get(n) or '—'}"
            for n in dict.fromkeys([*a, *b])
            if a.get(n) != b.get(n)
        ]
        out.append(RuleDiff(r.id, "changed" if changes else "same", r.subject, changes))
    for k, r in old.items():
        if k not in seen:
            out.append(RuleDiff(r.id, "removed", r.subject, []))
    header = []
    for label, x, y in (
        ("文号", source.number, draft.number),
        (
            "有效期",
            f"{source.spec.in_force.start}—{source.spec.in_force.end}",
            f"{draft.spec.in_force.start}—{draft.spec.in_force.end}",
        ),
    ):
        if x != y:
            header.append(f"{label}：{x} → {y}")
    funds_a = {key(f.id, source.code): f for f in source.spec.funds}
    for f in draft.spec.funds:
        before = funds_a.get(key(f.id, draft.code))
        if before is None:
            header.append(f"新增资金 {f.id}：{FUNDER_NAMES[f.funder]} {f.amount_yuan:,} 元")
        elif before.amount_yuan != f.amount_yuan:
            header.append(f"资金 {f.id}：{before.amount_yuan:,} 元 → {f.amount_yuan:,} 元")
    if header:
        out.insert(0, RuleDiff("(文件)", "changed", "文件信息与资金", header))
    return out
