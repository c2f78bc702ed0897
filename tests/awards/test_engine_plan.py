"""The engine's plan (rules keyed by event type, honour, level, outcome and period; lines built once)
gives exactly what checking every rule in force gives, for events on any day and any facts.

Pure: no database. `compute_rule_by_rule` is the engine without the plan.
"""

import random
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

import pytest
import yaml
from pydantic import ValidationError

from app import reference
from app.awards.engine import Line, Result, _exact_percent, _percent_of, _round, compute, compute_rule_by_rule
from app.awards.event_models import EnterpriseFacts, parse_event
from app.policies.loader import DEFAULT_DIR, PolicySet, load_policies, read_policies


def _event(rng: random.Random, day: date) -> dict:
    honours = reference.honours()
    kind = rng.choice(
        ["honour"] * 6
        + [
            "first_above_scale",
            "sales_milestone",
            "loan_interest",
            "equipment_purchase",
            "design_prize",
            "skills_contest",
            "talent_program",
            "talent_loan_interest",
            "output_growth",
            "strong_town",
        ]
    )
    d = day.isoformat()
    if kind == "honour":
        code = rng.choice(list(honours))
        return {
            "type": kind,
            "date": d,
            "honour": code,
            "level": rng.choice(list(honours[code]["levels"])),
            "outcome": rng.choice(["new", "renewed", "rejected"]),
        }
    if kind == "sales_milestone":
        prev = rng.randint(300, 3200) * 1_000_000
        return {
            "type": kind,
            "date": d,
            "previous_revenue_yuan": prev,
            "revenue_yuan": int(prev * rng.uniform(0.9, 1.6)),
        }
    if kind == "loan_interest":
        return {"type": kind, "date": d, "interest_paid_yuan": rng.randint(0, 900_000)}
    if kind == "equipment_purchase":
        return {
            "type": kind,
            "date": d,
            "purpose": rng.choice(["tech_upgrade", "smart_upgrade"]),
            "amount_yuan": rng.randint(0, 200_000_000),
        }
    if kind == "design_prize":
        return {
            "type": kind,
            "date": d,
            "contest": rng.choice(["governor_cup", "liaocheng"]),
            "rank": rng.choice(["gold", "silver", "bronze"]),
        }
    if kind == "skills_contest":
        return {"type": kind, "date": d, "participants": rng.randint(0, 300)}
    if kind == "talent_program":
        return {
            "type": kind,
            "date": d,
            "level": rng.choice(["national", "provincial"]),
            "grant_yuan": rng.randint(0, 9_000_000),
        }
    if kind == "talent_loan_interest":
        bench = rng.randint(0, 2_000_000)
        return {
            "type": kind,
            "date": d,
            "interest_paid_yuan": int(bench * rng.uniform(0.3, 1.2)),
            "benchmark_interest_yuan": bench,
        }
    if kind == "output_growth":
        return {
            "type": kind,
            "date": d,
            "new_output_yuan": rng.randint(0, 400) * 1_000_000,
            "growth_rate": str(round(rng.uniform(-0.2, 0.4), 3)),
            "city_rank": rng.randint(1, 80),
        }
    if kind == "strong_town":
        return {
            "type": kind,
            "date": d,
            "level": rng.choice(["city", "provincial"]),
            "township": rng.choice(list(reference.township_names())),
        }
    return {"type": kind, "date": d}


