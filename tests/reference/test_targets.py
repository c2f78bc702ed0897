"""The 2023 target table and the 2022–2024 goals, checked against the documents' own text.

tests/reference/data/ holds verbatim copies of the two seed documents (public, 此件公开发布);
the attachment of 冠政办发〔2023〕7号 is parsed from the text itself, so a mistyped figure in
targets_2023.yaml fails here.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
import yaml

from app import reference
from app.errors import ValidationFailed
from app.reference.targets import (
    MEASURE_KINDS,
    HonourCount,
    PoolMembers,
    TargetTableInvalid,
    load_goals,
    load_targets_2023,
    parse_deadline_text,
    parse_target_table,
)

DATA = Path(__file__).parent / "data"
SHARED_SEEDS = Path("/work/shared/seeds")
TOWNSHIPS = [t["code"] for t in reference.townships()]

CODES = [
    "innovative_sme_applications",
    "specialized_sme_pool",
    "little_giant",
    "xiaoshenggui_pool",
    "digital_assessment",
    "policy_platform_registrations",
    "gazelle",
    "cluster",
    "high_tech",
    "tech_sme",
    "rd_growth_rate",
    "lab_innovation_center",
    "two_integration_pool",
    "dcmm_pool",
    "taishan_talent_pool",
    "national_talent_pool",
    "one_tech_rd_center",
    "smart_manufacturing_pool",
    "champion",
]


# --- reading the attachment from the document's text


@dataclass
class SeedRow:
    no: int
    start: int  # line index where the row begins
    name: str = ""
    figures: list[int] | None = None  # 19 township figures
    rates: list[str] | None = None
    total: int | None = None
    county_text: str | None = None
    deadline_text: str = ""
    name_lines: list[str] = field(default_factory=list)


NUMBERS = re.compile(r"^(\d+(?: \d+){19})(?: (.+))?$")
RATES = re.compile(r"^((?:\d+% ){18}\d+%)$")
COUNTY = re.compile(r"^(重点(?:培育|打造).*?)\s(\d{4}年\d{1,2}月)$")
INLINE = re.compile(r"^(\d{1,2}) (\S+) (重点.*)$")


def seed_rows() -> dict[int, SeedRow]:
    lines = (DATA / "gzb-2023-7.txt").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "附件：")
    rows: dict[int, SeedRow] = {}
    current: SeedRow | None = None
    after_figures = False
    for i in range(start, len(lines)):
        line = lines[i].strip()
        if not line:
            continue
        expected = len(rows) + 1
        m = INLINE.match(line)
        if m and int(m[1]) == expected:  # 7 瞪羚企业 重点培育 3 家以上 2023年10月
            current = rows[expected] = SeedRow(expected, i, name=m[2])
            c = COUNTY.match(m[3])
            current.county_text, current.deadline_text = c[1], c[2]
            after_figures = False
            continue
        if line == str(expected):
            current = rows[expected] = SeedRow(expected, i)
            after_figures = False
            continue
        if current is None:
            continue
        if after_figures:  # the rest of a 完成时限 cell: "2023年3月25" / "日前"
            if line.startswith(("分管负责人", "科室负责人", "序")) or "冠县人民政府办公室" in line:
                after_figures = False
            else:
                current.deadline_text += line
            continue
        if current.figures is None and current.rates is None and current.county_text is None:
            if m := NUMBERS.match(line):
                nums = [int(x) for x in m[1].split()]
                current.figures, current.total = nums[:19], nums[19]
                current.deadline_text = m[2] or ""
                current.name = "".join(current.name_lines)
                after_figures = True
            elif m := RATES.match(line):
                current.rates = m[1].split()
                current.name = "".join(current.name_lines)
                after_figures = True
            elif m := COUNTY.match(line):
                current.county_text, current.deadline_text = m[1], m[2]
                current.name = "".join(current.name_lines)
            else:
                current.name_lines.append(line)
    return rows


@pytest.fixture(scope="module")
def seed() -> dict[int, SeedRow]:
    return seed_rows()


@pytest.fixture(scope="module")
def table():
    return load_targets_2023()


def test_seed_copies_match_the_shared_seeds():
    """The copies under tests/reference/data are the shared seed documents, byte for byte."""
    if not SHARED_SEEDS.exists():
        pytest.skip("shared seeds not mounted here")
    for copy, original in [
        ("gzb-2023-7.txt", "002_7d8074b865f5c14f.txt"),
        ("gz-2022-9.txt", "000_e8999cc6d7929b35.txt"),
    ]:
        assert (DATA / copy).read_bytes() == (SHARED_SEEDS / original).read_bytes()


def test_the_seed_parser_finds_all_19_rows(seed):
    """冠政办发〔2023〕7号 附件: 序号 1–19, 12 rows split by township, 1 rate row, 6 county rows."""
    assert sorted(seed) == list(range(1, 20))
    assert sum(1 for r in seed.values() if r.figures) == 12
    assert sum(1 for r in seed.values() if r.rates) == 1
    assert sum(1 for r in seed.values() if r.county_text) == 6


# --- the transcribed table


def test_19_indicators_in_order_with_the_agreed_codes(table):
    """冠政办发〔2023〕7号 附件: 19 rows, 序号 1–19, codes as agreed."""
    assert [t.no for t in table.indicators] == list(range(1, 20))
    assert [t.code for t in table.indicators] == CODES
    assert table.document == "冠政办发〔2023〕7号"
    assert table.year == 2023
    assert table.issued == date(2023, 3, 23)


def test_names_are_as_printed(table, seed):
    """项目名称 of every row equals the text of its cell, line breaks removed."""
    for t in table.indicators:
        assert t.name == seed[t.no].name, t.code


def test_township_figures_match_the_document(table, seed):
    """Each split row's 19 township figures, in the attachment's column order, are the document's."""
    for t in table.indicators:
        row = seed[t.no]
        if row.figures is None:
            continue
        assert t.townships is not None
        assert list(t.townships) == TOWNSHIPS, f"{t.code}: townships out of the attachment's order"
        assert [t.townships[c] for c in TOWNSHIPS] == row.figures, t.code


