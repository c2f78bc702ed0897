"""Pure evaluation of a pool's entry criteria against one enterprise's facts — no database.

Each criterion comes out `met`, `failed` or `unknown` (a figure is missing, or a person must
judge), with a Chinese sentence that shows the figures used, e.g.
“2023 年营业收入 1,650 万元，在 1000–2000 万元之间”.
"""

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app import reference
from app.enterprises.snapshot import EnterpriseSnapshot
from app.money import wan
from app.pools.definitions import (
    FIGURE_NAMES,
    FIGURE_UNITS,
    AnyOf,
    Criterion,
    EntryClass,
    FigurePositive,
    Flag,
    HonourApplied,
    HonourHeld,
    HonourNotHeld,
    IndustryIn,
    Judgement,
    Outcome,
    PoolDefinition,
    RevenueBetween,
    Size,
    SizeIn,
)


class Status(StrEnum):
    MET = "met"
    FAILED = "failed"
    UNKNOWN = "unknown"  # data missing, or a person's judgement needed


STATUS_NAMES = {Status.MET: "符合", Status.FAILED: "不符合", Status.UNKNOWN: "待确认"}


# --- facts


class _Facts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class YearFigures(_Facts):
    """One year's figures; None where not known."""

    revenue_yuan: int | None = None
    main_revenue_yuan: int | None = None
    output_value_yuan: int | None = None
    rd_spend_yuan: int | None = None
    tax_yuan: int | None = None
    employees: int | None = None
    land_mu: float | None = None
    energy_tce: float | None = None


class HonourFact(_Facts):
    """One honour record: (code, level, outcome, date); a 4-tuple is accepted too."""

    code: str
    level: str | None = None
    outcome: Outcome
    date: dt.date | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_tuple(cls, data: Any) -> Any:
        if isinstance(data, tuple | list):
            return dict(zip(("code", "level", "outcome", "date"), data, strict=True))
        return data


class FirmFacts(_Facts):
    """What the criteria may look at for one enterprise."""

    above_scale: bool | None = None
    size: Size | None = None
    industry: str | None = None  # GB/T 4754 code: "C3311", "3311" or just the section "C"
    chain: str | None = None
    township: str | None = None
    figures: dict[int, YearFigures] = Field(default_factory=dict)
    honours: list[HonourFact] = Field(default_factory=list)
    mu_class: Literal["A", "B", "C", "D"] | None = None

    def figure(self, year: int, name: str) -> int | float | None:
        y = self.figures.get(year)
        return None if y is None else getattr(y, name)

    @classmethod
    def from_snapshot(cls, snap: EnterpriseSnapshot, *, until: dt.date | None = None) -> "FirmFacts":
        """The criteria's view of a registry snapshot (honours granted after `until` left out)."""

        def plain(v: Any) -> Any:  # Decimal columns (land, energy) as float
            return float(v) if v is not None and not isinstance(v, int) else v

        return cls(
            above_scale=snap.above_scale,
            size=snap.size,
            industry=snap.industry,
            chain=snap.chain,
            township=snap.township,
            figures={
                y: YearFigures(**{k: plain(v) for k, v in vals.items() if k in YearFigures.model_fields})
                for y, vals in snap.figures.items()
            },
            honours=[
                HonourFact(code=h.code, level=h.level, outcome=h.outcome, date=h.date)
                for h in snap.honours
                if until is None or h.date <= until
            ],
            mu_class=snap.mu_class,
        )


# --- results


@dataclass(frozen=True)
class CriterionResult:
    entry_class: str
    kind: str
    status: Status
    explanation: str  # Chinese, with the figures used
    basis: str = "document"
    children: tuple["CriterionResult", ...] = ()  # any_of

    @property
    def met(self) -> bool:
        return self.status is Status.MET


@dataclass(frozen=True)
class EntryRuleStatus:
    entry_class: str
    name: str
    clause: str
    status: Status
    summary: str  # Chinese
    results: tuple[CriterionResult, ...]


# --- formatting


def _num(x: int | float) -> str:
    return f"{Decimal(str(x)).normalize():,f}"


