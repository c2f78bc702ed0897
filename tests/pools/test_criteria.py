"""Entry rules of the pools, evaluated without a database, at their boundary figures.

Every test names the clause it exercises and the figure at stake.
"""

import re
from datetime import date
from pathlib import Path

import pytest

from app.pools.criteria import (
    CriterionResult,
    FirmFacts,
    HonourFact,
    Status,
    entry_rule_status,
    evaluate,
    industry_section,
    pool_status,
)
from app.pools.definitions import (
    CRITERION_KINDS,
    HonourApplied,
    PoolCatalogue,
    RevenueBetween,
    get_pool,
    load_catalogue,
    load_pools,
)

SEEDS = Path(__file__).parent.parent / "reference" / "data"
YEAR = 2023


def firm(*, revenue=None, main_revenue=None, rd=None, year=YEAR, honours=(), **kw) -> FirmFacts:
    """A small, 规下 manufacturing firm unless told otherwise."""
    base = {"above_scale": False, "size": "small", "industry": "C3311"}
    figures = {"revenue_yuan": revenue, "main_revenue_yuan": main_revenue, "rd_spend_yuan": rd}
    return FirmFacts(**(base | kw), figures={year: figures}, honours=list(honours))


def klass(pool: str, entry: str, facts: FirmFacts, year: int = YEAR):
    return next(s for s in entry_rule_status(get_pool(pool), facts, year) if s.entry_class == entry)


def result(pool: str, entry: str, kind: str, facts: FirmFacts, year: int = YEAR) -> CriterionResult:
    return next(r for r in klass(pool, entry, facts, year).results if r.kind == kind)


# --- 冠政发〔2022〕9号 三（一）1: 年度营业收入在 1000-2000 万元的小微工业企业


def test_2022_xiaoshenggui_revenue_9_999_999_fails():
    """三（一）1: 营业收入 9,999,999 元 is below 1000 万元."""
    r = result("yumiao_pool", "xiaoshenggui", "revenue_between", firm(revenue=9_999_999))
    assert r.status is Status.FAILED
    assert r.explanation == "2023 年营业收入 999.9999 万元，低于 1000 万元"


def test_2022_xiaoshenggui_revenue_10_000_000_meets():
    """三（一）1: 营业收入 10,000,000 元 (1000 万元) is inside, the lower end inclusive."""
    s = klass("yumiao_pool", "xiaoshenggui", firm(revenue=10_000_000))
    assert s.status is Status.MET
    r = next(r for r in s.results if r.kind == "revenue_between")
    assert r.explanation == "2023 年营业收入 1,000 万元，在 1000–2000 万元之间"


def test_2022_xiaoshenggui_revenue_20_000_000_meets():
    """三（一）1: 营业收入 20,000,000 元 (2000 万元) is inside, the upper end inclusive."""
    s = klass("yumiao_pool", "xiaoshenggui", firm(revenue=20_000_000))
    assert s.status is Status.MET
    assert "2023 年营业收入 2,000 万元，在 1000–2000 万元之间" in s.summary


def test_2022_xiaoshenggui_revenue_20_000_001_fails():
    """三（一）1: 营业收入 20,000,001 元 is above 2000 万元."""
    s = klass("yumiao_pool", "xiaoshenggui", firm(revenue=20_000_001))
    assert s.status is Status.FAILED
    assert "2023 年营业收入 2,000.0001 万元，高于 2000 万元" in s.summary


def test_2022_xiaoshenggui_typical_figure_reads_as_in_the_brief():
    """三（一）1: 营业收入 16,500,000 元 → "1,650 万元"."""
    r = result("yumiao_pool", "xiaoshenggui", "revenue_between", firm(revenue=16_500_000))
    assert r.explanation == "2023 年营业收入 1,650 万元，在 1000–2000 万元之间"


