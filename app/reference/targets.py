"""Targets as data: the 2023 table (冠政办发〔2023〕7号 附件) and the 2022–2024 goals (冠政发〔2022〕9号 二).

The files are validated on load; `parse_target_table` validates rows of the same shape coming
from elsewhere (next year's table uploaded as .xlsx) and reports every bad cell at once, in
Chinese, naming the row, the indicator and the township.
"""

import calendar
import re
from collections.abc import Collection, Iterable, Mapping
from datetime import date
from functools import lru_cache
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator

from app import reference
from app.errors import FieldError, ValidationFailed

Outcome = Literal["new", "renewed", "rejected"]
MEASURE_KINDS = (
    "honour_count",
    "pool_members",
    "platform_registrations",
    "rd_growth",
    "cluster_count",
    "project_count",
    "voyage_listed",
    "training_count",
    "digital_assessments",
    "not_available",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- measures: how progress is read from the data (vocabulary documented in targets_2023.yaml)


class HonourCount(_Model):
    """Distinct enterprises with an honour record of these codes, levels and outcomes."""

    kind: Literal["honour_count"]
    honours: list[str] = Field(min_length=1)
    levels: list[str] | None = None  # None: any level
    outcomes: list[Outcome] = Field(min_length=1)
    dated_in: Literal["year", "period"]

    @model_validator(mode="after")
    def _known_codes(self) -> "HonourCount":
        known = reference.honours()
        unknown = [h for h in self.honours if h not in known]
        if unknown:
            raise ValueError(f"未知认定代码：{'、'.join(unknown)}")
        allowed = {lv for h in self.honours for lv in known[h]["levels"]}
        bad = [lv for lv in self.levels or [] if lv not in allowed]
        if bad:
            raise ValueError(f"认定级别 {'、'.join(bad)} 不适用于 {'、'.join(self.honours)}")
        return self


class PoolMembers(_Model):
    """Enterprises in a pool of app/pools/definitions.yaml on the deadline."""

    kind: Literal["pool_members"]
    pool: str
    at: Literal["deadline"] = "deadline"


class PlatformRegistrations(_Model):
    """Enterprises registered on 聊城企业“政策通” during the year."""

    kind: Literal["platform_registrations"]
    dated_in: Literal["year"] = "year"


RD_READINGS = {
    "year_on_year": "同比（本月与上年同月相比）",
    "month_on_month": "环比（本月与上月相比）",
}
# 10 % compounding month on month would triple R&D spending in a year, so the rate is read year on year
# (judged each month) unless the county chose otherwise for the indicator.
DEFAULT_RD_READING = "year_on_year"


def rd_reading(measure: dict | None) -> str:
    """The reading an R&D growth indicator is judged by: its setting, else year on year."""
    return (measure or {}).get("reading") or DEFAULT_RD_READING


class RdGrowth(_Model):
    """Growth of R&D spend from the monthly filings, judged each month by the reading the county
    chose for the indicator: year on year (the same month last year) or month on month. Both are
    shown; the status follows `reading`."""

    kind: Literal["rd_growth"]
    reading: Literal["year_on_year", "month_on_month"] = DEFAULT_RD_READING


class ClusterCount(_Model):
    """特色产业集群 recognised (app.clusters): each cluster counts once, however many firms it has."""

    kind: Literal["cluster_count"]
    levels: list[Literal["city", "provincial", "national"]] | None = None  # None: any level
    dated_in: Literal["year", "period"]


class ProjectCount(_Model):
    """Projects of the projects register (app/registers) under way in the period: started by its end
    and not completed before its start, past the planning stage. Each project counts once."""

    kind: Literal["project_count"]
    project_kind: Literal["tech_upgrade", "key_chain"]
    dated_in: Literal["year", "period"]


class VoyageListed(_Model):
    """Enterprises on the 助企远航 list (app/support) by the day progress is read."""

    kind: Literal["voyage_listed"]


class TrainingCount(_Model):
    """Participants trained in courses of these kinds (the training register, app/registers)."""

    kind: Literal["training_count"]
    courses: list[Literal["digital_officer", "modern_manager", "entrepreneur"]] = Field(min_length=1)
    dated_in: Literal["year", "period"]


class DigitalAssessments(_Model):
    """Enterprises with a 中小企业数字化水平测评 dated in the window (the assessment register)."""

    kind: Literal["digital_assessments"]
    dated_in: Literal["year", "period"]


class NotAvailable(_Model):
    """The system holds no data for this; shown with its reason, never computed."""

    kind: Literal["not_available"]
    reason: str = Field(min_length=1)


Measure = Annotated[
    HonourCount
    | PoolMembers
    | PlatformRegistrations
    | RdGrowth
    | ClusterCount
    | ProjectCount
    | VoyageListed
    | TrainingCount
    | DigitalAssessments
    | NotAvailable,
    Field(discriminator="kind"),
]


# --- the 2023 table


class Contact(_Model):
    name: str = Field(min_length=1)
    phone: str = Field(pattern=r"^1\d{10}$")


class Responsible(_Model):
    lead: list[Contact]  # 分管负责人
    section: list[Contact] = []  # 科室负责人


class TargetPart(_Model):
    """A sub-target of one row (特色产业集群 市级 / 省级 / 国家级)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    total: int = Field(ge=0)
    measure: Measure


class Target(_Model):
    """One row of the target table."""

    no: int = Field(ge=1)
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    clause: str | None = None
    unit: str
    kind: Literal["count", "rate"] = "count"
    townships: dict[str, int | float] | None = None
    county_only: bool = False
    at_least: bool = False
    parts: list[TargetPart] | None = None
    total: int | float
    deadline: date | None
    deadline_text: str = Field(min_length=1)
    filing_day: int | None = Field(default=None, ge=1, le=28)
    responsible: Responsible | None = None
    measure: Measure

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> "Target":
        context = info.context or {}
        problems = target_problems(
            self, check_sum=context.get("check_sum", True), rejected=context.get("rejected", ())
        )
        sink = context.get("problems")
        if sink is not None:  # parse_target_table collects every cell's problem
            sink.extend(problems)
        elif problems:
            raise ValueError("；".join(msg for _, msg in problems))
        return self

    def township_figure(self, township: str) -> int | float | None:
        return (self.townships or {}).get(township)


def target_problems(
    t: Target, *, check_sum: bool = True, rejected: Collection[str] = ()
) -> list[tuple[str, str]]:
    """(field, Chinese message) for every inconsistency in one row; empty when the row is sound.

    `rejected` names township cells already reported by the caller, `check_sum` False skips the
    sum check when one of them makes the sum meaningless.
    """
    problems: list[tuple[str, str]] = []
    names = reference.township_names()
    if t.county_only:
        if t.townships:
            problems.append(("townships", "县级指标（无乡镇分解）不应填写乡镇数值"))
    elif t.townships is None:
        problems.append(("townships", "缺少各乡镇数值"))
    else:
        for code, value in t.townships.items():
            if code not in names:
                problems.append((f"townships.{code}", f"未知乡镇“{code}”"))
            elif value < 0:
                problems.append((f"townships.{code}", f"{names[code]}：{_num(value)} 不能为负数"))
            elif t.kind == "count" and value != int(value):
                problems.append((f"townships.{code}", f"{names[code]}：{_num(value)} 不是整数"))
        for code, name in names.items():
            if code not in t.townships and code not in rejected:
                problems.append((f"townships.{code}", f"{name}：缺少数值"))
        if t.kind == "count" and check_sum:
            s = sum(t.townships.values())
            if s != t.total:
                problems.append(("total", f"各乡镇合计 {_num(s)}，与总数 {_num(t.total)} 不符"))
    if t.total < 0:
        problems.append(("total", f"总数 {_num(t.total)} 不能为负数"))
    if t.parts is not None:
        s = sum(p.total for p in t.parts)
        if s != t.total:
            problems.append(("total", f"分项合计 {s}，与总数 {_num(t.total)} 不符"))
    if t.kind == "rate":
        if t.filing_day is None:
            problems.append(("filing_day", "比率指标须写明每月填报日（filing_day）"))
    elif t.deadline is None:
        problems.append(("deadline", "缺少完成时限"))
    return problems


class CountyGoal(_Model):
    """A county-wide figure of the document's body that the attachment does not split (一、二 of 冠政办发〔2023〕7号)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    clause: str
    text: str  # the document's words
    unit: str
    kind: Literal["count", "rate"] = "count"
    total: int | float
    at_least: bool = False
    measure: Measure


class TargetTable(_Model):
    document: str
    title: str
    issued: date
    year: int
    indicators: list[Target]
    county_goals: list[CountyGoal] = []

    @model_validator(mode="after")
    def _year_measures(self) -> "TargetTable":
        for t in self.indicators:
            for m in [t.measure, *(p.measure for p in t.parts or [])]:
                if isinstance(m, HonourCount) and m.dated_in != "year":
                    raise ValueError(f"{t.code}：年度指标的认定计数应为 dated_in: year")
        return self

    def by_code(self) -> dict[str, Target]:
        return {t.code: t for t in self.indicators}


# --- the 2022–2024 goals


class Period(_Model):
    start: date
    end: date
    note: str

    @model_validator(mode="after")
    def _ordered(self) -> "Period":
        if self.end < self.start:
            raise ValueError("期末早于期初")
        return self


class Goal(_Model):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    clause: str
    text: str | None = None  # the document's words where the name alone loses them
    unit: str
    total: int = Field(ge=0)
    at_least: bool = False
    approx: bool = False  # 左右
    measure: Measure

    @model_validator(mode="after")
    def _period_measure(self) -> "Goal":
        if isinstance(self.measure, HonourCount) and self.measure.dated_in != "period":
            raise ValueError(f"{self.code}：三年目标的认定计数应为 dated_in: period")
        return self


class GoalSet(_Model):
    document: str
    title: str
    issued: date
    period: Period
    goals: list[Goal]

    @model_validator(mode="after")
    def _unique(self) -> "GoalSet":
        codes = [g.code for g in self.goals]
        if len(codes) != len(set(codes)):
            raise ValueError("目标代码重复")
        return self

    def by_code(self) -> dict[str, Goal]:
        return {g.code: g for g in self.goals}


# --- parsing a table (the YAML file, or an uploaded sheet)


class TargetTableInvalid(ValidationFailed):
    """Every bad cell of a target table, each naming its row, indicator and township."""

    def __init__(self, errors: list[FieldError]):
        super().__init__(
            errors, detail=f"指标表有 {len(errors)} 处错误：" + "；".join(e.message for e in errors[:3])
        )


_DEADLINE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?")


def parse_deadline_text(text: str) -> date | None:
    """完成时限 → date: the exact day where printed, else the last day of the month; None if neither."""
    m = _DEADLINE.search(text)
    if not m:
        return None
    y, mo = int(m[1]), int(m[2])
    day = int(m[3]) if m[3] else calendar.monthrange(y, mo)[1]
    return date(y, mo, day)


def _num(x: int | float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _township_keys() -> dict[str, str]:
    """Code, full name and short name → code, so a sheet's header can be used as it is."""
    keys: dict[str, str] = {}
    for t in reference.townships():
        for k in (t["code"], t["name"], t["short"]):
            keys[k] = t["code"]
    return keys


def _looks_like_township(key: object) -> bool:
    """A sheet column such as 冠城镇 that is meant as a township, so it is reported as an unknown one."""
    return isinstance(key, str) and key.strip().endswith(("镇", "乡", "街道", "开发区"))


def _norm_name(s: str) -> str:
    return re.sub(r"\s+", "", s).replace("\u201c", "").replace("\u201d", "").replace('"', "")


def _cell_value(raw: Any) -> int | float | str:
    """A sheet cell as a number: 3, 3.0, "3", "10%" → 3, 3, 3, 10; anything else is returned as is."""
    if isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, int | float):
        return int(raw) if float(raw).is_integer() else raw
    if isinstance(raw, str):
        s = raw.strip().rstrip("%").strip()
        try:
            v = float(s)
        except ValueError:
            return raw
        return int(v) if v.is_integer() else v
    return raw if raw is not None else ""


def parse_target_table(
    rows: Iterable[Mapping[str, Any]],
    *,
    catalogue: Mapping[str, Target] | None = None,
    first_row: int = 1,
) -> list[Target]:
    """Validate target rows; return them as `Target`s or raise `TargetTableInvalid` listing every error.

    A row is a dict shaped like an entry of targets_2023.yaml. For an uploaded sheet:
    - townships may be keyed by code, full name or short name (开发区, 清泉街道 …), given as
      the mapping `townships` or as top-level keys;
    - `code` may be left out when `name` matches an indicator of the catalogue;
    - `deadline` may be left out when `deadline_text` reads like 2023年9月 / 2023年3月25日前;
    - `measure`, `unit`, `kind`, `county_only`, `at_least`, `parts` and `filing_day` default to
      the catalogue's indicator of the same code (clause and officials belong to one year's
      document and are never carried over).
    `catalogue` defaults to the 2023 table's indicators; a code outside it is an error, since the
    system would not know how to measure it. `first_row` is the number of the first data row
    in messages (a sheet with a header row passes 2).
    """
    if catalogue is None:
        catalogue = load_targets_2023().by_code()
    targets, errors = _parse_rows(list(rows), catalogue=catalogue, first_row=first_row)
    if errors:
        raise TargetTableInvalid(errors)
    return targets


def check_rows(
    rows: Iterable[Mapping[str, Any]], *, first_row: int = 1
) -> tuple[list[Target], list[FieldError]]:
    """Rows complete in themselves (a draft's, with their own measures): (valid rows, every error)."""
    return _parse_rows(list(rows), catalogue=None, first_row=first_row)


def shift_deadline_text(text: str, years: int) -> str:
    """完成时限 one table later: every year printed in it (2023年9月) moved by `years`."""
    return re.sub(r"(\d{4})(?=\s*年)", lambda m: str(int(m[1]) + years), text)


# what an uploaded row takes from the catalogue's indicator of the same code when it leaves it out;
# not clause or responsible: those belong to one year's document
_INHERITED = {"measure", "unit", "kind", "county_only", "at_least", "parts", "filing_day"}


def _parse_rows(
    rows: list[Mapping[str, Any]], *, catalogue: Mapping[str, Target] | None, first_row: int
) -> tuple[list[Target], list[FieldError]]:
    keys = _township_keys()
    names = reference.township_names()
    by_name = {_norm_name(t.name): t for t in (catalogue or {}).values()}
    errors: list[FieldError] = []
    targets: list[Target] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(rows):
        rowno = first_row + i
        row = dict(raw)
        label_name = str(row.get("name") or row.get("code") or "")
        label = f"第 {rowno} 行（{label_name}）" if label_name else f"第 {rowno} 行"

        def err(field: str, msg: str, _rowno: int = rowno, _label: str = label) -> None:
            errors.append(FieldError(field=field, message=f"{_label}，{msg}", row=_rowno))

        # the indicator
        base: Target | None = None
        if catalogue is not None:
            code = row.get("code")
            if code is None and row.get("name"):
                base = by_name.get(_norm_name(str(row["name"])))
                if base is not None:
                    row["code"] = base.code
            else:
                base = catalogue.get(str(code))
            if base is None:
                what = f"“{code}”" if code else f"“{row.get('name', '')}”"
                err("code", f"未知指标{what}，不在指标目录中，系统无法统计其进度")
                continue
            for f, v in base.model_dump(include=_INHERITED, exclude_none=True).items():
                row.setdefault(f, v)
            row.setdefault("no", i + 1)
        if row.get("code") in seen:
            err("code", f"指标“{row['code']}”与第 {seen[row['code']]} 行重复")
            continue
        if row.get("code"):
            seen[str(row["code"])] = rowno

        # township cells: a mapping, or top-level keys named after townships
        cells: dict[str, Any] = dict(row.pop("townships", None) or {})
        for k in [k for k in row if k not in Target.model_fields and (k in keys or _looks_like_township(k))]:
            cells[k] = row.pop(k)
        bad_cell = False
        rejected: set[str] = set()  # townships whose cell was already reported
        if cells:
            township_cells: dict[str, int | float] = {}
            for k, v in cells.items():
                code_ = keys.get(str(k).strip())
                if code_ is None:
                    err(f"townships.{k}", f"未知乡镇“{k}”")
                    bad_cell = True
                    continue
                value = _cell_value(v)
                if isinstance(value, str):
                    msg = f"“{v}”不是数字" if value else "缺少数值"
                    err(f"townships.{code_}", f"{names[code_]}：{msg}")
                    bad_cell = True
                    rejected.add(code_)
                    continue
                township_cells[code_] = value
            row["townships"] = township_cells
        if "total" in row:
            total = _cell_value(row["total"])
            if isinstance(total, str):
                err("total", f"总数“{row['total']}”不是数字")
                bad_cell = True
                row["total"] = 0  # reported above; lets the other cells still be checked
            else:
                row["total"] = total
        if "deadline" not in row and row.get("deadline_text"):
            row["deadline"] = parse_deadline_text(str(row["deadline_text"]))
        problems: list[tuple[str, str]] = []
        try:
            # with a cell already rejected the sum is unknowable: report the cell, not a sum
            target = Target.model_validate(
                row, context={"problems": problems, "check_sum": not bad_cell, "rejected": rejected}
            )
        except ValidationError as e:
            for line in e.errors():
                loc = ".".join(str(p) for p in line["loc"])
                err(loc or "row", f"{_field_label(line['loc'])}：{_pydantic_message(line)}")
            continue
        for field, msg in problems:
            err(field, msg)
        if not problems and not bad_cell:
            targets.append(target)
    return targets, errors


_FIELD_LABELS = {
    "no": "序号",
    "code": "指标代码",
    "name": "项目名称",
    "unit": "单位",
    "total": "总数",
    "deadline": "完成时限",
    "deadline_text": "完成时限",
    "measure": "统计口径",
    "responsible": "联系人",
    "filing_day": "填报日",
}


def _field_label(loc: tuple) -> str:
    if len(loc) >= 2 and loc[0] == "townships":
        return reference.township_names().get(str(loc[1]), str(loc[1]))
    return _FIELD_LABELS.get(str(loc[0]) if loc else "", ".".join(str(p) for p in loc) or "本行")


def _pydantic_message(line: Mapping[str, Any]) -> str:
    kind = line["type"]
    if kind == "missing":
        return "缺少数值"
    if kind == "extra_forbidden":
        return "多余的列"
    if kind in {"int_parsing", "float_parsing", "int_type", "float_type", "int_from_float"}:
        return f"“{line.get('input')}”不是数字"
    if kind in {"greater_than_equal", "greater_than"}:
        return f"{line.get('input')} 不能小于 {line['ctx'].get('ge', line['ctx'].get('gt'))}"
    if kind in {"date_parsing", "date_from_datetime_parsing", "date_type"}:
        return f"“{line.get('input')}”不是日期"
    if kind == "value_error":
        return str(line["ctx"]["error"])
    return str(line["msg"])


def _load_yaml(name: str) -> dict:
    return yaml.safe_load((reference.HERE / name).read_text(encoding="utf-8"))


@lru_cache
def load_targets_2023() -> TargetTable:
    """The attachment of 冠政办发〔2023〕7号: 19 indicators × 19 townships."""
    data = _load_yaml("targets_2023.yaml")
    targets, errors = _parse_rows(data.pop("indicators"), catalogue=None, first_row=1)
    if errors:
        raise TargetTableInvalid(errors)
    return TargetTable(**data, indicators=targets)


@lru_cache
def load_goals() -> GoalSet:
    """The three-year goals of 冠政发〔2022〕9号 二、主要目标."""
    return GoalSet.model_validate(_load_yaml("goals_2022_2024.yaml"))