def _figure_text(name: str, value: int | float) -> str:
    if name.endswith("_yuan"):
        return f"{wan(value)} 万元"
    return f"{_num(value)} {FIGURE_UNITS.get(name, '')}".rstrip()


def _honour_label(code: str, level: str | None = None) -> str:
    name = reference.honours().get(code, {}).get("name", code)
    return f"{name}（{reference.LEVEL_NAMES.get(level, level)}）" if level else name


def _honour_list(codes: Sequence[str], levels: Sequence[str] | None) -> str:
    return _honour_words(tuple(codes), None if levels is None else tuple(levels))


@functools.lru_cache(maxsize=512)
def _honour_words(codes: tuple[str, ...], levels: tuple[str, ...] | None) -> str:
    """The honours a criterion names, in words: the same few lists for every firm judged, so said once."""
    names = "、".join(_honour_label(c) for c in codes)
    if levels:
        names += "（" + "、".join(reference.LEVEL_NAMES.get(lv, lv) for lv in levels) + "）"
    return names


def _record_text(h: HonourFact) -> str:
    when = h.date.isoformat() if h.date else "日期未登记"
    return f"{_honour_label(h.code, h.level)} {when} {reference.OUTCOME_NAMES[h.outcome]}"


# GB/T 4754-2017 门类 and the 大类 (two-digit divisions) each covers
SECTION_NAMES = {
    "A": "农、林、牧、渔业",
    "B": "采矿业",
    "C": "制造业",
    "D": "电力、热力、燃气及水生产和供应业",
    "E": "建筑业",
    "F": "批发和零售业",
    "G": "交通运输、仓储和邮政业",
    "H": "住宿和餐饮业",
    "I": "信息传输、软件和信息技术服务业",
    "J": "金融业",
    "K": "房地产业",
    "L": "租赁和商务服务业",
    "M": "科学研究和技术服务业",
    "N": "水利、环境和公共设施管理业",
    "O": "居民服务、修理和其他服务业",
    "P": "教育",
    "Q": "卫生和社会工作",
    "R": "文化、体育和娱乐业",
    "S": "公共管理、社会保障和社会组织",
    "T": "国际组织",
}
_DIVISION_UPPER_BOUNDS = [
    (5, "A"), (12, "B"), (43, "C"), (46, "D"), (50, "E"), (52, "F"), (60, "G"), (62, "H"), (65, "I"),
    (69, "J"), (70, "K"), (72, "L"), (75, "M"), (79, "N"), (82, "O"), (83, "P"), (85, "Q"), (90, "R"),
    (96, "S"), (97, "T"),
]  # fmt: skip


def industry_section(industry: str | None) -> str | None:
    """The GB/T 4754 门类 letter of an industry code ("C3311", "3311", "C"), or None."""
    if not industry:
        return None
    s = industry.strip().upper()
    if s[:1] in SECTION_NAMES:
        return s[0]
    if len(s) >= 2 and s[:2].isdigit():
        division = int(s[:2])
        for upper, letter in _DIVISION_UPPER_BOUNDS:
            if 1 <= division <= upper:
                return letter
    return None


# Words the registry holds instead of a code, and the 门类 they stand for. 工业 is the statistical
# grouping 采矿业、制造业、电力热力燃气及水生产和供应业 (GB/T 4754 门类 B、C、D).
INDUSTRY_GROUPS: dict[str, tuple[str, ...]] = {"工业": ("B", "C", "D")}


def section_divisions(section: str) -> list[str]:
    """The two-digit 大类 codes ("06" … "12") a 门类 covers."""
    lower = 1
    for upper, letter in _DIVISION_UPPER_BOUNDS:
        if letter == section:
            return [f"{d:02d}" for d in range(lower, upper + 1)]
        lower = upper + 1
    return []


@functools.lru_cache(maxsize=1024)  # a few hundred codes in the registry, asked for every firm judged
def industry_sections(industry: str | None) -> tuple[str, ...] | None:
    """The 门类 an industry entry may belong to: one for a code, several for a group word, else None."""
    section = industry_section(industry)
    if section is not None:
        return (section,)
    if industry:
        return INDUSTRY_GROUPS.get(industry.strip().upper())
    return None


