"""Pool definitions (培育库) and the default 亩产效益 scheme: the schema of definitions.yaml, the exchange format of
the versions the county publishes (app/pools/store.py).

The schema is the vocabulary documented at the top of definitions.yaml: criterion kinds that
translate to plain SQL conditions, goal kinds that say what graduation means.
"""

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app import reference

HERE = Path(__file__).parent

Size = Literal["micro", "small", "medium", "large"]
Outcome = Literal["new", "renewed", "rejected"]
MoneyFigure = Literal["revenue_yuan", "main_revenue_yuan", "output_value_yuan", "rd_spend_yuan", "tax_yuan"]
Figure = Literal[
    "revenue_yuan",
    "main_revenue_yuan",
    "output_value_yuan",
    "rd_spend_yuan",
    "tax_yuan",
    "employees",
    "land_mu",
    "energy_tce",
]

FIGURE_NAMES: dict[str, str] = {
    "revenue_yuan": "营业收入",
    "main_revenue_yuan": "主营业务收入",
    "output_value_yuan": "工业总产值",
    "rd_spend_yuan": "研发经费投入",
    "tax_yuan": "税收",
    "employees": "从业人员",
    "land_mu": "用地面积",
    "energy_tce": "综合能耗",
    "pollutant_equiv": "污染物排放当量",
}
FIGURE_UNITS: dict[str, str] = {"employees": "人", "land_mu": "亩", "energy_tce": "吨标准煤"}  # *_yuan: 万元

