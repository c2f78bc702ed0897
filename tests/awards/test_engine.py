"""The award engine against the rule cases in cases/*.yaml, plus what the cases cannot say.

Pure: no database. Each case names the clause and figure it checks, the event, the facts,
and the lines expected by funder; a case passes only if the engine gives exactly those
lines, benefits and not-computable rules.
"""

from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from app.awards.engine import Result, compute, rules_in_force
from app.awards.event_models import EnterpriseFacts, FirstAboveScaleEvent, parse_event
from app.policies.loader import load_policies

# The rule cases ship with the documents (app/policies/cases); cases still kept beside this test run too.
CASES_DIRS = (
    Path(__file__).resolve().parents[2] / "app" / "policies" / "cases",
    Path(__file__).parent / "cases",
)
CASE_KEYS = {
    "name", "clause", "figure", "event", "facts", "overrides", "lines", "benefits", "not_computable", "explains",
}  # fmt: skip


def _load_cases() -> list[dict]:
    cases = []
    for path in sorted(p for d in CASES_DIRS for p in d.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            unknown = set(case) - CASE_KEYS
            assert not unknown, f"{path.name}: {case.get('name')}: unknown keys {unknown}"
            cases.append({**case, "file": path.name})
    return cases


CASES = _load_cases()


@pytest.fixture(scope="module")
def policies():
    return load_policies()


def _run(case: dict, policies) -> Result:
    return compute(
        parse_event(case["event"]),
        EnterpriseFacts(**(case.get("facts") or {})),
        policies,
        overrides=case.get("overrides"),
    )


def _by_funder(result: Result) -> dict[str, dict[str, int]]:
    grouped: dict[str, dict[str, int]] = {}
    for line in result.lines:
        grouped.setdefault(line.funder, {})[line.rule_id] = line.amount_yuan
    return grouped


def _cited(case: dict) -> str:
    clause = case["clause"]
    return " | ".join(clause) if isinstance(clause, list) else clause


@pytest.mark.parametrize("case", CASES, ids=[f"{c['file']}:{c['name']}" for c in CASES])
def test_case(case, policies):
    result = _run(case, policies)
    assert _by_funder(result) == (case.get("lines") or {})
    assert [b.rule_id for b in result.benefits] == case.get("benefits", [])
    assert [n.rule_id for n in result.not_computable] == case.get("not_computable", [])
    explanations = {line.rule_id: line.explanation for line in result.lines}
    for rule_id, fragment in (case.get("explains") or {}).items():
        assert fragment in explanations[rule_id]
    for line in result.lines:
        assert type(line.amount_yuan) is int
        assert f"{line.document} {line.clause}" in line.explanation
        assert line.funder == policies.rules[line.rule_id].funder


def test_every_rule_has_a_case_citing_its_clause(policies):
    exercised: dict[str, list[str]] = {}
    for case in CASES:
        result = _run(case, policies)
        ids = [x.rule_id for x in [*result.lines, *result.benefits, *result.not_computable]]
        for rule_id in ids:
            exercised.setdefault(rule_id, []).append(_cited(case))
    missing = []
    for rule_id, rule in policies.rules.items():
        citation = f"{policies.document_of(rule_id).number} {rule.clause}"
        if not any(citation in cited for cited in exercised.get(rule_id, [])):
            missing.append(f"{rule_id} ({citation})")
    assert not missing, "rules without a case citing their clause:\n" + "\n".join(missing)


def test_every_case_cites_a_figure():
    for case in CASES:
        assert case.get("figure"), case["name"]
        assert "〔" in _cited(case), case["name"]


# ── lines ───────────────────────────────────────────────────────────────────


def _event(**data):
    return parse_event(data)


def test_line_carries_source_kind_and_fund(policies):
    result = compute(
        _event(type="honour", honour="specialized_sme", level="provincial", outcome="new", date="2022-08-01"),
        None,
        policies,
    )
    (line,) = result.lines
    doc = policies.documents["gz2022-9"]
    assert line.document == "冠政发〔2022〕9号"
    assert line.document_code == "gz2022-9"
    assert line.document_version == doc.version
    assert line.clause == "四（十）"
    assert (line.kind, line.ceiling, line.fund_id) == ("up_to", True, "gz2022-9.fund.county")
    assert line.explanation.startswith(
        "县级奖励：新认定省级专精特新企业，一次性最高 150,000 元（冠政发〔2022〕9号 四（十））"
    )


def test_kinds_by_shape(policies):
    fixed = compute(FirstAboveScaleEvent(date="2023-05-01"), None, policies).lines[0]
    assert (fixed.kind, fixed.ceiling, fixed.fund_id) == ("fixed", False, "gzb2023-7.fund.county")
    facts = EnterpriseFacts(honours=[("tech_sme", "national")])
    province, city = compute(
        _event(type="loan_interest", interest_paid_yuan=800_000, date="2023-09-30"), facts, policies
    ).lines
    assert (province.kind, province.ceiling, province.fund_id) == ("computed", False, None)
    assert (city.kind, city.funder) == ("computed", "city")
    upgrade = compute(
        _event(type="equipment_purchase", purpose="tech_upgrade", amount_yuan=1_000_000, date="2023-08-01"),
        None,
        policies,
    ).lines[0]
    assert (upgrade.kind, upgrade.ceiling) == ("computed", True)


def test_totals_stack_by_funder(policies):
    result = compute(
        _event(type="honour", honour="high_tech", level="national", outcome="new", date="2023-11-20"),
        EnterpriseFacts(size="micro", honours=[]),
        policies,
    )
    assert result.total_by_funder() == {"province": 100_000, "city": 100_000, "county": 100_000}
    assert result.total_yuan == 300_000


def test_outside_every_period_gives_nothing(policies):
    for day in ("2022-04-08", "2025-01-01"):
        result = compute(FirstAboveScaleEvent(date=day), None, policies)
        assert result == Result()


def test_a_line_before_its_documents_issue_date_explains_the_period_in_force(policies):
    """冠政办发〔2023〕7号 (issued 2023-03-23) is the plan for the year 2023 and applies from 2023-01-01: a 首次升规
    line (二（一）1, 县级 5 万) for 2023-02-15 says why; one for 2023-06-30 needs no such note."""
    (early,) = compute(FirstAboveScaleEvent(date="2023-02-15"), None, policies).lines
    assert (
        "事件日期早于冠政办发〔2023〕7号的印发日期 2023-03-23，按其施行期（自 2023-01-01 起）适用"
        in early.explanation
    )
    (later,) = compute(FirstAboveScaleEvent(date="2023-06-30"), None, policies).lines
    assert "有效期" not in later.explanation


def test_supersession_only_while_the_later_document_is_in_force(policies):
    ids = {
        r.id
        for r in rules_in_force("first_above_scale", FirstAboveScaleEvent(date="2023-06-01").date, policies)
    }
    assert ids == {"gzb2023-7.county.first_above_scale"}
    ids = {
        r.id
        for r in rules_in_force("first_above_scale", FirstAboveScaleEvent(date="2024-06-01").date, policies)
    }
    assert ids == {"gz2022-9.county.first_above_scale"}


def test_share_follows_a_capped_or_overridden_line(policies):
    facts = EnterpriseFacts(honours=[("tech_sme", "national")])
    event = _event(type="loan_interest", interest_paid_yuan=1_000_001, date="2023-09-30")
    province, city = compute(event, facts, policies).lines
    assert province.amount_yuan == 400_000  # 400,000.4 rounds down
    assert city.amount_yuan == 200_000
    _, city = compute(
        event, facts, policies, overrides={"gzb2023-7.city.tech_loan_interest": Decimal("25")}
    ).lines
    assert city.amount_yuan == 100_000
    assert city.overridden


def test_half_a_yuan_rounds_up(policies):
    facts = EnterpriseFacts(honours=[("tech_sme", "national")])
    event = _event(type="loan_interest", interest_paid_yuan=5, date="2023-09-30")
    province, city = compute(event, facts, policies).lines
    assert province.amount_yuan == 2  # 5 × 40% = 2
    assert city.amount_yuan == 1  # 2 × 50% = 1
    event = _event(type="equipment_purchase", purpose="tech_upgrade", amount_yuan=15, date="2023-08-01")
    assert compute(event, None, policies).lines[0].amount_yuan == 2  # 1.5 → 2


def test_not_computable_says_which_facts_are_missing(policies):
    result = compute(
        _event(
            type="talent_loan_interest", interest_paid_yuan=1, benchmark_interest_yuan=1, date="2023-05-10"
        ),
        EnterpriseFacts(),
        policies,
    )
    (item,) = result.not_computable
    assert item.missing_facts == ["other_interest_subsidy", "talent_founded_date"]
    assert "3年内" in item.reason


def test_a_failing_event_condition_does_not_ask_for_facts(policies):
    result = compute(
        _event(type="honour", honour="high_tech", level="national", outcome="rejected", date="2023-11-20"),
        EnterpriseFacts(),
        policies,
    )
    assert [line.rule_id for line in result.lines] == ["gzb2023-7.city.high_tech.rejected"]
    assert result.not_computable == []


# ── overrides ───────────────────────────────────────────────────────────────


def test_override_of_an_unspecified_amount_makes_a_what_if_line_only_with_a_funder(policies):
    event = _event(type="strong_town", level="city", township="dianzi", date="2023-12-01")
    with pytest.raises(ValueError, match="出资层级"):
        compute(event, None, policies, overrides={"gzb2023-7.strong_town": 100_000})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"no.such.rule": 1}, "没有规则"),
        ({"gzb2023-7.benefit.high_tech.income_tax": 1}, "非货币"),
        ({"gz2022-9.county.first_above_scale": 1.5}, "整数元"),
        ({"gz2022-9.county.first_above_scale": -1}, "负"),
        ({"gz2022-9.county.first_above_scale": "5"}, "数字"),
    ],
)
def test_bad_overrides_are_refused(policies, overrides, message):
    with pytest.raises(ValueError, match=message):
        compute(FirstAboveScaleEvent(date="2022-08-01"), None, policies, overrides=overrides)