# --- evaluation


def _combine(statuses: Sequence[Status], *, all_needed: bool) -> Status:
    if all_needed:
        if Status.FAILED in statuses:
            return Status.FAILED
        return Status.MET if all(s is Status.MET for s in statuses) else Status.UNKNOWN
    if Status.MET in statuses:
        return Status.MET
    return Status.FAILED if all(s is Status.FAILED for s in statuses) else Status.UNKNOWN


def _held_records(
    c: HonourHeld | HonourNotHeld, facts: FirmFacts, year: int
) -> tuple[list[HonourFact], list[HonourFact]]:
    """(records that surely match, records that match but lack the level or date to be sure)."""
    first_year = year - c.valid_years + 1 if c.valid_years else None
    sure: list[HonourFact] = []
    unsure: list[HonourFact] = []
    for h in facts.honours:
        if h.code not in c.codes or h.outcome == "rejected":
            continue
        if h.date is not None and h.date.year > year:
            continue
        if first_year is not None and h.date is not None and h.date.year < first_year:
            continue
        level_ok = c.levels is None or h.level in c.levels
        if c.levels is not None and h.level is not None and not level_ok:
            continue
        if level_ok and (h.date is not None or first_year is None):
            sure.append(h)
        else:
            unsure.append(h)
    return sure, unsure


def _window(c: HonourHeld | HonourNotHeld, year: int) -> str:
    if c.valid_years is None:
        return f"截至 {year} 年底"
    if c.valid_years == 1:
        return f"{year} 年"
    return f"{year - c.valid_years + 1}–{year} 年"


