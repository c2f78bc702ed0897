"""Provisional 亩产效益 classification (A–D), pure: figures in, classes out.

For each indicator of the scheme (definitions.yaml `mu_scheme`): the value is numerator ÷
denominator; its percentile rank among the enterprises that have a value is
(number below + half the ties) ÷ n × 100, so higher is better; the score is the weighted mean
of an enterprise's percentile ranks; the classes are cut by the share of enterprises ranked
above (A top 20 %, B next 40 %, C next 30 %, D the rest with the default bands), enterprises
with equal scores sharing a class.

Missing data:
- an indicator the scheme marks unavailable (单位污染物排放销售收入: no pollutant figures), or
  one no enterprise has a value for, is left out and the other weights are scaled up to 100;
- an enterprise lacking a figure for one indicator is scored on the indicators it has, their
  weights scaled up in the same way, and the result says so — the class is provisional;
- an enterprise with fewer than `min_indicators` indicators gets no class.
"""

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.pools.criteria import FirmFacts
from app.pools.definitions import FIGURE_NAMES, MuIndicator, MuScheme, load_mu_scheme


@dataclass(frozen=True)
class MuFirm:
    """One enterprise's figures for one year, by figure name (tax_yuan, land_mu, …)."""

    key: str
    figures: Mapping[str, int | float | None]


@dataclass(frozen=True)
class IndicatorScore:
    code: str
    name: str
    unit: str
    value: float | None  # in the indicator's unit (a ratio × scale)
    percentile: float | None  # 0–100, higher is better
    weight: float | None  # share in this enterprise's score, percent (its weights sum to 100)
    note: str | None = None  # why there is no value


@dataclass(frozen=True)
class MuFirmResult:
    key: str
    indicators: tuple[IndicatorScore, ...]
    score: float | None  # 0–100
    rank: int | None  # 1 = best; equal scores share a rank
    mu_class: str | None
    notes: tuple[str, ...]  # Chinese


@dataclass(frozen=True)
class MuResult:
    scheme: str
    weights: dict[str, float]  # indicator code → percent, after leaving out unavailable ones
    firms: tuple[MuFirmResult, ...]  # in the order given
    notes: tuple[str, ...]  # Chinese: what was left out scheme-wide and why


def firm_from_facts(key: str, facts: FirmFacts, year: int) -> MuFirm:
    """The figures of `year` from FirmFacts (no pollutant figure: the registry holds none)."""
    y = facts.figures.get(year)
    return MuFirm(key, y.model_dump() if y is not None else {})


def indicator_value(
    indicator: MuIndicator, figures: Mapping[str, int | float | None]
) -> tuple[float | None, str | None]:
    """(value, None) or (None, why not) for one enterprise."""
    if not indicator.available:
        return None, f"{indicator.name}：{indicator.reason}"
    num, den = figures.get(indicator.numerator), figures.get(indicator.denominator)
    if num is None:
        return None, f"{indicator.name}：缺少{FIGURE_NAMES.get(indicator.numerator, indicator.numerator)}数据"
    if den is None:
        return (
            None,
            f"{indicator.name}：缺少{FIGURE_NAMES.get(indicator.denominator, indicator.denominator)}数据",
        )
    if den <= 0:
        return (
            None,
            f"{indicator.name}：{FIGURE_NAMES.get(indicator.denominator, indicator.denominator)}为 {den}，无法计算",
        )
    return num / den * indicator.scale, None


def percentile_ranks(values: Mapping[str, float]) -> dict[str, float]:
    """key → (number of values below + half the number of equal ones) ÷ n × 100."""
    n = len(values)
    ordered = sorted(values.values())
    ranks: dict[str, float] = {}
    for key, v in values.items():
        below = _count_below(ordered, v)
        equal = _count_below(ordered, v, inclusive=True) - below
        ranks[key] = (below + 0.5 * equal) / n * 100
    return ranks


def _count_below(ordered: Sequence[float], v: float, *, inclusive: bool = False) -> int:
    return bisect_right(ordered, v) if inclusive else bisect_left(ordered, v)


def _pct(x: float) -> str:
    return f"{x:.4g}"