def test_2022_xiaoshenggui_missing_year_is_unknown():
    """三（一）1: no 2023 figures at all → unknown, "2023 年无营业收入数据"."""
    facts = firm(revenue=15_000_000, year=2022)
    r = result("yumiao_pool", "xiaoshenggui", "revenue_between", facts)
    assert r.status is Status.UNKNOWN
    assert r.explanation == "2023 年无营业收入数据"
    assert klass("yumiao_pool", "xiaoshenggui", facts).status is Status.UNKNOWN


def test_2022_xiaoshenggui_missing_figure_is_unknown():
    """三（一）1: a 2023 row without 营业收入 (only 主营业务收入 15,000,000) → unknown: the rule reads 营业收入."""
    r = result("yumiao_pool", "xiaoshenggui", "revenue_between", firm(main_revenue=15_000_000))
    assert r.status is Status.UNKNOWN and r.explanation == "2023 年无营业收入数据"


def test_2022_xiaoshenggui_uses_the_year_asked_for():
    """三（一）1: 2022 营业收入 25,000,000 (out), 2023 15,000,000 (in): evaluating 2022 fails, 2023 meets."""
    facts = FirmFacts(
        above_scale=False,
        size="small",
        industry="C",
        figures={2022: {"revenue_yuan": 25_000_000}, 2023: {"revenue_yuan": 15_000_000}},
    )
    assert klass("yumiao_pool", "xiaoshenggui", facts, 2022).status is Status.FAILED
    assert klass("yumiao_pool", "xiaoshenggui", facts, 2023).status is Status.MET


def test_2022_xiaoshenggui_above_scale_fails():
    """三（一）1 "小升规": an enterprise already 规上 (营业收入 15,000,000) is not a candidate."""
    r = result("yumiao_pool", "xiaoshenggui", "flag", firm(revenue=15_000_000, above_scale=True))
    assert r.status is Status.FAILED
    assert "现为规模以上企业（规上）" in r.explanation


def test_2022_xiaoshenggui_medium_size_fails():
    """三（一）1 "小微": a 中型 enterprise (营业收入 15,000,000) is not 小微."""
    r = result("yumiao_pool", "xiaoshenggui", "size_in", firm(revenue=15_000_000, size="medium"))
    assert r.status is Status.FAILED
    assert r.explanation == "中型企业，不属于微型、小型企业"


def test_2022_xiaoshenggui_needs_an_industrial_firm():
    """三（一）1 "工业企业": 批发业 F5211 fails, 电力 4411 (门类 D) meets, no industry code is unknown."""
    assert (
        result("yumiao_pool", "xiaoshenggui", "industry_in", firm(industry="F5211")).status is Status.FAILED
    )
    assert result("yumiao_pool", "xiaoshenggui", "industry_in", firm(industry="4411")).status is Status.MET
    r = result("yumiao_pool", "xiaoshenggui", "industry_in", firm(industry=None))
    assert r.status is Status.UNKNOWN and "未登记所属行业" in r.explanation


def test_2022_xiaoshenggui_unknown_scale_and_size():
    """三（一）1: 规上/规下 and 企业规模 not registered → unknown, with 营业收入 15,000,000 in range."""
    facts = FirmFacts(figures={YEAR: {"revenue_yuan": 15_000_000}}, industry="C")
    s = klass("yumiao_pool", "xiaoshenggui", facts)
    assert s.status is Status.UNKNOWN
    assert "未登记是否为规模以上企业" in s.summary and "未登记企业规模" in s.summary


# --- 冠政发〔2022〕9号 三（一）2: 高成长性中小企业


def test_2022_high_growth_needs_judgement():
    """三（一）2 创新能力强、成长势头好、发展潜力大: a person decides → unknown."""
    s = klass("yumiao_pool", "high_growth", firm())
    assert s.status is Status.UNKNOWN
    (r,) = [r for r in s.results if r.kind == "judgement"]
    assert r.explanation == "需人工判断：创新能力强、成长势头好、发展潜力大"


def test_2022_high_growth_large_firm_fails():
    """三（一）2 "中小企业": a 大型 enterprise fails whatever the judgement."""
    assert klass("yumiao_pool", "high_growth", firm(size="large")).status is Status.FAILED


