"""A pool's entry criteria as SQL, so candidate lists run in the database for any number of firms.

Each criterion kind of definitions.yaml becomes three boolean expressions over one enterprise's
rows — met, failed, and "open only for a person's judgement" — with exactly the semantics of the
pure evaluator in criteria.py (tests/pools compare the two on boundary firms). Every expression is
NULL-safe (a missing figure is neither met nor failed), so NOT and CASE behave.

The year's figures come from one LEFT JOIN of enterprise_figure; all honour criteria of a pool are
one GROUP BY over honour, LEFT JOINed, each criterion a 0/1 column — no correlated subqueries.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, case, false, func, not_, or_, select, true
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from app.enterprises.models import Enterprise, EnterpriseFigure, Honour
from app.pools.criteria import INDUSTRY_GROUPS, SECTION_NAMES, Candidacy, section_divisions
from app.pools.definitions import (
    AnyOf,
    Criterion,
    FigurePositive,
    Flag,
    HonourApplied,
    HonourHeld,
    HonourNotHeld,
    IndustryIn,
    Judgement,
    PoolDefinition,
    RevenueBetween,
    SizeIn,
)

FIGURE_KINDS = ("revenue_between", "figure_positive")


@dataclass(frozen=True)
class Tri:
    """One criterion for one enterprise: met, failed, or unknown only because a person must judge."""

    met: ColumnElement[bool]
    failed: ColumnElement[bool]
    judgement: ColumnElement[bool]


@dataclass(frozen=True)
class ClassSql:
    code: str
    met: ColumnElement[bool]
    judgement: ColumnElement[bool]  # checkable criteria hold; the rest needs a person
    failed: ColumnElement[bool]
    candidate: ColumnElement[bool]  # met or judgement

    @property
    def missing(self) -> ColumnElement[bool]:
        return and_(not_(self.met), not_(self.judgement), not_(self.failed))

    @property
    def candidacy(self) -> ColumnElement[str]:
        return case(
            (self.met, Candidacy.MET.value),
            (self.judgement, Candidacy.JUDGEMENT.value),
            (self.failed, Candidacy.FAILED.value),
            else_=Candidacy.MISSING.value,
        )


def walk_criteria(criteria):
    """Every criterion, each any_of followed by its children (the order honour flags are numbered in)."""
    for c in criteria:
        yield c
        if isinstance(c, AnyOf):
            yield from walk_criteria(c.criteria)


def uses_figures(pool_def: PoolDefinition) -> bool:
    return any(c.kind in FIGURE_KINDS for e in pool_def.entry_classes for c in walk_criteria(e.criteria))


_LETTERS = list(SECTION_NAMES)
_ALL_DIVISIONS = [d for s in SECTION_NAMES for d in section_divisions(s)]


class PoolSql:
    """The SQL of one pool's criteria for one year. `join(stmt)` adds the rows it reads."""

    def __init__(self, pool_def: PoolDefinition, year: int, *, name: str = "p"):
        self.pool_def = pool_def
        self.year = year
        self.fig = aliased(EnterpriseFigure, name=f"{name}_fig") if uses_figures(pool_def) else None
        conditions: list[ColumnElement[bool]] = []
        for entry in pool_def.entry_classes:
            for c in walk_criteria(entry.criteria):
                if isinstance(c, HonourHeld | HonourNotHeld | HonourApplied):
                    conditions.append(self._honour_condition(c))
        self.honours = None
        if conditions:
            self.honours = (
                select(
                    Honour.enterprise_id,
                    *[func.max(case((cond, 1), else_=0)).label(f"h{i}") for i, cond in enumerate(conditions)],
                )
                .group_by(Honour.enterprise_id)
                .subquery(f"{name}_hon")
            )
        self._next_flag = 0
        self.classes = [self._class(entry.code, entry.criteria) for entry in pool_def.entry_classes]

    # --- the rows read

    def join(self, stmt: Select) -> Select:
        if self.fig is not None:
            stmt = stmt.outerjoin(
                self.fig, and_(self.fig.enterprise_id == Enterprise.id, self.fig.year == self.year)
            )
        if self.honours is not None:
            stmt = stmt.outerjoin(self.honours, self.honours.c.enterprise_id == Enterprise.id)
        return stmt

    # --- per class and for the pool

    def _class(self, code: str, criteria: list[Criterion]) -> ClassSql:
        tris = [self._tri(c) for c in criteria]
        met = and_(true(), *[t.met for t in tris])
        failed = or_(false(), *[t.failed for t in tris])
        if not any(isinstance(c, Judgement) for c in walk_criteria(criteria)):
            return ClassSql(code, met, false(), failed, met)
        # every criterion met or open only for judgement (a met class satisfies this too)
        possible = and_(*[or_(t.met, t.judgement) for t in tris])
        return ClassSql(code, met, and_(not_(met), possible), failed, possible)

    @property
    def met(self) -> ColumnElement[bool]:
        return or_(*[k.met for k in self.classes])

    @property
    def judgement(self) -> ColumnElement[bool]:
        return and_(not_(self.met), or_(*[k.judgement for k in self.classes]))

    @property
    def candidate(self) -> ColumnElement[bool]:
        """Met, or 待人工判断: every checkable criterion of some entry class holds."""
        return or_(*[k.candidate for k in self.classes])

    @property
    def failed(self) -> ColumnElement[bool]:
        return and_(*[k.failed for k in self.classes])

    @property
    def candidacy(self) -> ColumnElement[str]:
        return case(
            (self.met, Candidacy.MET.value),
            (or_(*[k.judgement for k in self.classes]), Candidacy.JUDGEMENT.value),
            (or_(*[k.missing for k in self.classes]), Candidacy.MISSING.value),
            else_=Candidacy.FAILED.value,
        )

    def class_candidacy_of(self, entry_class) -> ColumnElement[str]:
        """The candidacy by the entry class named in a column (a member judged by the rule it entered by)."""
        return case(
            *[(entry_class == k.code, k.candidacy) for k in self.classes], else_=Candidacy.FAILED.value
        )

    # --- criteria

    def _honour_condition(self, c: HonourHeld | HonourNotHeld | HonourApplied) -> ColumnElement[bool]:
        conds = [Honour.code.in_(c.codes), Honour.honour_date <= date(self.year, 12, 31)]
        if c.levels is not None:
            conds.append(Honour.level.in_(c.levels))
        if isinstance(c, HonourApplied):
            conds.append(Honour.outcome.in_(c.outcomes))
        else:
            conds.append(Honour.outcome.in_(("new", "renewed")))
            if c.valid_years:
                conds.append(Honour.honour_date >= date(self.year - c.valid_years + 1, 1, 1))
        return and_(*conds)

    def _flag(self) -> ColumnElement[bool]:
        column = self.honours.c[f"h{self._next_flag}"]
        self._next_flag += 1
        return func.coalesce(column, 0) == 1

    def _tri(self, c: Criterion) -> Tri:
        no = false()
        match c:
            case RevenueBetween() | FigurePositive():
                v = getattr(self.fig, c.figure)
                if isinstance(c, RevenueBetween):
                    met, failed = v.between(c.min_yuan, c.max_yuan), or_(v < c.min_yuan, v > c.max_yuan)
                else:
                    met, failed = v > 0, v <= 0
                return Tri(and_(v.is_not(None), met), and_(v.is_not(None), failed), no)
            case Flag():
                return Tri(
                    Enterprise.above_scale.is_(c.above_scale),
                    Enterprise.above_scale.is_(not c.above_scale),
                    no,
                )
            case SizeIn():
                return Tri(Enterprise.size.in_(c.sizes), Enterprise.size.not_in(c.sizes), no)
            case IndustryIn():
                return self._industry(c)
            case HonourHeld():
                held = self._flag()
                return Tri(held, not_(held), no)
            case HonourNotHeld():
                held = self._flag()
                return Tri(not_(held), held, no)
            case HonourApplied():
                applied = self._flag()
                return Tri(applied, not_(applied), no)
            case Judgement():
                return Tri(no, no, true())
            case AnyOf():
                children = [self._tri(child) for child in c.criteria]
                met = or_(*[t.met for t in children])
                return Tri(
                    met,
                    and_(*[t.failed for t in children]),
                    and_(not_(met), or_(*[t.judgement for t in children])),
                )
        raise TypeError(f"unknown criterion kind {c.kind!r}")  # pragma: no cover

    def _industry(self, c: IndustryIn) -> Tri:
        """criteria.industry_sections in SQL: a 门类 letter, a two-digit 大类, or a group word (工业)."""
        s = func.upper(func.trim(Enterprise.industry))
        letter, division = func.substr(s, 1, 1), func.substr(s, 1, 2)
        inside = [d for sec in c.sections for d in section_divisions(sec)]
        met = [letter.in_(c.sections), division.in_(inside)]
        failed = [
            letter.in_([x for x in _LETTERS if x not in c.sections]),
            division.in_([d for d in _ALL_DIVISIONS if d not in inside]),
        ]
        for word, sections in INDUSTRY_GROUPS.items():
            if all(x in c.sections for x in sections):
                met.append(s == word)
            elif not any(x in c.sections for x in sections):
                failed.append(s == word)
        known = Enterprise.industry.is_not(None)
        return Tri(and_(known, or_(*met)), and_(known, or_(*failed)), false())