def _facts(rng: random.Random, rule_ids: list[str]) -> EnterpriseFacts | None:
    """Facts with each one known or unknown at random (None: nothing known)."""
    if rng.random() < 0.1:
        return None
    honours = reference.honours()
    known: dict = {}
    if rng.random() < 0.7:
        known["size"] = rng.choice(["micro", "small", "medium", "large"])
    if rng.random() < 0.7:
        known["ownership"] = rng.choice(["private", "state", "foreign", "other"])
    if rng.random() < 0.7:
        codes = rng.sample(list(honours), rng.randint(0, 3))
        known["honours"] = [(c, rng.choice(list(honours[c]["levels"]))) for c in codes]
    if rng.random() < 0.7:
        known["prior_grants_yuan"] = {
            r: rng.randint(0, 3_000_000) for r in rng.sample(rule_ids, rng.randint(0, 4))
        }
    if rng.random() < 0.5:
        known["other_interest_subsidy"] = rng.random() < 0.5
    if rng.random() < 0.5:
        known["talent_founded_date"] = date(2019, 1, 1) + timedelta(days=rng.randint(0, 3000))
    if rng.random() < 0.5:
        known["revenue_by_year"] = {
            y: rng.randint(100, 4000) * 1_000_000 for y in range(2017, 2027) if rng.random() < 0.6
        }
    if rng.random() < 0.5:
        known["revenue_history_complete"] = rng.random() < 0.5
    return EnterpriseFacts(**known)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_plan_gives_what_checking_every_rule_gives(seed):
    policies = load_policies()
    rule_ids = list(policies.rules)
    rng = random.Random(seed)
    answered = 0
    for _ in range(4000):
        day = date(2021, 6, 1) + timedelta(days=rng.randint(0, 6 * 365))  # before, in and after both periods
        event = parse_event(_event(rng, day))
        facts = _facts(rng, rule_ids)
        planned = compute(event, facts, policies)
        assert planned == compute_rule_by_rule(event, facts, policies), (event, facts)
        assert planned.model_dump_json() == compute_rule_by_rule(event, facts, policies).model_dump_json()
        answered += bool(planned.lines or planned.benefits or planned.not_computable)
    assert answered > 500  # the mix reaches lines, benefits and not-computable rules, not only empty results


def test_a_line_given_twice_is_the_same_line():
    """Two events of one period and year earn the same fixed line; the second result reads as the first."""
    policies = load_policies()
    event = parse_event(
        {
            "type": "honour",
            "honour": "specialized_sme",
            "level": "provincial",
            "outcome": "new",
            "date": "2023-05-01",
        }
    )
    first, second = compute(event, None, policies), compute(event, None, policies)
    assert first == second == compute_rule_by_rule(event, None, policies)
    assert first.lines and first.lines is not second.lines  # each result has a list of its own


# ── the plan's percentage, range and share lines: integer amounts, texts made once ─────────────────


_PERCENTS = [
    "0",
    "0.0",
    "1",
    "7",
    "7.5",
    "10",
    "12.5",
    "33.333",
    "0.05",
    "0.005",
    "45.55",
    "50",
    "99.99",
    "100",
]
_PERCENTS += [
    "1E+1",
    "1.0E+2",
    "100.000",
    "150",
    "37.5",
    "250",
    "0.0000001",
    "12345.6789",
]  # range: above 100


def _amounts(rng: random.Random) -> list[int]:
    """Small amounts (every rounding edge of a short percentage), round ones, ordinary ones and ones
    around where Decimal stops being exact (10**28) and beyond."""
    out = list(range(0, 401)) + [10**k for k in range(0, 32)] + [10**k - 1 for k in range(1, 32)]
    out += [5 * 10**k for k in range(0, 31)] + [rng.randint(0, 10**9) for _ in range(300)]
    out += [rng.randint(10**26, 10**29) for _ in range(100)]
    return out


def test_integer_percentages_round_as_decimal_does():
    rng = random.Random(14)
    for text in _PERCENTS:
        percent = Decimal(text)
        exact = _exact_percent(percent)
        assert exact is not None
        for amount in _amounts(rng):
            try:
                expected = _round(amount * percent / 100)
            except InvalidOperation:
                with pytest.raises(InvalidOperation):
                    _percent_of(amount, percent, exact)
                continue
            assert _percent_of(amount, percent, exact) == expected, (amount, text)
    # what the integer form does not take is left to Decimal
    assert _exact_percent(Decimal("-0")) is None and _exact_percent(Decimal("Infinity")) is None
    assert _percent_of(5, Decimal("-0"), None) == 0 and _percent_of(-5, Decimal(10), (1, 10)) == -1


