"""Provisional 亩产效益 classification: indicator values, percentile ranks, weights, bands, missing data.

The five indicators are Shandong's; the weights (30/20/15/15/20) and bands (A 20 %, B 40 %,
C 30 %, D the rest) are admin-settable defaults, not figures of the county documents.
"""

import pytest

from app.pools.criteria import FirmFacts
from app.pools.definitions import MuScheme, load_mu_scheme
from app.pools.mu_scheme import MuFirm, classify, firm_from_facts, indicator_value, percentile_ranks


def ladder(n: int = 10) -> list[MuFirm]:
    """n enterprises, enterprise i better than i-1 on every indicator."""
    return [
        MuFirm(
            f"e{i}",
            {
                "tax_yuan": 100_000 * i,
                "land_mu": 10,
                "revenue_yuan": 10_000_000 * i,
                "energy_tce": 100,
                "rd_spend_yuan": 100_000 * i * i,
                "output_value_yuan": 1_000_000 * i,
                "employees": 10,
            },
        )
        for i in range(1, n + 1)
    ]


def by_key(result):
    return {f.key: f for f in result.firms}


def test_default_scheme_is_marked_as_defaults():
    """Weights 30/20/15/15/20 and bands 20/40/30/10 are defaults an administrator may change; 污染物 has no data."""
    s = load_mu_scheme()
    assert s.admin_settable and "非冠县文件规定" in s.source
    assert [(i.code, i.weight) for i in s.indicators] == [
        ("tax_per_mu", 30),
        ("revenue_per_energy", 20),
        ("revenue_per_pollutant", 15),
        ("rd_intensity", 15),
        ("labour_productivity", 20),
    ]
    assert [(b.mu_class, b.percent) for b in s.bands] == [("A", 20), ("B", 40), ("C", 30), ("D", 10)]
    (pollutant,) = [i for i in s.indicators if not i.available]
    assert pollutant.code == "revenue_per_pollutant" and pollutant.reason


def test_indicator_values():
    """单位用地税收 = 税收 ÷ 用地亩数; 研发经费投入强度 = 研发 ÷ 营业收入 in %; 全员劳动生产率 = 产值 ÷ 人数."""
    s = {i.code: i for i in load_mu_scheme().indicators}
    figures = {
        "tax_yuan": 600_000,
        "land_mu": 20,
        "rd_spend_yuan": 300_000,
        "revenue_yuan": 10_000_000,
        "output_value_yuan": 12_000_000,
        "employees": 40,
        "energy_tce": 500,
    }
    assert indicator_value(s["tax_per_mu"], figures) == (30_000, None)
    assert indicator_value(s["rd_intensity"], figures) == (pytest.approx(3.0), None)
    assert indicator_value(s["labour_productivity"], figures) == (300_000, None)
    assert indicator_value(s["revenue_per_energy"], figures) == (20_000, None)
    v, why = indicator_value(s["revenue_per_pollutant"], figures)
    assert v is None and "污染物" in why


def test_zero_denominator_is_not_computed():
    """用地面积 0 亩: 单位用地税收 cannot be computed, and says why."""
    s = {i.code: i for i in load_mu_scheme().indicators}
    assert indicator_value(s["tax_per_mu"], {"tax_yuan": 1, "land_mu": 0}) == (
        None,
        "单位用地税收：用地面积为 0，无法计算",
    )


def test_percentile_ranks_with_ties():
    """(below + half the ties) ÷ n × 100: [1, 1, 2] → 33.3, 33.3, 83.3; higher is better."""
    r = percentile_ranks({"a": 1.0, "b": 1.0, "c": 2.0})
    assert r == {"a": pytest.approx(100 / 3), "b": pytest.approx(100 / 3), "c": pytest.approx(250 / 3)}


def test_ten_enterprises_fall_into_the_default_bands():
    """10 ranked enterprises: A 2 (top 20 %), B 4 (next 40 %), C 3 (next 30 %), D 1 (the rest)."""
    r = by_key(classify(ladder(10)))
    assert [r[f"e{i}"].mu_class for i in range(10, 0, -1)] == list("AABBBBCCCD")
    assert [r[f"e{i}"].rank for i in range(10, 0, -1)] == list(range(1, 11))
    assert r["e10"].score == pytest.approx(95.0)
    assert r["e1"].score == pytest.approx(5.0)


def test_unavailable_pollutant_indicator_is_left_out_and_weights_renormalised():
    """单位污染物排放销售收入 has no data: weights 30/20/15/20 of 85 become 35.29/23.53/17.65/23.53 of 100, and the result says so."""
    result = classify(ladder(5))
    assert set(result.weights) == {"tax_per_mu", "revenue_per_energy", "rd_intensity", "labour_productivity"}
    assert sum(result.weights.values()) == pytest.approx(100)
    assert result.weights["tax_per_mu"] == pytest.approx(30 / 85 * 100)
    assert any("单位污染物排放销售收入不参与计算" in n for n in result.notes)
    assert any("合计 85 → 100" in n for n in result.notes)