# --- 冠政发〔2022〕9号 三（一）3: 准备申报或已经申报 专精特新/瞪羚/独角兽/单项冠军/高新


def test_2022_applying_a_rejected_application_counts():
    """三（一）3 "已经申报": a 高新技术企业 application refused on 2023-10-12 is an application."""
    facts = firm(honours=[("high_tech", "national", "rejected", date(2023, 10, 12))])
    s = klass("yumiao_pool", "applying", facts)
    assert s.status is Status.MET
    assert "已申报：高新技术企业（国家级） 2023-10-12 申报未通过" in s.summary


def test_2022_applying_a_granted_honour_counts():
    """三（一）3: a 瞪羚企业 newly granted 2022-08-01 was applied for."""
    facts = firm(
        honours=[HonourFact(code="gazelle", level="provincial", outcome="new", date=date(2022, 8, 1))]
    )
    assert klass("yumiao_pool", "applying", facts).status is Status.MET


def test_2022_applying_without_records_needs_judgement():
    """三（一）3 "准备申报": no application record → a person must say whether one is being prepared."""
    s = klass("yumiao_pool", "applying", firm())
    assert s.status is Status.UNKNOWN
    r = next(r for r in s.results if r.kind == "any_of")
    assert [c.status for c in r.children] == [Status.FAILED, Status.UNKNOWN]
    assert "需人工判断：准备申报" in r.explanation


def test_2022_applying_ignores_later_and_other_honours():
    """三（一）3: a 2024 application is not known in 2023; a 绿色工厂 is not on the list."""
    facts = firm(
        honours=[
            ("high_tech", "national", "new", date(2024, 11, 1)),
            ("green_factory", "provincial", "new", date(2023, 1, 5)),
        ]
    )
    r = result("yumiao_pool", "applying", "any_of", facts)
    assert r.children[0].status is Status.FAILED
    assert r.status is Status.UNKNOWN


# --- 冠政办发〔2023〕7号 二（一）1: 年主营业务收入 500—2000 万元规模以下的小微企业


def test_2023_primary_main_revenue_4_999_999_fails():
    """二（一）1: 主营业务收入 4,999,999 元 is below 500 万元."""
    r = result("primary_pool", "seed", "revenue_between", firm(main_revenue=4_999_999))
    assert r.status is Status.FAILED
    assert r.explanation == "2023 年主营业务收入 499.9999 万元，低于 500 万元"


def test_2023_primary_main_revenue_5_000_000_meets():
    """二（一）1: 主营业务收入 5,000,000 元 (500 万元) is inside, the lower end inclusive."""
    s = klass("primary_pool", "seed", firm(main_revenue=5_000_000))
    assert s.status is Status.MET
    assert "2023 年主营业务收入 500 万元，在 500–2000 万元之间" in s.summary


def test_2023_primary_main_revenue_20_000_000_meets_and_20_000_001_fails():
    """二（一）1: 主营业务收入 20,000,000 元 meets; 20,000,001 元 fails."""
    assert klass("primary_pool", "seed", firm(main_revenue=20_000_000)).status is Status.MET
    assert klass("primary_pool", "seed", firm(main_revenue=20_000_001)).status is Status.FAILED


def test_2023_primary_reads_main_revenue_not_revenue():
    """二（一）1 reads 主营业务收入: 营业收入 8,000,000 alone leaves the rule unknown."""
    r = result("primary_pool", "seed", "revenue_between", firm(revenue=8_000_000))
    assert r.status is Status.UNKNOWN
    assert r.explanation == "2023 年无主营业务收入数据"


def test_2023_primary_is_not_limited_to_industry():
    """二（一）1 says 小微企业, not 工业: a 批发业 firm with 主营业务收入 6,000,000 qualifies."""
    assert klass("primary_pool", "seed", firm(main_revenue=6_000_000, industry="F5211")).status is Status.MET