CRITERION_KINDS = (
    "revenue_between",
    "flag",
    "size_in",
    "industry_in",
    "honour_held",
    "honour_not_held",
    "honour_applied",
    "figure_positive",
    "judgement",
    "any_of",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_honours(codes: list[str], levels: list[str] | None) -> None:
    known = reference.honours()
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValueError(f"未知认定代码：{'、'.join(unknown)}")
    allowed = {lv for c in codes for lv in known[c]["levels"]}
    bad = [lv for lv in levels or [] if lv not in allowed]
    if bad:
        raise ValueError(f"认定级别 {'、'.join(bad)} 不适用于 {'、'.join(codes)}")


# --- criteria


class _Criterion(_Model):
    basis: Literal["document", "proxy"] = "document"
    note: str | None = None


class RevenueBetween(_Criterion):
    """The year's figure within [min_yuan, max_yuan], both ends inclusive."""

    kind: Literal["revenue_between"]
    figure: MoneyFigure
    min_yuan: int = Field(ge=0)
    max_yuan: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> "RevenueBetween":
        if self.max_yuan < self.min_yuan:
            raise ValueError("max_yuan 小于 min_yuan")
        return self


class Flag(_Criterion):
    kind: Literal["flag"]
    above_scale: bool


class SizeIn(_Criterion):
    kind: Literal["size_in"]
    sizes: list[Size] = Field(min_length=1)


class IndustryIn(_Criterion):
    """GB/T 4754 门类 (the letter an industry code starts with)."""

    kind: Literal["industry_in"]
    sections: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _letters(self) -> "IndustryIn":
        if any(len(s) != 1 or not ("A" <= s <= "T") for s in self.sections):
            raise ValueError("门类须为 A–T 的单个字母")
        return self


class _HonourCriterion(_Criterion):
    codes: list[str] = Field(min_length=1)
    levels: list[str] | None = None  # None: any level

    @model_validator(mode="after")
    def _known(self) -> "_HonourCriterion":
        _check_honours(self.codes, self.levels)
        return self


class HonourHeld(_HonourCriterion):
    """A new/renewed record dated on or before the year's end (within valid_years calendar years if set)."""

    kind: Literal["honour_held"]
    valid_years: int | None = Field(default=None, ge=1)


class HonourNotHeld(_HonourCriterion):
    kind: Literal["honour_not_held"]
    valid_years: int | None = Field(default=None, ge=1)


class HonourApplied(_HonourCriterion):
    """A record of any of these outcomes: the enterprise applied."""

    kind: Literal["honour_applied"]
    outcomes: list[Outcome] = Field(default=["new", "renewed", "rejected"], min_length=1)


class FigurePositive(_Criterion):
    kind: Literal["figure_positive"]
    figure: Figure


class Judgement(_Criterion):
    kind: Literal["judgement"]
    text: str = Field(min_length=1)


class AnyOf(_Criterion):
    kind: Literal["any_of"]
    criteria: list["Criterion"] = Field(min_length=2)


Criterion = Annotated[
    RevenueBetween
    | Flag
    | SizeIn
    | IndustryIn
    | HonourHeld
    | HonourNotHeld
    | HonourApplied
    | FigurePositive
    | Judgement
    | AnyOf,
    Field(discriminator="kind"),
]
AnyOf.model_rebuild()


# --- goals


class _Goal(_Model):
    text: str


class AboveScaleGoal(_Goal):
    kind: Literal["above_scale"]


class HonourGoal(_Goal):
    kind: Literal["honour_granted"]
    honours: list[str] = Field(min_length=1)
    levels: list[str] | None = None

    @model_validator(mode="after")
    def _known(self) -> "HonourGoal":
        _check_honours(self.honours, self.levels)
        return self


class EventGoal(_Goal):
    kind: Literal["event"]
    type: Literal["talent_program"]  # the only event a pool graduates into so far
    level: Literal["national", "provincial", "city"] | None = None


Goal = Annotated[AboveScaleGoal | HonourGoal | EventGoal, Field(discriminator="kind")]


# --- pools


class InForce(_Model):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> "InForce":
        if self.end < self.start:
            raise ValueError("期末早于期初")
        return self

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


class Review(_Model):
    clause: str
    cadence: Literal["annual"]
    text: str


class EntryClass(_Model):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    clause: str
    text: str | None = None  # the clause's words
    criteria: list[Criterion] = Field(min_length=1)


class PoolDefinition(_Model):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    document: str
    clause: str
    tier: int | None = Field(default=None, ge=1, le=3)  # 冠政办发〔2023〕7号: 初级 1 / 中级 2 / 高级 3
    in_force: InForce
    review: Review | None = None
    criteria_note: str | None = None  # where the documents give no entry condition
    goals: list[Goal] = Field(min_length=1)
    # 梯度培育: the pools a graduate is proposed to move on to (初级 → 中级 → 高级)
    next_pools: list[str] = Field(default_factory=list)
    entry_classes: list[EntryClass] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_classes(self) -> "PoolDefinition":
        codes = [c.code for c in self.entry_classes]
        if len(codes) != len(set(codes)):
            raise ValueError(f"{self.code}：入库类别代码重复")
        return self

    def entry_class(self, code: str) -> EntryClass:
        for c in self.entry_classes:
            if c.code == code:
                return c
        raise KeyError(code)


# --- 亩产效益 scheme


class MuIndicator(_Model):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    numerator: str
    denominator: str
    unit: str
    scale: float = 1  # 100 shows a ratio as a percentage
    weight: float = Field(ge=0)
    available: bool = True
    reason: str | None = None  # why it is not available

    @model_validator(mode="after")
    def _reason(self) -> "MuIndicator":
        if not self.available and not self.reason:
            raise ValueError(f"{self.code}：不可用的指标须说明原因")
        return self


class MuBand(_Model):
    mu_class: Literal["A", "B", "C", "D"]
    percent: float = Field(gt=0, le=100)


class MuScheme(_Model):
    code: str
    name: str
    source: str
    admin_settable: bool = True
    indicators: list[MuIndicator] = Field(min_length=1)
    bands: list[MuBand] = Field(min_length=1)

    @model_validator(mode="after")
    def _sound(self) -> "MuScheme":
        if abs(sum(b.percent for b in self.bands) - 100) > 1e-9:
            raise ValueError("各档比例之和须为 100%")
        if [b.mu_class for b in self.bands] != sorted(b.mu_class for b in self.bands):
            raise ValueError("分档须按 A、B、C、D 顺序")
        if sum(i.weight for i in self.indicators if i.available) <= 0:
            raise ValueError("可用指标的权重之和须大于零")
        return self


class PoolCatalogue(_Model):
    pools: list[PoolDefinition]
    mu_scheme: MuScheme

    @model_validator(mode="after")
    def _unique(self) -> "PoolCatalogue":
        codes = [p.code for p in self.pools]
        if len(codes) != len(set(codes)):
            raise ValueError("培育库代码重复")
        for p in self.pools:
            unknown = [n for n in p.next_pools if n not in codes or n == p.code]
            if unknown:
                raise ValueError(f"{p.code}：next_pools 引用了未知的培育库 {'、'.join(unknown)}")
        return self

    def by_code(self) -> dict[str, PoolDefinition]:
        return {p.code: p for p in self.pools}


@lru_cache
def load_shipped() -> PoolCatalogue:
    """definitions.yaml as shipped: the first published version (app.pools.store loads it into the database)."""
    return PoolCatalogue.model_validate(
        yaml.safe_load((HERE / "definitions.yaml").read_text(encoding="utf-8"))
    )


def load_catalogue() -> PoolCatalogue:
    """The published version this process read last (app.pools.store.current), else the shipped file.

    For names and labels on pages that have no session; what is judged (entry, candidates, reviews,
    graduation) reads the version in force through app.pools.store with its session."""
    from app.pools import store

    return store.last_known() or load_shipped()


def load_pools() -> dict[str, PoolDefinition]:
    """Pool code → definition, in the file's order (labels; see load_catalogue)."""
    return load_catalogue().by_code()


def get_pool(code: str) -> PoolDefinition:
    return load_catalogue().by_code()[code]


def load_mu_scheme() -> MuScheme:
    """The default 亩产效益 scheme (weights and bands are admin-settable defaults)."""
    return load_catalogue().mu_scheme