def test_an_enterprise_missing_one_figure_is_scored_on_the_rest():
    """No 用地面积 for one enterprise: 单位用地税收 is not counted for it, its other weights scale to 100, class provisional."""
    firms = ladder(10)
    figures = dict(firms[4].figures)
    figures["land_mu"] = None
    firms[4] = MuFirm("e5", figures)
    r = by_key(classify(firms))
    e5 = r["e5"]
    tax = next(i for i in e5.indicators if i.code == "tax_per_mu")
    assert tax.value is None and tax.note == "单位用地税收：缺少用地面积数据"
    assert sum(i.weight for i in e5.indicators if i.weight) == pytest.approx(100)
    assert e5.mu_class is not None
    assert "单位用地税收：缺少用地面积数据" in e5.notes[0] and "分类为暂定" in e5.notes[0]
    assert r["e6"].notes == ()


def test_an_enterprise_without_figures_gets_no_class():
    """No figures at all: no score, no class, and the reasons listed; the others are ranked among themselves."""
    firms = [*ladder(5), MuFirm("empty", {})]
    r = by_key(classify(firms))
    assert r["empty"].mu_class is None and r["empty"].score is None
    assert r["empty"].notes[0].startswith("可计算指标 0 项，少于 1 项，不分类")
    # of 5 ranked, 0/1/2/3/4 rank above: under 20 % → A, under 60 % → B, under 90 % → C; D (10 %) is half an enterprise
    assert [r[f"e{i}"].mu_class for i in range(5, 0, -1)] == list("ABBCC")


def test_min_indicators():
    """min_indicators=4: an enterprise with 3 computable indicators is not classed."""
    firms = ladder(4)
    figures = dict(firms[0].figures)
    figures["employees"] = None
    firms[0] = MuFirm("e1", figures)
    r = by_key(classify(firms, min_indicators=4))
    assert r["e1"].mu_class is None
    assert r["e2"].mu_class is not None


def test_equal_scores_share_a_class():
    """Identical figures: every enterprise ranks first and falls in A."""
    same = ladder(1)[0].figures
    r = classify([MuFirm(k, same) for k in "abcde"])
    assert {f.mu_class for f in r.firms} == {"A"} and {f.rank for f in r.firms} == {1}


def test_indicator_nobody_has_is_left_out():
    """No enterprise has 综合能耗: 单位能耗销售收入 is left out scheme-wide and weights renormalised."""
    firms = [MuFirm(f.key, {**f.figures, "energy_tce": None}) for f in ladder(5)]
    result = classify(firms)
    assert "revenue_per_energy" not in result.weights
    assert any("单位能耗销售收入不参与计算：没有任何企业有该项数据" in n for n in result.notes)
    assert by_key(result)["e5"].notes == ()  # nobody is marked for a scheme-wide gap


def test_an_administrator_scheme_with_pollutant_data():
    """An admin-set scheme making 污染物 available, given 污染物排放当量 figures, uses all five weights."""
    data = load_mu_scheme().model_dump()
    for i in data["indicators"]:
        if i["code"] == "revenue_per_pollutant":
            i["available"], i["reason"] = True, None
    scheme = MuScheme.model_validate(data)
    firms = [MuFirm(f.key, {**f.figures, "pollutant_equiv": 10}) for f in ladder(5)]
    result = classify(firms, scheme)
    assert result.weights["tax_per_mu"] == pytest.approx(30)
    assert result.notes == ()


def test_bands_must_add_up():
    """An administrator's bands must cover 100 % of enterprises."""
    data = load_mu_scheme().model_dump()
    data["bands"][3]["percent"] = 5
    with pytest.raises(ValueError, match="100%"):
        MuScheme.model_validate(data)


def test_duplicate_keys_are_refused():
    """Two results for one enterprise would be ambiguous."""
    with pytest.raises(ValueError, match="重复"):
        classify([MuFirm("a", {}), MuFirm("a", {})])


def test_firm_from_facts():
    """FirmFacts figures of one year feed the scheme; a missing year gives no figures."""
    facts = FirmFacts(figures={2023: {"tax_yuan": 500_000, "land_mu": 25.0}})
    f = firm_from_facts("x", facts, 2023)
    assert f.figures["tax_yuan"] == 500_000 and f.figures["land_mu"] == 25.0
    assert firm_from_facts("x", facts, 2022).figures == {}