def test_2023_xiaoshenggui_pool_is_the_seed_rule_for_industry():
    """附件 4 / 二（一）1: 主营业务收入 6,000,000 qualifies a manufacturer, not a 批发业 firm."""
    assert pool_status(get_pool("xiaoshenggui_pool"), firm(main_revenue=6_000_000), YEAR) is Status.MET
    facts = firm(main_revenue=6_000_000, industry="F5211")
    assert pool_status(get_pool("xiaoshenggui_pool"), facts, YEAR) is Status.FAILED


# --- 冠政办发〔2023〕7号 二（一）2: 中级储备库


def test_2023_intermediate_high_tech_candidate():
    """二（一）2: 研发经费投入 350,000, no 高新技术企业 → only the judgement 科技含量高 remains."""
    s = klass("intermediate_pool", "high_tech_candidate", firm(rd=350_000))
    assert s.status is Status.UNKNOWN
    assert [r.status for r in s.results] == [Status.MET, Status.MET, Status.MET, Status.UNKNOWN]
    assert "2023 年研发经费投入 35 万元，大于零" in [r.explanation for r in s.results]


def test_2023_intermediate_zero_rd_fails():
    """二（一）2 (system check): 研发经费投入 0 元 fails figure_positive."""
    r = result("intermediate_pool", "high_tech_candidate", "figure_positive", firm(rd=0))
    assert r.status is Status.FAILED
    assert r.explanation == "2023 年研发经费投入为 0 万元，须大于零"
    assert r.basis == "proxy"


def test_2023_intermediate_holding_high_tech_within_three_years_fails():
    """二（一）2: 高新技术企业 granted 2021-11-01 is still valid in 2023 (three years) → not a candidate."""
    facts = firm(rd=1, honours=[("high_tech", "national", "new", date(2021, 11, 1))])
    r = result("intermediate_pool", "high_tech_candidate", "honour_not_held", facts)
    assert r.status is Status.FAILED
    assert r.explanation == "2021–2023 年已持有：高新技术企业（国家级） 2021-11-01 新认定"


def test_2023_intermediate_high_tech_from_2020_has_lapsed():
    """二（一）2: 高新技术企业 granted 2020-12-01 falls outside 2021–2023 → candidate again."""
    facts = firm(rd=1, honours=[("high_tech", "national", "new", date(2020, 12, 1))])
    r = result("intermediate_pool", "high_tech_candidate", "honour_not_held", facts)
    assert r.status is Status.MET
    assert r.explanation == "2021–2023 年未持有高新技术企业"


def test_2023_intermediate_tech_sme_is_yearly():
    """二（一）2: 科技型中小企业 入库 2022-05-01 does not hold in 2023 (re-entered every year)."""
    facts = firm(rd=1, honours=[("tech_sme", "national", "new", date(2022, 5, 1))])
    assert result("intermediate_pool", "tech_sme_candidate", "honour_not_held", facts).status is Status.MET
    facts = firm(rd=1, honours=[("tech_sme", "national", "renewed", date(2023, 5, 1))])
    assert result("intermediate_pool", "tech_sme_candidate", "honour_not_held", facts).status is Status.FAILED


# --- 冠政办发〔2023〕7号 二（一）3: 高级成长库


def test_2023_advanced_specialized_candidate_needs_innovative_sme():
    """二（一）3 (system check): 创新型中小企业 2022-06-01 held, no 省级专精特新 → judgement left."""
    facts = firm(honours=[("innovative_sme", "provincial", "new", date(2022, 6, 1))])
    s = klass("advanced_pool", "specialized_sme_candidate", facts)
    assert s.status is Status.UNKNOWN
    assert "2021–2023 年持有：创新型中小企业（省级） 2022-06-01 新认定" in [r.explanation for r in s.results]
    assert klass("advanced_pool", "specialized_sme_candidate", firm()).status is Status.FAILED


def test_2023_advanced_little_giant_needs_provincial_specialized():
    """二（一）3: 市级专精特新 2022-03-01 is not the 省级 step before 小巨人."""
    facts = firm(honours=[("specialized_sme", "city", "new", date(2022, 3, 1))])
    r = result("advanced_pool", "little_giant_candidate", "honour_held", facts)
    assert r.status is Status.FAILED
    assert r.explanation == "2021–2023 年未持有专精特新中小企业（省级）"