def _evaluate(c: Criterion, facts: FirmFacts, year: int, entry_class: str) -> CriterionResult:
    def result(status: Status, text: str, children: tuple[CriterionResult, ...] = ()) -> CriterionResult:
        return CriterionResult(entry_class, c.kind, status, text, c.basis, children)

    match c:
        case RevenueBetween():
            name = FIGURE_NAMES[c.figure]
            v = facts.figure(year, c.figure)
            bounds = f"{wan(c.min_yuan, grouped=False)}–{wan(c.max_yuan, grouped=False)} 万元"
            if v is None:
                return result(Status.UNKNOWN, f"{year} 年无{name}数据")
            said = f"{year} 年{name} {wan(v)} 万元"
            if v < c.min_yuan:
                return result(Status.FAILED, f"{said}，低于 {wan(c.min_yuan, grouped=False)} 万元")
            if v > c.max_yuan:
                return result(Status.FAILED, f"{said}，高于 {wan(c.max_yuan, grouped=False)} 万元")
            return result(Status.MET, f"{said}，在 {bounds}之间")

        case Flag():
            if facts.above_scale is None:
                return result(Status.UNKNOWN, "未登记是否为规模以上企业")
            now = "规模以上企业（规上）" if facts.above_scale else "规模以下企业（规下）"
            if facts.above_scale == c.above_scale:
                return result(Status.MET, f"现为{now}")
            wanted = "规上" if c.above_scale else "规下"
            return result(Status.FAILED, f"现为{now}，本条件要求{wanted}")

        case SizeIn():
            allowed = "、".join(reference.SIZE_NAMES[s] for s in c.sizes)
            if facts.size is None:
                return result(Status.UNKNOWN, "未登记企业规模（大、中、小、微型）")
            size = reference.SIZE_NAMES[facts.size]
            if facts.size in c.sizes:
                return result(Status.MET, f"{size}企业，属于{allowed}企业")
            return result(Status.FAILED, f"{size}企业，不属于{allowed}企业")

        case IndustryIn():
            allowed = "门类 " + "、".join(c.sections)
            sections = industry_sections(facts.industry)
            if sections is None:
                if facts.industry and facts.industry.strip():
                    return result(
                        Status.UNKNOWN, f"所属行业“{facts.industry.strip()}”无法对应国民经济行业分类的门类"
                    )
                return result(Status.UNKNOWN, "未登记所属行业（国民经济行业分类）")
            if len(sections) == 1:
                (section,) = sections
                said = f"所属行业 {facts.industry}，门类 {section}（{SECTION_NAMES[section]}）"
            else:
                said = f"所属行业 {(facts.industry or '').strip()}（门类 {'、'.join(sections)}）"
            inside = [s for s in sections if s in c.sections]
            if len(inside) == len(sections):
                return result(Status.MET, f"{said}，属于 {allowed}")
            if not inside:
                return result(Status.FAILED, f"{said}，不属于 {allowed}")
            return result(Status.UNKNOWN, f"{said}，须登记具体行业代码才能确定是否属于 {allowed}")

        case HonourHeld() | HonourNotHeld():
            wanted = _honour_list(c.codes, c.levels)
            sure, unsure = _held_records(c, facts, year)
            window = _window(c, year)
            held = isinstance(c, HonourHeld)
            if sure:
                text = f"{window}{'持有' if held else '已持有'}：" + "；".join(_record_text(h) for h in sure)
                return result(Status.MET if held else Status.FAILED, text)
            if unsure:
                text = f"有{wanted}记录但未登记级别或日期，无法确定{window}是否持有：" + "；".join(
                    _record_text(h) for h in unsure
                )
                return result(Status.UNKNOWN, text)
            return result(Status.FAILED if held else Status.MET, f"{window}未持有{wanted}")

        case HonourApplied():
            wanted = _honour_list(c.codes, c.levels)
            found = [
                h
                for h in facts.honours
                if h.code in c.codes
                and h.outcome in c.outcomes
                and (c.levels is None or h.level in c.levels)
                and (h.date is None or h.date.year <= year)
            ]
            if found:
                return result(Status.MET, "已申报：" + "；".join(_record_text(h) for h in found))
            return result(Status.FAILED, f"截至 {year} 年底无{wanted}申报记录")

        case FigurePositive():
            name = FIGURE_NAMES[c.figure]
            v = facts.figure(year, c.figure)
            if v is None:
                return result(Status.UNKNOWN, f"{year} 年无{name}数据")
            if v > 0:
                return result(Status.MET, f"{year} 年{name} {_figure_text(c.figure, v)}，大于零")
            return result(Status.FAILED, f"{year} 年{name}为 {_figure_text(c.figure, v)}，须大于零")

        case Judgement():
            return result(Status.UNKNOWN, f"需人工判断：{c.text}")

        case AnyOf():
            children = tuple(_evaluate(child, facts, year, entry_class) for child in c.criteria)
            status = _combine([r.status for r in children], all_needed=False)
            if status is Status.MET:
                text = "满足其一：" + next(r.explanation for r in children if r.met)
            elif status is Status.FAILED:
                text = "均不满足：" + "；".join(r.explanation for r in children)
            else:
                text = "尚待确认其一：" + "；".join(
                    r.explanation for r in children if r.status is Status.UNKNOWN
                )
            return result(status, text, children)

    raise TypeError(f"unknown criterion kind {c.kind!r}")  # pragma: no cover


def evaluate_entry_class(entry: EntryClass, facts: FirmFacts, year: int) -> list[CriterionResult]:
    return [_evaluate(c, facts, year, entry.code) for c in entry.criteria]


def evaluate_criterion(c: Criterion, facts: FirmFacts, year: int, entry_class: str) -> CriterionResult:
    """One criterion of the entry class `entry_class`, as `evaluate_entry_class` judges it."""
    return _evaluate(c, facts, year, entry_class)


# The fields of FirmFacts each kind of criterion reads (besides the year), so that a caller may keep a result
# for every firm whose facts agree on them. `_evaluate` reads nothing else: tests/pools/test_criteria_reads.py
# changes every other field and finds the same result.
_READS: dict[type, frozenset[str]] = {
    RevenueBetween: frozenset({"figures"}),
    FigurePositive: frozenset({"figures"}),
    Flag: frozenset({"above_scale"}),
    SizeIn: frozenset({"size"}),
    IndustryIn: frozenset({"industry"}),
    HonourHeld: frozenset({"honours"}),
    HonourNotHeld: frozenset({"honours"}),
    HonourApplied: frozenset({"honours"}),
    Judgement: frozenset(),
}


