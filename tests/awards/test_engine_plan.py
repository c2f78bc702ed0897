"""The engine's plan (rules keyed by event type, honour, level, outcome and period; lines built once)
gives exactly what checking every rule in force gives, for events on any day and any facts.

Pure: no database. `compute_rule_by_rule` is the engine without the plan.
"""

import random
from datetime import date, timedelta

import pytest

from app import reference
from app.awards.engine import compute, compute_rule_by_rule
from app.awards.event_models import EnterpriseFacts, parse_event
from app.policies.loader import load_policies


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