def test_totals_match_the_document_and_the_township_sums(table, seed):
    """总数 of every split row equals the document's 总数 and the sum of its township figures."""
    for t in table.indicators:
        row = seed[t.no]
        if row.figures is None:
            continue
        assert t.total == row.total, t.code
        assert sum(t.townships.values()) == t.total, t.code
        assert sum(row.figures) == row.total, f"the document's own row {t.no} does not add up"


def test_totals_of_the_known_rows():
    """创新型 150, 专精特新培育库 31, 小升规培育库 30, 数字化测评 120, 政策通 380, 高新 50, 科技型 100, 两化 38, DCMM 38, 人才库 19 + 19, 智能制造 19."""
    totals = {t.code: t.total for t in load_targets_2023().indicators}
    expected = {
        "innovative_sme_applications": 150,
        "specialized_sme_pool": 31,
        "xiaoshenggui_pool": 30,
        "digital_assessment": 120,
        "policy_platform_registrations": 380,
        "high_tech": 50,
        "tech_sme": 100,
        "two_integration_pool": 38,
        "dcmm_pool": 38,
        "taishan_talent_pool": 19,
        "national_talent_pool": 19,
        "smart_manufacturing_pool": 19,
    }
    assert {k: totals[k] for k in expected} == expected


def test_county_only_rows(table, seed):
    """小巨人 2、瞪羚 3、集群 市2/省1/国1、重点实验室·技术创新中心 4、一企一技术 2、单项冠军 1: county figures, "以上" a floor."""
    county = {t.code: t for t in table.indicators if t.county_only}
    assert set(county) == {
        "little_giant",
        "gazelle",
        "cluster",
        "lab_innovation_center",
        "one_tech_rd_center",
        "champion",
    }
    for t in county.values():
        assert t.townships is None
        text = seed[t.no].county_text
        if t.code == "cluster":
            continue
        m = re.fullmatch(r"重点培育 (\d+) 家以上", text)
        assert m, text
        assert t.total == int(m[1]), t.code
        assert t.at_least, f"{t.code}: 以上 means at least"
    cluster = county["cluster"]
    m = re.fullmatch(r"重点打造市级 (\d+) 个、省级 (\d+) 个、国家级 (\d+) 个", seed[cluster.no].county_text)
    assert [p.total for p in cluster.parts] == [int(m[1]), int(m[2]), int(m[3])] == [2, 1, 1]
    assert [p.measure.levels for p in cluster.parts] == [["city"], ["provincial"], ["national"]]
    assert cluster.total == 4 and not cluster.at_least


def test_rd_growth_rate_row(table, seed):
    """研发投入月度增长率: 10% in every township, filed monthly by the 18th (每月18日前完成填报)."""
    t = table.by_code()["rd_growth_rate"]
    assert seed[t.no].rates == ["10%"] * 19
    assert t.kind == "rate" and t.unit == "%"
    assert t.townships == dict.fromkeys(TOWNSHIPS, 10)
    assert t.total == 10
    assert t.filing_day == 18 and t.deadline is None
    assert t.measure.kind == "rd_growth"