def test_2023_advanced_record_without_level_is_unknown():
    """二（一）3: a 专精特新 record with no level cannot show 省级 → unknown, not failed."""
    facts = firm(honours=[("specialized_sme", None, "new", date(2022, 3, 1))])
    r = result("advanced_pool", "little_giant_candidate", "honour_held", facts)
    assert r.status is Status.UNKNOWN
    assert "未登记级别或日期" in r.explanation


def test_2023_advanced_pool_status_combines_classes():
    """二（一）3: one class failed, others awaiting judgement → the pool is unknown, not failed."""
    facts = firm(honours=[("innovative_sme", "provincial", "new", date(2022, 6, 1))])
    statuses = {s.entry_class: s.status for s in entry_rule_status(get_pool("advanced_pool"), facts, YEAR)}
    assert statuses["innovative_sme_candidate"] is Status.FAILED
    assert pool_status(get_pool("advanced_pool"), facts, YEAR) is Status.UNKNOWN


# --- the attachment's pools: judgement and simple checks only


def test_attachment_pools_without_document_criteria_say_so():
    """附件 2/13/14/15/16/18: the documents give no entry condition; each pool says so and asks a person."""
    for code in [
        "specialized_sme_pool",
        "two_integration_pool",
        "dcmm_pool",
        "taishan_talent_pool",
        "national_talent_pool",
        "smart_manufacturing_pool",
    ]:
        pool = get_pool(code)
        assert pool.criteria_note and "未规定" in pool.criteria_note, code
        kinds = [c.kind for e in pool.entry_classes for c in e.criteria]
        assert "judgement" in kinds, code
        assert all(
            c.basis == "proxy"
            for e in pool.entry_classes
            for c in e.criteria
            if c.kind != "judgement" and c.kind != "size_in"
        ), code


def test_two_integration_pool_excludes_holders():
    """附件 13: an enterprise already holding 两化融合贯标 (市级 2022-09-01) is not a candidate."""
    facts = firm(honours=[("two_integration", "city", "new", date(2022, 9, 1))])
    assert pool_status(get_pool("two_integration_pool"), facts, YEAR) is Status.FAILED
    assert pool_status(get_pool("two_integration_pool"), firm(), YEAR) is Status.UNKNOWN


# --- the definitions themselves


def test_revenue_bounds_are_the_documents():
    """三（一）1 "1000-2000 万元" and 二（一）1 "500—2000 万元" as printed, in 元."""
    t2022 = re.sub(r"\s+", "", (SEEDS / "gz-2022-9.txt").read_text(encoding="utf-8"))
    t2023 = re.sub(r"\s+", "", (SEEDS / "gzb-2023-7.txt").read_text(encoding="utf-8"))
    lo, hi = re.search(r"年度营业收入在(\d+)-(\d+)万元的小微工业企业", t2022).groups()
    (c,) = [
        c
        for c in get_pool("yumiao_pool").entry_class("xiaoshenggui").criteria
        if isinstance(c, RevenueBetween)
    ]
    assert (c.figure, c.min_yuan, c.max_yuan) == ("revenue_yuan", int(lo) * 10_000, int(hi) * 10_000)
    lo, hi = re.search(r"年主营业务收入(\d+)—(\d+)万元规模以下的小微企业", t2023).groups()
    for pool in ("primary_pool", "xiaoshenggui_pool"):
        (c,) = [c for e in get_pool(pool).entry_classes for c in e.criteria if isinstance(c, RevenueBetween)]
        assert (c.figure, c.min_yuan, c.max_yuan) == ("main_revenue_yuan", int(lo) * 10_000, int(hi) * 10_000)