def test_overrides_do_not_touch_the_rules(policies):
    event = FirstAboveScaleEvent(date="2022-08-01")
    overridden = compute(event, None, policies, overrides={"gz2022-9.county.first_above_scale": 80_000})
    assert overridden.lines[0].amount_yuan == 80_000
    assert compute(event, None, policies).lines[0].amount_yuan == 50_000
    assert policies.rules["gz2022-9.county.first_above_scale"].amount.yuan == 50_000


# ── events and facts ────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "data",
    [
        {"type": "bonus", "date": "2023-01-01"},
        {"type": "loan_interest", "interest_paid_yuan": -1, "date": "2023-01-01"},
        {"type": "equipment_purchase", "purpose": "tech_upgrade", "amount_yuan": -5, "date": "2023-01-01"},
        {"type": "sales_milestone", "previous_revenue_yuan": 1, "revenue_yuan": -1, "date": "2023-01-01"},
        {"type": "loan_interest", "interest_paid_yuan": True, "date": "2023-01-01"},
        {"type": "loan_interest", "interest_paid_yuan": 1.5, "date": "2023-01-01"},
        {
            "type": "honour",
            "honour": "specialized_sme",
            "level": "national",
            "outcome": "new",
            "date": "2023-01-01",
        },
        {"type": "honour", "honour": "no_such", "level": "city", "outcome": "new", "date": "2023-01-01"},
        {"type": "first_above_scale", "date": "2023-01-01", "extra": 1},
        {
            "type": "output_growth",
            "new_output_yuan": 1,
            "growth_rate": 0.2,
            "city_rank": 0,
            "date": "2023-03-31",
        },
        {"type": "strong_town", "level": "city", "township": "atlantis", "date": "2023-01-01"},
        {"type": "skills_contest", "participants": -1, "date": "2023-01-01"},
    ],
)
def test_bad_events_are_rejected(data):
    with pytest.raises(ValidationError):
        parse_event(data)


def test_facts_reject_unknown_honours_and_fields():
    with pytest.raises(ValidationError):
        EnterpriseFacts(honours=[("high_tech", "city")])
    with pytest.raises(ValidationError):
        EnterpriseFacts(sise="small")
    assert EnterpriseFacts().holds("tech_sme") is None
    assert EnterpriseFacts(honours=[]).holds("tech_sme") is False