def test_deadlines_as_printed_and_as_dates(table, seed):
    """完成时限: the text as printed; the date is the last day of the month, or the day printed (3月25日前)."""
    for t in table.indicators:
        assert t.deadline_text == seed[t.no].deadline_text, t.code
        if t.kind == "count":
            assert t.deadline == parse_deadline_text(t.deadline_text), t.code
    d = {t.code: t.deadline for t in table.indicators}
    assert d["specialized_sme_pool"] == date(2023, 3, 25)
    assert d["xiaoshenggui_pool"] == date(2023, 3, 31)
    assert d["little_giant"] == date(2023, 4, 30)
    assert d["high_tech"] == date(2023, 9, 30)
    assert d["two_integration_pool"] == date(2023, 11, 30)
    assert d["taishan_talent_pool"] == date(2023, 6, 30)
    assert d["innovative_sme_applications"] == date(2023, 12, 31)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023年12月", date(2023, 12, 31)),
        ("2023年2月", date(2023, 2, 28)),
        ("2024年2月", date(2024, 2, 29)),
        ("2023年3月25日前", date(2023, 3, 25)),
        ("2023 年 9 月", date(2023, 9, 30)),
        ("每月18日前完成填报", None),
    ],
)
def test_parse_deadline_text(text, expected):
    """完成时限 text → date: last day of the month unless a day is printed."""
    assert parse_deadline_text(text) == expected


def test_responsible_officials_appear_after_the_first_row_of_their_span(table, seed):
    """工信局联系人 (merged cells): each contact is printed after the first row of its span and before the next row."""
    text_lines = [line.strip() for line in (DATA / "gzb-2023-7.txt").read_text(encoding="utf-8").splitlines()]
    previous = None
    spans = []
    for t in table.indicators:
        assert t.responsible is not None
        if t.responsible != previous:
            spans.append(t.no)
            lead = t.responsible.lead[0]
            at = text_lines.index(lead.name)
            end = seed[t.no + 1].start if t.no < 19 else len(text_lines)
            assert seed[t.no].start < at < end, f"{lead.name} is not printed within row {t.no}"
        previous = t.responsible
    assert spans == [1, 9, 13, 15, 18, 19]
    every = [c for t in table.indicators for c in [*t.responsible.lead, *t.responsible.section]]
    for c in every:
        assert c.name in text_lines and c.phone in text_lines, c


def test_measures_use_the_vocabulary(table):
    """Every measure (and sub-target measure) is one of the documented kinds; applications count any outcome."""
    kinds = {t.measure.kind for t in table.indicators}
    assert kinds <= set(MEASURE_KINDS)
    m = table.by_code()["innovative_sme_applications"].measure
    assert isinstance(m, HonourCount)
    assert (m.honours, sorted(m.outcomes), m.dated_in) == (
        ["innovative_sme"],
        ["new", "rejected", "renewed"],
        "year",
    )
    assert table.by_code()["high_tech"].measure.outcomes == ["new"]
    assert (
        table.by_code()["digital_assessment"].measure.kind == "digital_assessments"
    )  # the 数字化测评 register
    assert table.by_code()["policy_platform_registrations"].measure.kind == "platform_registrations"


def test_pool_measures_name_defined_pools(table):
    """A pool_members measure names a pool of app/pools/definitions.yaml; the attachment's pools share the row's code."""
    from app.pools.definitions import load_pools

    pools = load_pools()
    for t in table.indicators:
        if isinstance(t.measure, PoolMembers):
            assert t.measure.pool in pools, t.code
            assert t.measure.pool == t.code
    for g in load_goals().goals:
        if isinstance(g.measure, PoolMembers):
            assert g.measure.pool in pools, g.code


