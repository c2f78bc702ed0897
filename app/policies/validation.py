"""A policy document in the YAML exchange format, checked, with every error in Chinese.

parse(text) -> LoadedDocument        # ValidationFailed naming rule id and field (规则 <id>：amount.yuan（金额（元））：应为整数)
cross_check(doc, published) -> list[FieldError]   # ids unique, `supersedes` and `of_rule` resolve
content_hash(text) -> str            # the version: sha256 of the UTF-8 text
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import yaml
from pydantic import ValidationError

from app.errors import FieldError, ValidationFailed
from app.policies.loader import LoadedDocument, PolicySet
from app.policies.schema import PolicyDocument

MAX_BYTES = 1_000_000

FIELD_NAMES = {
    "id": "编号",
    "clause": "条款",
    "clause_text": "条款原文",
    "kind": "类别",
    "event": "事件类型",
    "funder": "出资层级",
    "label": "名称",
    "subject": "对象",
    "conditions": "条件",
    "amount": "金额",
    "supersedes": "取代",
    "review": "须人工核实",
    "shape": "金额形式",
    "yuan": "金额（元）",
    "percent": "比例（%）",
    "base": "计算基数",
    "cap_yuan": "上限（元）",
    "min_yuan": "下限（元）",
    "max_yuan": "上限（元）",
    "of_rule": "所依据的规则",
    "code": "文件代码",
    "number": "文号",
    "title": "标题",
    "issuer": "发文机关",
    "issue_date": "印发日期",
    "in_force": "有效期",
    "start": "起始日期",
    "end": "截止日期",
    "funds": "资金",
    "rules": "规则",
    "amount_yuan": "金额（元）",
    "period": "期间",
    "honour": "认定",
    "levels": "级别",
    "outcomes": "认定结果",
    "one_off": "一次性",
    "reason": "原因",
    "limit_to": "不超过",
    "ceiling": "上限标记",
}

_VALUE_ERRORS: list[tuple[str, str]] = [
    (r"^end is before start$", "截止日期早于起始日期"),
    (r"^max_yuan is below min_yuan$", "上限 max_yuan 低于下限 min_yuan"),
    (r"^a benefit has no amount$", "非资金待遇（kind: benefit）不能有金额"),
    (r"^a money rule needs an amount.*$", "资金类规则须有金额（条款未写金额时用 shape: unspecified）"),
    (r"^a money rule with an amount needs a funder$", "有金额的规则须写出资层级 funder"),
    (r"^conditions\.(\w+) does not apply to (\w+) events$", r"条件 conditions.\1 不适用于 \2 事件"),
    (
        r"^an honour rule needs conditions\.honour, levels and outcomes$",
        "认定类规则须写 conditions.honour、conditions.levels 和 conditions.outcomes",
    ),
    (r"^conditions\.honour: unknown honour (.*)$", r"conditions.honour：未知的认定 \1"),
    (r"^conditions\.levels: (\S+) has no level (.*)$", r"conditions.levels：认定 \1 没有级别 \2"),
    (r"^conditions\.holds: unknown honour (.*)$", r"conditions.holds：未知的认定 \1"),
    (r"^amount: (\w+) events have no figure (\w+)$", r"amount：\1 事件没有数值 \2"),
    (r"^id (\S+) does not start with the document code (\S+)$", r"编号 \1 须以文件代码 \2 开头"),
    (r"^id (\S+) is used twice$", r"编号 \1 重复"),
]
_TYPE_MESSAGES = {
    "missing": "缺少此项",
    "extra_forbidden": "不认识的字段（拼写错误？）",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "decimal_parsing": "应为数字",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_type": "应为日期（YYYY-MM-DD）",
    "string_type": "应为文字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "list_type": "应为列表",
    "model_type": "应为映射（键: 值）",
    "dict_type": "应为映射（键: 值）",
    "union_tag_invalid": "未知的金额形式",
    "union_tag_not_found": "缺少 shape（fixed / up_to / percent / share / range / unspecified）",
    "literal_error": "取值无效",
    "greater_than_equal": "不能小于下限",
    "less_than_equal": "不能大于上限",
    "string_pattern_mismatch": "格式不符",
}


def _chinese(err: dict) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "value_error":
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        for pattern, repl in _VALUE_ERRORS:
            if re.match(pattern, msg):
                return re.sub(pattern, repl, msg)
        return msg
    if kind == "literal_error":
        return f"取值无效，应为 {ctx.get('expected', '')} 之一"
    if kind == "greater_than_equal":
        return f"不能小于 {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"不能大于 {ctx.get('le')}"
    if kind == "string_pattern_mismatch":
        return f"格式不符（应匹配 {ctx.get('pattern')}）"
    return _TYPE_MESSAGES.get(kind, str(err.get("msg", "取值无效")))


def _field_label(parts: list[str]) -> str:
    path = ".".join(parts)
    names = [FIELD_NAMES[p] for p in parts if p in FIELD_NAMES]
    return f"{path}（{names[-1]}）" if names and path else path


def _errors(raw: Any, exc: ValidationError) -> list[FieldError]:
    out: list[FieldError] = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        where, field = "文件", "document"
        # discriminated unions add the tag to the location: amount.up_to.yuan -> amount.yuan
        loc = [
            p
            for i, p in enumerate(loc)
            if not (
                i > 0
                and loc[i - 1] == "amount"
                and p in ("fixed", "up_to", "percent", "share", "range", "unspecified")
            )
        ]
        if len(loc) >= 2 and loc[0] in ("rules", "funds") and loc[1].isdigit():
            items = raw.get(loc[0]) if isinstance(raw, dict) else None
            i = int(loc[1])
            item = items[i] if isinstance(items, list) and i < len(items) else None
            item_id = item.get("id") if isinstance(item, dict) else None
            noun = "规则" if loc[0] == "rules" else "资金"
            name = item_id or f"第 {i + 1} 条（无编号）"
            where, field = f"{noun} {name}", f"{loc[0]}[{name}]"
            loc = loc[2:]
        label = _field_label(loc) or "整条"
        field_name = ".".join([field, *loc]) if loc else field
        out.append(FieldError(field_name, f"{where}：{label}：{_chinese(err)}"))
    return out


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def parse(content: str) -> LoadedDocument:
    """The document in `content` (YAML exchange format), or ValidationFailed naming rule and field in Chinese."""
    if len(content.encode("utf-8")) > MAX_BYTES:
        raise ValidationFailed.one("document", f"文件过大（超过 {MAX_BYTES // 1000} KB）")
    try:
        raw = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark is not None else ""
        raise ValidationFailed.one(
            "document", f"YAML 格式错误{where}：{getattr(exc, 'problem', exc)}"
        ) from None
    if not isinstance(raw, dict):
        raise ValidationFailed.one("document", "文件应为 YAML 映射（code、number、title、rules…）")
    try:
        spec = PolicyDocument.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed(_errors(raw, exc)) from None
    return LoadedDocument(spec=spec, version=content_hash(content), content=content)


def cross_check(doc: LoadedDocument, others: PolicySet) -> list[FieldError]:
    """Checks that span documents: rule ids unique, `supersedes` and `of_rule` references resolve."""
    errors: list[FieldError] = []
    others_docs = [d for d in others.documents.values() if d.code != doc.code]
    owner = {r.id: d for d in others_docs for r in d.spec.rules}
    mine = {r.id: r for r in doc.spec.rules}
    for rule in doc.spec.rules:
        where, field = f"规则 {rule.id}", f"rules[{rule.id}]"
        if rule.id in owner:
            errors.append(
                FieldError(f"{field}.id", f"{where}：id（编号）：已被 {owner[rule.id].number} 使用")
            )
        if rule.supersedes is not None:
            old = mine.get(rule.supersedes) or others.rules.get(rule.supersedes)
            old_doc = owner.get(rule.supersedes)
            if old is None or old_doc is None:
                errors.append(
                    FieldError(
                        f"{field}.supersedes",
                        f"{where}：supersedes（取代）：已发布的文件中没有规则 {rule.supersedes}",
                    )
                )
            elif old_doc.spec.issue_date >= doc.spec.issue_date:
                errors.append(
                    FieldError(
                        f"{field}.supersedes",
                        f"{where}：supersedes（取代）：{old.id} 不是更早印发的文件中的规则",
                    )
                )
            elif (old.funder, old.event) != (rule.funder, rule.event):
                errors.append(
                    FieldError(
                        f"{field}.supersedes",
                        f"{where}：supersedes（取代）：{old.id} 的出资层级或事件类型不同",
                    )
                )
        amount = rule.amount
        if amount is not None and amount.shape == "share":
            ref = mine.get(amount.of_rule)
            if ref is None:
                errors.append(
                    FieldError(
                        f"{field}.amount.of_rule",
                        f"{where}：amount.of_rule（所依据的规则）：本文件中没有规则 {amount.of_rule}",
                    )
                )
            elif ref.event != rule.event or ref.amount is None or ref.amount.shape == "share":
                errors.append(
                    FieldError(
                        f"{field}.amount.of_rule",
                        f"{where}：amount.of_rule（所依据的规则）：{ref.id} 须回应同一事件且本身不是按比例分担",
                    )
                )
    return errors