def reads(c: Criterion) -> frozenset[str]:
    """The fields of FirmFacts criterion `c` reads (an any_of: what its criteria read)."""
    if isinstance(c, AnyOf):
        return frozenset().union(*(reads(child) for child in c.criteria))
    return _READS[type(c)]


def evaluate(pool_def: PoolDefinition, facts: FirmFacts, year: int) -> list[CriterionResult]:
    """Every criterion of every entry class of the pool, in order, for the figures of `year`."""
    return [r for entry in pool_def.entry_classes for r in evaluate_entry_class(entry, facts, year)]


def entry_rule_status(pool_def: PoolDefinition, facts: FirmFacts, year: int) -> list[EntryRuleStatus]:
    """Per entry class: met when all its criteria are met, failed when any fails, else unknown."""
    statuses = []
    for entry in pool_def.entry_classes:
        results = tuple(evaluate_entry_class(entry, facts, year))
        status = _combine([r.status for r in results], all_needed=True)
        head = f"{entry.name}（{pool_def.document} {entry.clause}）"
        if status is Status.MET:
            summary = f"符合{head}：" + "；".join(r.explanation for r in results)
        elif status is Status.FAILED:
            summary = f"不符合{head}：" + "；".join(
                r.explanation for r in results if r.status is Status.FAILED
            )
        else:
            summary = f"{head}待确认：" + "；".join(
                r.explanation for r in results if r.status is Status.UNKNOWN
            )
        statuses.append(EntryRuleStatus(entry.code, entry.name, entry.clause, status, summary, results))
    return statuses


def pool_status(pool_def: PoolDefinition, facts: FirmFacts, year: int) -> Status:
    """Met when some entry class is met, failed when every class fails, else unknown."""
    return _combine([s.status for s in entry_rule_status(pool_def, facts, year)], all_needed=False)


# --- candidates: which unknowns only a person can settle


class Candidacy(StrEnum):
    """Where a firm stands for an entry class (or a pool) when drawing candidate lists."""

    MET = "met"  # every criterion met
    JUDGEMENT = "judgement"  # the checkable criteria hold; a person must judge the rest (待人工判断)
    MISSING = "missing"  # nothing failed, but a figure or record needed is missing (数据不全)
    FAILED = "failed"  # a criterion fails


CANDIDACY_NAMES = {
    Candidacy.MET: "符合",
    Candidacy.JUDGEMENT: "待人工判断",
    Candidacy.MISSING: "数据不全",
    Candidacy.FAILED: "不符合",
}


def needs_judgement(r: CriterionResult) -> bool:
    """Unknown because a person must judge (a judgement, or an any_of left open by one), not for want of data."""
    if r.kind == "judgement":
        return True
    if r.kind == "any_of":
        return r.status is Status.UNKNOWN and any(needs_judgement(c) for c in r.children)
    return False


def class_candidacy(results: Sequence[CriterionResult]) -> Candidacy:
    if all(r.met for r in results):
        return Candidacy.MET
    if all(r.met or needs_judgement(r) for r in results):
        return Candidacy.JUDGEMENT
    if any(r.status is Status.FAILED for r in results):
        return Candidacy.FAILED
    return Candidacy.MISSING


def pool_candidacy(pool_def: PoolDefinition, facts: FirmFacts, year: int) -> dict[str, Candidacy]:
    """Entry class code → candidacy; the pool's own is `combine_candidacy` of them."""
    return {
        entry.code: class_candidacy(evaluate_entry_class(entry, facts, year))
        for entry in pool_def.entry_classes
    }


def combine_candidacy(values: Sequence[Candidacy]) -> Candidacy:
    """The best of the entry classes: met, else judgement, else missing, else failed."""
    for c in (Candidacy.MET, Candidacy.JUDGEMENT, Candidacy.MISSING):
        if c in values:
            return c
    return Candidacy.FAILED