# --- the 2022–2024 goals


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_goals_match_the_2022_document():
    """冠政发〔2022〕9号 二: 市级专精特新 20、省级 10、瞪羚 1、单项冠军 1、小巨人零的突破；高新 20、科技型入库 50；数字专员 100、现代管理人员 100；筛选 100 家左右."""
    text = _flat((DATA / "gz-2022-9.txt").read_text(encoding="utf-8"))
    m = re.search(
        r"新培育市级“专精特新”企业(\d+)家、省级“专精特新”企业(\d+)家、瞪羚企业(\d+)家、制造业单项冠军企业(\d+)家",
        text,
    )
    h = re.search(r"新培育高新技术企业(\d+)家，科技型中小企业入库(\d+)家", text)
    d = re.search(r"为企业培育(\d+)名左右数字专员；为企业培育(\d+)名左右涵盖厂区", text)
    s = re.search(r"筛选(\d+)家左右", text)
    assert "实现“零”的突破" in text
    goals = {g.code: g for g in load_goals().goals}
    got = [
        goals[c].total for c in ("specialized_sme_city", "specialized_sme_provincial", "gazelle", "champion")
    ]
    assert got == [int(x) for x in m.groups()] == [20, 10, 1, 1]
    assert [goals["high_tech"].total, goals["tech_sme"].total] == [int(x) for x in h.groups()]
    assert [goals["digital_commissioners"].total, goals["modern_managers"].total] == [
        int(x) for x in d.groups()
    ]
    assert goals["yumiao_pool"].total == int(s[1]) and goals["yumiao_pool"].approx
    assert goals["little_giant"].total == 1 and goals["little_giant"].at_least


def test_goal_period_and_measures():
    """冠政发〔2022〕9号 二: period 2022-01-01..2024-12-31 (2022—2024, whole years); 数字专员 and 现代管理人员 from the training register."""
    goals = load_goals()
    assert (goals.period.start, goals.period.end) == (date(2022, 1, 1), date(2024, 12, 31))
    assert goals.issued == date(2022, 4, 9)
    by = goals.by_code()
    assert by["digital_commissioners"].measure.courses == ["digital_officer"]  # the training register
    assert by["modern_managers"].measure.courses == ["modern_manager"]
    assert by["specialized_sme_city"].measure.levels == ["city"]
    assert by["specialized_sme_provincial"].measure.levels == ["provincial"]
    for g in goals.goals:
        assert g.measure.kind in MEASURE_KINDS
        if isinstance(g.measure, HonourCount):
            assert g.measure.dated_in == "period"


# --- parsing bad tables


def _yaml_row(code: str) -> dict:
    data = yaml.safe_load((reference.HERE / "targets_2023.yaml").read_text(encoding="utf-8"))
    return next(r for r in data["indicators"] if r["code"] == code)


def _errors(rows, **kw) -> list:
    with pytest.raises(TargetTableInvalid) as e:
        parse_target_table(rows, **kw)
    return e.value.errors


def test_the_yaml_rows_parse_as_an_uploaded_table(table):
    """The file's own rows pass parse_target_table unchanged (the parser the .xlsx upload reuses)."""
    data = yaml.safe_load((reference.HERE / "targets_2023.yaml").read_text(encoding="utf-8"))
    assert parse_target_table(data["indicators"]) == table.indicators


def test_row_not_summing_names_the_row_and_the_total():
    """小升规培育库 with 清泉街道 3 instead of 2: 各乡镇合计 31 ≠ 总数 30."""
    row = _yaml_row("xiaoshenggui_pool")
    row["townships"]["qingquan"] = 3
    (err,) = _errors([row])
    assert err.field == "total" and err.row == 1
    assert err.message == "第 1 行（“小升规”工业企业培育库），各乡镇合计 31，与总数 30 不符"


def test_unknown_township_names_the_cell():
    """A column 冠城镇 is no township of 冠县."""
    row = _yaml_row("high_tech")
    row["townships"]["冠城镇"] = 1
    errors = _errors([row])
    assert [e.field for e in errors] == ["townships.冠城镇"]
    assert "未知乡镇“冠城镇”" in errors[0].message
    assert errors[0].message.startswith("第 1 行（高新技术企业培育数量）")


def test_unknown_township_column_of_a_sheet():
    """A sheet column 冠城镇 beside the 19 real ones is reported as an unknown township, not a stray column."""
    shorts = [t["short"] for t in reference.townships()]
    row = {"name": "高新技术企业培育数量", "total": 19, "deadline_text": "2024年9月", "冠城镇": 0}
    row |= dict.fromkeys(shorts, 1)
    (err,) = _errors([row])
    assert err.field == "townships.冠城镇" and "未知乡镇“冠城镇”" in err.message


def test_unknown_indicator_is_refused():
    """An indicator outside the catalogue cannot be measured, so it is an error."""
    (err,) = _errors(
        [{"code": "unicorn_count", "name": "独角兽企业", "total": 1, "deadline_text": "2024年12月"}]
    )
    assert err.field == "code"
    assert "未知指标“unicorn_count”" in err.message


def test_unknown_indicator_by_name_is_refused():
    """A row known only by a name that matches no indicator."""
    (err,) = _errors([{"name": "独角兽企业数量", "total": 1, "deadline_text": "2024年12月"}])
    assert "未知指标“独角兽企业数量”" in err.message


