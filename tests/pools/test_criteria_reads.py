"""`criteria.reads` names every fact a criterion looks at: the policy matcher keeps a criterion's result for all
firms that agree on those facts, so a criterion that read another would give one firm's answer to another."""

import datetime as dt
import itertools

from app.pools import criteria
from app.pools.criteria import FirmFacts, HonourFact, YearFigures
from app.pools.definitions import HERE, AnyOf
from app.pools.store import parse

HONOURS = [
    HonourFact(code="high_tech", level="national", outcome="new", date=dt.date(2022, 3, 1)),
    HonourFact(code="specialized_sme", level="provincial", outcome="renewed", date=dt.date(2023, 5, 10)),
    HonourFact(code="gazelle", level="provincial", outcome="rejected", date=dt.date(2021, 1, 1)),
    HonourFact(code="tech_sme", outcome="new"),
]
FIGURES = {
    2023: YearFigures(revenue_yuan=15_000_000, main_revenue_yuan=15_000_000, rd_spend_yuan=300_000),
    2022: YearFigures(revenue_yuan=9_000_000, rd_spend_yuan=0),
}
# Other values for every field of FirmFacts.
OTHERS = {
    "above_scale": [True, False, None],
    "size": ["micro", "small", "medium", "large", None],
    "industry": ["C3311", "3311", "工业", "F5123", "not a code", None],
    "chain": ["new_materials", None],
    "township": ["qingquan", "chongwen", None],
    "figures": [FIGURES, {}, {2023: YearFigures()}],
    "honours": [HONOURS, [], HONOURS[:1], HONOURS[1:2]],
    "mu_class": ["A", "D", None],
}


def _criteria():
    cat = parse((HERE / "definitions.yaml").read_text(encoding="utf-8"))
    for pool in cat.by_code().values():
        for entry in pool.entry_classes:
            stack = list(entry.criteria)
            while stack:
                c = stack.pop()
                yield entry.code, c
                if isinstance(c, AnyOf):
                    stack.extend(c.criteria)


def test_every_field_of_the_facts_is_one_a_criterion_may_read():
    assert set(OTHERS) == set(FirmFacts.model_fields)


def test_a_criterion_gives_the_same_result_whatever_the_facts_it_does_not_read():
    bases = [
        FirmFacts(**dict(zip(OTHERS, values, strict=True)))
        for values in itertools.islice(itertools.product(*OTHERS.values()), 0, None, 97)
    ]
    checked = 0
    for entry, c in _criteria():
        read = criteria.reads(c)
        for base, year in itertools.product(bases, (2022, 2023)):
            result = criteria.evaluate_criterion(c, base, year, entry)
            for name, values in OTHERS.items():
                if name in read:
                    continue
                for v in values:
                    other = base.model_copy(update={name: v})
                    assert criteria.evaluate_criterion(c, other, year, entry) == result, (
                        entry,
                        c.kind,
                        name,
                        v,
                    )
                    checked += 1
    assert checked > 1000