def test_applying_class_lists_the_clause_honours():
    """三（一）3: 专精特新（含小巨人）、瞪羚、独角兽、制造业单项冠军（企业、产品）、高新技术企业, any outcome."""
    (any_of,) = [c for c in get_pool("yumiao_pool").entry_class("applying").criteria if c.kind == "any_of"]
    applied = next(c for c in any_of.criteria if isinstance(c, HonourApplied))
    assert set(applied.codes) == {
        "specialized_sme", "little_giant", "gazelle", "unicorn", "champion_enterprise", "champion_product", "high_tech"
    }  # fmt: skip
    assert set(applied.outcomes) == {"new", "renewed", "rejected"}


def test_every_pool_cites_document_and_clause_and_has_goals():
    """Each pool names its document (冠政发〔2022〕9号 or 冠政办发〔2023〕7号), clause, period and graduation goal."""
    pools = load_pools()
    assert list(pools) == [
        "yumiao_pool",
        "primary_pool",
        "intermediate_pool",
        "advanced_pool",
        "specialized_sme_pool",
        "xiaoshenggui_pool",
        "two_integration_pool",
        "dcmm_pool",
        "taishan_talent_pool",
        "national_talent_pool",
        "smart_manufacturing_pool",
    ]
    for p in pools.values():
        assert p.document in {"冠政发〔2022〕9号", "冠政办发〔2023〕7号"}
        assert p.clause and p.goals and all(e.clause for e in p.entry_classes)
    assert pools["yumiao_pool"].review.clause == "三（二）"
    assert pools["yumiao_pool"].in_force.start == date(2022, 4, 9)
    assert [pools[c].tier for c in ("primary_pool", "intermediate_pool", "advanced_pool")] == [1, 2, 3]
    assert pools["xiaoshenggui_pool"].goals[0].kind == "above_scale"
    assert pools["specialized_sme_pool"].goals[0].honours == ["specialized_sme"]


def test_criterion_kinds_are_the_small_vocabulary():
    """Only the documented criterion kinds appear, so each can be translated to SQL."""

    def kinds(criteria):
        for c in criteria:
            yield c.kind
            if c.kind == "any_of":
                yield from kinds(c.criteria)

    used = {k for p in load_pools().values() for e in p.entry_classes for k in kinds(e.criteria)}
    assert used <= set(CRITERION_KINDS)


def test_definitions_refuse_unknown_codes_and_extra_fields():
    """A criterion naming an unknown honour, or carrying an unknown field, is refused on load."""
    data = load_catalogue().model_dump(mode="json")
    data["pools"][0]["entry_classes"][0]["criteria"].append({"kind": "honour_held", "codes": ["hightech"]})
    with pytest.raises(ValueError, match="未知认定代码"):
        PoolCatalogue.model_validate(data)
    data = load_catalogue().model_dump(mode="json")
    data["pools"][0]["entry_classes"][0]["criteria"][0]["colour"] = "red"
    with pytest.raises(ValueError, match="colour"):
        PoolCatalogue.model_validate(data)


def test_every_pool_evaluates_on_an_empty_record():
    """With no facts at all nothing is met by accident: each class is failed or unknown, each result explained."""
    for pool in load_pools().values():
        results = evaluate(pool, FirmFacts(), YEAR)
        assert results and all(r.explanation for r in results)
        for s in entry_rule_status(pool, FirmFacts(), YEAR):
            assert s.status is not Status.MET, (pool.code, s.entry_class)


# --- helpers


@pytest.mark.parametrize(
    ("code", "section"),
    [
        ("C3311", "C"),
        ("c3311", "C"),
        ("3311", "C"),
        ("4411", "D"),
        ("0911", "B"),
        ("5211", "F"),
        ("", None),
        (None, None),
    ],
)
def test_industry_section(code, section):
    """GB/T 4754 门类 from an industry code with or without its letter."""
    assert industry_section(code) == section


def test_honours_accept_tuples():
    """FirmFacts.honours takes (code, level, outcome, date) tuples as well as records."""
    facts = FirmFacts(honours=[("high_tech", "national", "new", "2023-01-02")])
    assert facts.honours[0] == HonourFact(
        code="high_tech", level="national", outcome="new", date=date(2023, 1, 2)
    )