def test_negative_figure_names_the_township():
    """清泉街道 −1 in 高新技术企业培育数量."""
    row = _yaml_row("high_tech")
    row["townships"]["qingquan"] = -1
    row["total"] = 47
    (err,) = _errors([row])
    assert err.field == "townships.qingquan"
    assert err.message == "第 1 行（高新技术企业培育数量），清泉街道：-1 不能为负数"


def test_missing_and_non_numeric_cells():
    """梁堂镇 left out, 贾镇 "两家": each cell reported once, and no sum error on top."""
    row = _yaml_row("tech_sme")
    del row["townships"]["liangtang"]
    row["townships"]["jiazhen"] = "两家"
    errors = _errors([row])
    assert {(e.field, e.message.split("，", 1)[1]) for e in errors} == {
        ("townships.jiazhen", "贾镇：“两家”不是数字"),
        ("townships.liangtang", "梁堂镇：缺少数值"),
    }


def test_negative_total_and_county_row_with_townships():
    """瞪羚企业 is county-only: township cells are refused; a negative 总数 too."""
    row = _yaml_row("gazelle")
    row["total"] = -3
    row["townships"] = dict.fromkeys(TOWNSHIPS, 0)
    messages = [e.message for e in _errors([row])]
    assert any("总数 -3 不能为负数" in m for m in messages)
    assert any("不应填写乡镇数值" in m for m in messages)


def test_every_bad_row_is_reported_with_its_row_number():
    """Errors from sheet rows 3 and 4 (a header row, so first_row=2), all at once."""
    good = _yaml_row("dcmm_pool")
    bad_sum = _yaml_row("two_integration_pool")
    bad_sum["total"] = 39
    bad_cell = _yaml_row("taishan_talent_pool")
    bad_cell["townships"]["xinji"] = -1  # and 总数 left at 19: the sum is wrong too
    errors = _errors([good, bad_sum, bad_cell], first_row=2)
    assert [(e.row, e.field) for e in errors] == [(3, "total"), (4, "townships.xinji"), (4, "total")]
    assert errors[0].message.startswith("第 3 行（两化融合贯标企业培育库）")
    assert all(e.message.startswith("第 4 行（泰山产业领军人才培育库）") for e in errors[1:])


def test_duplicate_indicator_is_refused():
    """The same indicator twice in one table."""
    row = _yaml_row("dcmm_pool")
    (err,) = _errors([row, dict(row)])
    assert "与第 1 行重复" in err.message and err.row == 2


def test_an_uploaded_sheet_row_with_chinese_headers():
    """A next-year row keyed by the attachment's headers (开发区, 清泉街道 …), known by its name, deadline as text."""
    shorts = [t["short"] for t in reference.townships()]
    row = {"name": "高新技术企业培育数量", "total": "57", "deadline_text": "2024年9月"}
    row |= {s: "3" for s in shorts}
    (t,) = parse_target_table([row])
    assert t.code == "high_tech"
    assert t.total == 57 and sum(t.townships.values()) == 57
    assert t.deadline == date(2024, 9, 30)
    assert t.measure == load_targets_2023().by_code()["high_tech"].measure
    assert t.responsible is None and t.clause is None


def test_rate_cells_with_percent_signs():
    """研发投入月度增长率 given as "12%" per township: no sum check, each township's rate kept."""
    shorts = [t["short"] for t in reference.townships()]
    row = {"name": "研发投入月度增长率", "total": "12%", "deadline_text": "每月18日前完成填报"}
    row |= dict.fromkeys(shorts, "12%")
    (t,) = parse_target_table([row])
    assert t.kind == "rate" and t.filing_day == 18 and t.deadline is None
    assert set(t.townships.values()) == {12}


def test_invalid_table_is_a_422_validation_error():
    """TargetTableInvalid renders as problem+json 422 with one error per cell."""
    row = _yaml_row("high_tech")
    row["townships"]["qingquan"] = -1
    with pytest.raises(ValidationFailed) as e:
        parse_target_table([row])
    assert e.value.status_code == 422
    assert e.value.errors[0].as_dict()["row"] == 1


def test_a_measure_with_an_unknown_honour_is_refused():
    """The measure of a row must name honour codes of shared/DOMAIN.md."""
    row = _yaml_row("high_tech")
    row["measure"] = {
        "kind": "honour_count",
        "honours": ["hightech"],
        "outcomes": ["new"],
        "dated_in": "year",
    }
    (err,) = _errors([row])
    assert "未知认定代码：hightech" in err.message