def _edited(folder, amounts: dict[str, dict]) -> PolicySet:
    """The shipped documents with the amounts of some rules replaced (rule id -> amount)."""
    for path in sorted(DEFAULT_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for rule in data["rules"]:
            if rule["id"] in amounts:
                rule["amount"] = amounts[rule["id"]]
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        (folder / path.name).write_text(text, encoding="utf-8")
    return read_policies(folder)


_LOAN, _SHARE = "gzb2023-7.province.tech_loan_interest", "gzb2023-7.city.tech_loan_interest"
_TECH, _SMART = "gzb2023-7.county.tech_upgrade", "gzb2023-7.city.smart_upgrade"
_TALENT, _TALENT_LOAN = "gzb2023-7.city.talent_program", "gzb2023-7.county.talent_loan_interest"

_EDITS = {
    "as shipped": {},
    "odd percentages, caps per event and per enterprise": {
        _LOAN: {"shape": "percent", "base": "interest_paid_yuan", "percent": "12.5"},
        _SHARE: {"shape": "share", "of_rule": _LOAN, "percent": "33.3"},
        _TECH: {
            "shape": "percent",
            "base": "amount_yuan",
            "percent": "7.5",
            "ceiling": True,
            "cap_yuan": 999_999,
        },
        _SMART: {
            "shape": "percent",
            "base": "amount_yuan",
            "percent": "0.05",
            "ceiling": True,
            "cap_yuan": 5_000,
            "cap_scope": "enterprise",
        },
        _TALENT: {
            "shape": "range",
            "base": "grant_yuan",
            "percent": "37.5",
            "min_yuan": 500_000,
            "max_yuan": 1_000_000,
        },
        _TALENT_LOAN: {
            "shape": "percent",
            "base": "benchmark_interest_yuan",
            "percent": "45.55",
            "ceiling": True,
            "limit_to": "interest_paid_yuan",
            "cap_yuan": 200_000,
            "cap_scope": "enterprise",
        },
    },
    "a share of a capped ceiling, a range above 100 %, limits without caps": {
        _LOAN: {
            "shape": "percent",
            "base": "interest_paid_yuan",
            "percent": "33.333",
            "ceiling": True,
            "cap_yuan": 100_000,
        },
        _SHARE: {"shape": "share", "of_rule": _LOAN, "percent": "66.67"},
        _TECH: {"shape": "percent", "base": "amount_yuan", "percent": "100", "cap_yuan": 5_000_000},
        _SMART: {
            "shape": "percent",
            "base": "amount_yuan",
            "percent": "99.99",
            "cap_yuan": 12_345,
            "cap_scope": "event",
        },
        _TALENT: {
            "shape": "range",
            "base": "grant_yuan",
            "percent": "150",
            "min_yuan": 0,
            "max_yuan": 2_000_000,
        },
        _TALENT_LOAN: {
            "shape": "percent",
            "base": "benchmark_interest_yuan",
            "percent": "0.5",
            "limit_to": "interest_paid_yuan",
        },
    },
    "a share of a line that may not be computable": {
        _LOAN: {
            "shape": "percent",
            "base": "interest_paid_yuan",
            "percent": "40",
            "cap_yuan": 300_000,
            "cap_scope": "enterprise",
        },
        _SHARE: {"shape": "share", "of_rule": _LOAN, "percent": "50"},
    },
}


def _figure(rng: random.Random) -> int:
    pick = rng.random()
    if pick < 0.4:
        return rng.randint(0, 2_000)  # every rounding edge of a short percentage
    if pick < 0.8:
        return rng.randint(0, 10_000_000)
    if pick < 0.9:
        return rng.choice([10**k for k in range(1, 12)] + [5 * 10**k for k in range(0, 12)])
    return rng.randint(10**26, 10**29)  # where Decimal stops being exact (10**28)


def _figure_event(rng: random.Random) -> dict:
    day = (date(2022, 12, 20) + timedelta(days=rng.randint(0, 3 * 365))).isoformat()  # in and after 2023
    kind = rng.choice(["loan_interest", "equipment_purchase", "talent_program", "talent_loan_interest"])
    if kind == "loan_interest":
        return {"type": kind, "date": day, "interest_paid_yuan": _figure(rng)}
    if kind == "equipment_purchase":
        purpose = rng.choice(["tech_upgrade", "smart_upgrade"])
        return {"type": kind, "date": day, "purpose": purpose, "amount_yuan": _figure(rng)}
    if kind == "talent_program":
        level = rng.choice(["national", "provincial"])
        return {"type": kind, "date": day, "level": level, "grant_yuan": _figure(rng)}
    bench = _figure(rng)
    paid = rng.choice([bench, bench // 2, bench * 2, _figure(rng)])
    return {"type": kind, "date": day, "interest_paid_yuan": paid, "benchmark_interest_yuan": bench}


def _figure_facts(rng: random.Random) -> EnterpriseFacts | None:
    if rng.random() < 0.1:
        return None
    known: dict = {"honours": [("tech_sme", "national")] if rng.random() < 0.8 else []}
    if rng.random() < 0.8:
        known["prior_grants_yuan"] = {
            rule: rng.choice([0, 1, 4_999, 5_000, 99_999, 200_000, 1_000_000, rng.randint(0, 6_000_000)])
            for rule in (_LOAN, _SMART, _TALENT_LOAN)
            if rng.random() < 0.7
        }
    if rng.random() < 0.8:
        known["talent_founded_date"] = date(2022, 6, 1) + timedelta(days=rng.randint(0, 700))
    if rng.random() < 0.8:
        known["other_interest_subsidy"] = rng.random() < 0.2
    return EnterpriseFacts(**known)


@pytest.mark.parametrize("edit", list(_EDITS))
def test_percentages_ranges_and_shares_give_what_checking_every_rule_gives(tmp_path, edit):
    """Percentages at rounding edges, caps per event and per enterprise, limits, ranges (above 100 % too)
    and shares of capped, ceiling and not-computable lines: every amount, text and entry as rule by rule."""
    policies = _edited(tmp_path, _EDITS[edit])
    rng = random.Random(edit)
    seen: set[tuple[str, str]] = set()
    for _ in range(3000):
        event = parse_event(_figure_event(rng))
        facts = _figure_facts(rng)
        try:
            expected = compute_rule_by_rule(event, facts, policies)
        except InvalidOperation:  # a figure past what Decimal can round: the plan fails alike
            with pytest.raises(InvalidOperation):
                compute(event, facts, policies)
            continue
        planned = compute(event, facts, policies)
        assert planned == expected, (event, facts)
        assert planned.model_dump_json() == expected.model_dump_json()
        seen |= {("line", line.rule_id) for line in planned.lines}
        seen |= {("not computable", nc.rule_id) for nc in planned.not_computable}
    # every edited rule gave lines; a share of a line that cannot be computed says so
    assert {("line", rule) for rule in _EDITS[edit] or (_LOAN, _SHARE, _TECH, _SMART, _TALENT)} <= seen
    assert ("not computable", _SHARE) in seen


def test_copying_a_result_or_a_line_leaves_the_others_as_they_were():
    """Results, and lines, share one set of field names per model (every field is set): a copy with
    an update, or an attempt to set a field, changes no other result."""
    policies = load_policies()
    event = parse_event(
        {
            "type": "honour",
            "honour": "specialized_sme",
            "level": "provincial",
            "outcome": "new",
            "date": "2023-05-01",
        }
    )
    first, second = compute(event, None, policies), compute(event, None, policies)
    every = set(Result.model_fields)
    assert first.model_fields_set == second.model_fields_set == every
    copied = first.model_copy(update={"lines": []})
    assert copied.lines == [] and first.lines == second.lines != []
    line = first.lines[0].model_copy(update={"amount_yuan": 1})
    assert line.amount_yuan == 1 != first.lines[0].amount_yuan
    with pytest.raises(ValidationError):
        first.lines[0].amount_yuan = 1
    with pytest.raises(ValidationError):
        second.benefits = []
    assert first.model_fields_set == second.model_fields_set == copied.model_fields_set == every
    assert first.lines[0].model_fields_set == set(Line.model_fields)
    assert first.model_dump(exclude_unset=True) == first.model_dump()