def classify(firms: Sequence[MuFirm], scheme: MuScheme | None = None, *, min_indicators: int = 1) -> MuResult:
    """Score and class every enterprise against the others given (one year, one comparison group)."""
    scheme = scheme or load_mu_scheme()
    if min_indicators < 1:
        raise ValueError("min_indicators 至少为 1")
    keys = [f.key for f in firms]
    if len(keys) != len(set(keys)):
        raise ValueError("企业标识重复")

    values: dict[str, dict[str, float]] = {i.code: {} for i in scheme.indicators}
    missing: dict[str, dict[str, str]] = {f.key: {} for f in firms}
    for ind in scheme.indicators:
        for f in firms:
            v, why = indicator_value(ind, f.figures)
            if v is None:
                missing[f.key][ind.code] = why or ""
            else:
                values[ind.code][f.key] = v

    notes: list[str] = []
    used = [i for i in scheme.indicators if i.available and i.weight > 0 and values[i.code]]
    for i in scheme.indicators:
        if not i.available:
            notes.append(f"{i.name}不参与计算：{i.reason}")
        elif i.weight > 0 and not values[i.code]:
            notes.append(f"{i.name}不参与计算：没有任何企业有该项数据")
    total_weight = sum(i.weight for i in used)
    if not used:
        raise ValueError("没有可计算的指标")
    weights = {i.code: i.weight / total_weight * 100 for i in used}
    original = sum(i.weight for i in scheme.indicators)
    if len(used) < len([i for i in scheme.indicators if i.weight > 0]):
        notes.append(
            f"其余指标权重按比例放大（合计 {_pct(total_weight)} → 100）："
            + "、".join(f"{i.name} {_pct(weights[i.code])}%" for i in used)
        )
    elif abs(original - 100) > 1e-9:
        notes.append(f"权重合计 {_pct(original)}，按比例折算为 100")

    ranks = {code: percentile_ranks(vals) for code, vals in values.items() if code in weights}

    scores: dict[str, float] = {}
    partial: dict[str, list[IndicatorScore]] = {}
    firm_notes: dict[str, list[str]] = {}
    for f in firms:
        have = [i for i in used if f.key in values[i.code]]
        have_codes = {i.code for i in have}  # compare codes, not models: this loop runs per enterprise
        w = sum(weights[i.code] for i in have)
        rows = []
        for i in scheme.indicators:
            if i.code in have_codes:
                rows.append(
                    IndicatorScore(
                        i.code,
                        i.name,
                        i.unit,
                        values[i.code][f.key],
                        ranks[i.code][f.key],
                        weights[i.code] / w * 100,
                    )
                )
            else:
                rows.append(
                    IndicatorScore(i.code, i.name, i.unit, None, None, None, missing[f.key].get(i.code))
                )
        partial[f.key] = rows
        fn: list[str] = []
        lacking = [i for i in used if i.code not in have_codes]
        reasons = "；".join(missing[f.key][i.code] for i in lacking)
        if len(have) < min_indicators:
            fn.append(
                f"可计算指标 {len(have)} 项，少于 {min_indicators} 项，不分类"
                + (f"（{reasons}）" if reasons else "")
            )
        else:
            if lacking:
                fn.append(f"本企业{reasons}，不计；其余 {len(have)} 项指标权重按比例折算，分类为暂定")
            scores[f.key] = sum(ranks[i.code][f.key] * weights[i.code] for i in have) / w
        firm_notes[f.key] = fn

    n = len(scores)
    ascending = sorted(scores.values())  # enterprises ranked above = those with a strictly higher score
    results = []
    for f in firms:
        score = scores.get(f.key)
        rank = mu_class = None
        if score is not None:
            above = n - bisect_right(ascending, score)
            rank = above + 1
            mu_class = _band(scheme, above, n)
        results.append(
            MuFirmResult(f.key, tuple(partial[f.key]), score, rank, mu_class, tuple(firm_notes[f.key]))
        )
    return MuResult(scheme.code, weights, tuple(results), tuple(notes))


def _band(scheme: MuScheme, above: int, n: int) -> str:
    """The class whose cumulative share first exceeds the share of enterprises ranked above."""
    cumulative = 0.0
    for b in scheme.bands:
        cumulative += b.percent
        if above * 100 < cumulative * n - 1e-9:
            return b.mu_class
    return scheme.bands[-1].mu_class
