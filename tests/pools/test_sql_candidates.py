"""The SQL candidate query agrees with the pure evaluator, firm by firm, on boundary figures.

Each firm is built in PostgreSQL with exact figures and honours; for every pool and entry class the
candidacy computed by app/pools/sql.py must equal criteria.class_candidacy on the same facts.
"""

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.accounts.permissions import SYSTEM
from app.enterprises.models import Enterprise
from app.pools import common, listing, membership
from app.pools import criteria as pool_criteria
from app.pools.criteria import class_candidacy, combine_candidacy, evaluate_entry_class
from app.pools.definitions import load_pools
from app.pools.listing import PoolFilters
from app.pools.schemas import EnterIn

YEAR = 2023

# name → firm() arguments: every boundary of every entry rule, and the gaps in the data
FIRMS = {
    # 冠政发〔2022〕9号 三（一）1: 年度营业收入 1000–2000 万元
    "rev_9_999_999": {"revenue": 9_999_999},
    "rev_10_000_000": {"revenue": 10_000_000},
    "rev_16_500_000": {"revenue": 16_500_000},
    "rev_20_000_000": {"revenue": 20_000_000},
    "rev_20_000_001": {"revenue": 20_000_001},
    "rev_in_range_above_scale": {"revenue": 15_000_000, "above_scale": True},
    "rev_in_range_medium": {"revenue": 15_000_000, "size": "medium"},
    "rev_in_range_large": {"revenue": 15_000_000, "size": "large"},
    "rev_in_range_micro": {"revenue": 15_000_000, "size": "micro"},
    "rev_only_2022": {"revenue": 15_000_000, "year": 2022},
    # 冠政办发〔2023〕7号 二（一）1: 年主营业务收入 500—2000 万元
    "main_4_999_999": {"main_revenue": 4_999_999},
    "main_5_000_000": {"main_revenue": 5_000_000},
    "main_20_000_000": {"main_revenue": 20_000_000},
    "main_20_000_001": {"main_revenue": 20_000_001},
    "main_and_rev_10_000_000": {"main_revenue": 10_000_000, "revenue": 10_000_000},
    # 工业: codes, divisions, the group word, other sections, nothing registered
    "ind_4411": {"revenue": 12_000_000, "main_revenue": 6_000_000, "industry": "4411"},
    "ind_0911": {"revenue": 12_000_000, "main_revenue": 6_000_000, "industry": "0911"},
    "ind_lower_c": {"revenue": 12_000_000, "main_revenue": 6_000_000, "industry": " c3311 "},
    "ind_F5211": {"revenue": 12_000_000, "main_revenue": 6_000_000, "industry": "F5211"},
    "ind_5211": {"revenue": 12_000_000, "main_revenue": 6_000_000, "industry": "5211"},
    "ind_gongye": {"revenue": 12_000_000, "main_revenue": 6_000_000, "industry": "工业"},
    "ind_word": {"revenue": 12_000_000, "main_revenue": 6_000_000, "industry": "服务业"},
    "ind_none": {"revenue": 12_000_000, "main_revenue": 6_000_000, "industry": None},
    "ind_00": {"revenue": 12_000_000, "main_revenue": 6_000_000, "industry": "0099"},
    # 研发经费投入 (中级储备库, system check)
    "rd_0": {"rd": 0},
    "rd_1": {"rd": 1},
    "rd_missing": {"revenue": 1},
    # honours and their windows
    "ht_2021_valid": {"rd": 10, "honours": [("high_tech", "national", "new", date(2021, 11, 1))]},
    "ht_2020_lapsed": {"rd": 10, "honours": [("high_tech", "national", "new", date(2020, 12, 1))]},
    "ht_2024_future": {"rd": 10, "honours": [("high_tech", "national", "new", date(2024, 1, 5))]},
    "ht_rejected_2023": {"rd": 10, "honours": [("high_tech", "national", "rejected", date(2023, 10, 12))]},
    "ht_rejected_2024": {"rd": 10, "honours": [("high_tech", "national", "rejected", date(2024, 1, 12))]},
    "tsme_2022": {"rd": 10, "honours": [("tech_sme", "national", "new", date(2022, 5, 1))]},
    "tsme_2023_renewed": {"rd": 10, "honours": [("tech_sme", "national", "renewed", date(2023, 12, 31))]},
    "innov_2021_01_01": {"honours": [("innovative_sme", "provincial", "new", date(2021, 1, 1))]},
    "innov_2020_12_31": {"honours": [("innovative_sme", "provincial", "new", date(2020, 12, 31))]},
    "spec_city_2022": {"honours": [("specialized_sme", "city", "new", date(2022, 3, 1))]},
    "spec_prov_2022": {"honours": [("specialized_sme", "provincial", "new", date(2022, 3, 1))]},
    "spec_prov_and_giant": {
        "honours": [
            ("specialized_sme", "provincial", "new", date(2022, 3, 1)),
            ("little_giant", "national", "new", date(2023, 7, 1)),
        ]
    },
    "gazelle_2019": {"honours": [("gazelle", "provincial", "new", date(2019, 8, 1))]},
    "champion_product": {
        "industry": "C3311",
        "honours": [("champion_product", "provincial", "new", date(2022, 1, 1))],
    },
    "two_int_city": {"honours": [("two_integration", "city", "new", date(2022, 9, 1))]},
    "two_int_rejected": {"honours": [("two_integration", "city", "rejected", date(2022, 9, 1))]},
    "dcmm_national": {"honours": [("dcmm", "national", "renewed", date(2023, 2, 1))]},
    "green_only": {"honours": [("green_factory", "provincial", "new", date(2023, 1, 5))]},
    "no_figures": {"figures": []},
}


@pytest.fixture
def built(db, firm):
    ids = {name: firm(name=f"边界{name}有限公司", **args).id for name, args in FIRMS.items()}
    ents = db.scalars(
        select(Enterprise)
        .where(Enterprise.id.in_(list(ids.values())))
        .options(selectinload(Enterprise.figures), selectinload(Enterprise.honours))
    ).all()
    return ids, {e.id: e for e in ents}


@pytest.mark.parametrize("pool_code", list(load_pools()))
def test_sql_candidacy_equals_the_pure_evaluator(db, built, pool_code):
    """For every firm, every entry class: SQL met / 待人工判断 / 数据不全 / 不符合 == criteria.py."""
    ids, ents = built
    pool_def = load_pools()[pool_code]
    got = listing.sql_candidacy(db, pool_code=pool_code, year=YEAR, enterprise_ids=ids.values())
    for name, eid in ids.items():
        facts = common.facts_for(ents[eid])
        expected = {
            e.code: class_candidacy(evaluate_entry_class(e, facts, YEAR)).value
            for e in pool_def.entry_classes
        }
        expected["_pool"] = combine_candidacy([pool_criteria.Candidacy(v) for v in expected.values()]).value
        assert got[eid] == expected, (pool_code, name, got[eid], expected)


def _names(rows, ids):
    by_id = {v: k for k, v in ids.items()}
    return {by_id[r.enterprise.id] for r in rows if r.enterprise.id in by_id}


def test_2022_xiaoshenggui_candidates_are_exactly_the_boundaries_inside(db, built):
    """三（一）1 on PostgreSQL: 1000 万 and 2000 万 are in, 999.9999 and 2000.0001 万 out; 规上/中型/大型 out."""
    ids, _ = built
    rows, _, year = listing.candidates_page(
        db,
        actor=SYSTEM,
        pool_code="yumiao_pool",
        filters=PoolFilters(year=YEAR, entry_class="xiaoshenggui"),
        limit=500,
    )
    names = _names(rows, ids)
    assert year == YEAR
    assert {"rev_10_000_000", "rev_16_500_000", "rev_20_000_000", "rev_in_range_micro"} <= names
    assert not names & {"rev_9_999_999", "rev_20_000_001", "rev_in_range_above_scale", "rev_only_2022"}
    met = {
        n
        for n in names
        if next(r for r in rows if r.enterprise.id == ids[n]).classes["xiaoshenggui"] == "met"
    }
    assert met == {
        "rev_10_000_000", "rev_16_500_000", "rev_20_000_000", "rev_in_range_micro", "main_and_rev_10_000_000",
        "ind_4411", "ind_0911", "ind_lower_c", "ind_gongye",
    }  # fmt: skip


def test_2023_seed_candidates_at_500_wan(db, built):
    """二（一）1 on PostgreSQL: 主营业务收入 500 万 and 2000 万 are in, 499.9999 and 2000.0001 万 out."""
    ids, _ = built
    rows, _, _ = listing.candidates_page(
        db, actor=SYSTEM, pool_code="primary_pool", filters=PoolFilters(year=YEAR), limit=500
    )
    names = _names(rows, ids)
    assert {"main_5_000_000", "main_20_000_000", "main_and_rev_10_000_000", "ind_F5211", "ind_word"} <= names
    assert not names & {"main_4_999_999", "main_20_000_001", "rev_16_500_000"}
    assert all(r.candidacy == "met" for r in rows)
    rows, _, _ = listing.candidates_page(
        db, actor=SYSTEM, pool_code="xiaoshenggui_pool", filters=PoolFilters(year=YEAR), limit=500
    )
    names = _names(rows, ids)
    assert "ind_gongye" in names and "main_5_000_000" in names
    assert not names & {"ind_F5211", "ind_5211", "ind_word", "ind_none", "ind_00"}


def test_judgement_classes_are_candidates_only_when_checkable_criteria_hold(db, built):
    """二（一）2 中级储备库: 研发 > 0 and no valid 高新技术企业 → 待人工判断; 研发 0 or holding it → not a candidate."""
    ids, _ = built
    rows, _, _ = listing.candidates_page(
        db, actor=SYSTEM, pool_code="intermediate_pool", filters=PoolFilters(year=YEAR), limit=500
    )
    names = _names(rows, ids)
    assert {"rd_1", "ht_2020_lapsed", "ht_2024_future", "tsme_2022"} <= names
    assert not names & {"rd_0", "rd_missing", "no_figures"}
    assert "ht_2021_valid" in names  # still a 科技型中小企业 candidate
    row = next(r for r in rows if r.enterprise.id == ids["ht_2021_valid"])
    assert row.classes == {"high_tech_candidate": "failed", "tech_sme_candidate": "judgement"}
    assert {r.candidacy for r in rows} == {"judgement"}


def test_members_are_not_candidates(db, built):
    """A firm in the pool is listed as a member, not a candidate."""
    ids, _ = built
    membership.enter(
        db,
        actor=SYSTEM,
        pool_code="primary_pool",
        data=EnterIn(
            enterprise_id=ids["main_5_000_000"], entry_class="seed", entered_date=date(2023, 3, 1), year=YEAR
        ),
    )
    rows, _, _ = listing.candidates_page(
        db, actor=SYSTEM, pool_code="primary_pool", filters=PoolFilters(year=YEAR), limit=500
    )
    assert "main_5_000_000" not in _names(rows, ids)


def test_candidate_status_filter_and_counts_per_township(db, firm):
    """Counts per township split 符合 and 待人工判断 and match the list."""
    a = firm(township="kaifaqu", rd=5)
    firm(township="kaifaqu", rd=5)
    firm(township="qingquan", rd=5)
    firm(township="qingquan", rd=0)
    counts, _ = listing.candidate_counts(
        db, actor=SYSTEM, pool_code="intermediate_pool", filters=PoolFilters(year=YEAR)
    )
    assert counts["kaifaqu"] == {"met": 0, "judgement": 2} and counts["qingquan"] == {
        "met": 0,
        "judgement": 1,
    }
    rows, _, _ = listing.candidates_page(
        db,
        actor=SYSTEM,
        pool_code="intermediate_pool",
        filters=PoolFilters(year=YEAR, township=["kaifaqu"], candidacy=["judgement"]),
    )
    assert a.id in {r.enterprise.id for r in rows} and len(rows) == 2
    rows, _, _ = listing.candidates_page(
        db, actor=SYSTEM, pool_code="intermediate_pool", filters=PoolFilters(year=YEAR, candidacy=["met"])
    )
    assert rows == []


def test_sql_candidacy_equals_the_pure_evaluator_on_sqlite_too(tmp_path):
    """The quickstart runs on SQLite: the same boundary firms give the same candidacy there."""
    import random

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from app.cli import run_migrations
    from app.enterprises import service as enterprise_service
    from app.enterprises.schemas import EnterpriseCreate
    from app.enterprises.uscc import generate

    url = f"sqlite:///{tmp_path / 'pools.db'}"
    run_migrations(url)
    engine = create_engine(url)
    rng = random.Random(5)
    with Session(engine) as s:
        ids = {}
        for name, args in FIRMS.items():
            args = dict(args)
            year = args.pop("year", YEAR)
            figures = args.pop("figures", None)
            if figures is None:
                figures = [
                    {
                        "year": year,
                        "revenue_yuan": args.pop("revenue", None),
                        "main_revenue_yuan": args.pop("main_revenue", None),
                        "rd_spend_yuan": args.pop("rd", None),
                    }
                ]
            honours = [
                {"code": c, "level": lv, "outcome": o, "honour_date": d}
                for c, lv, o, d in args.pop("honours", [])
            ]
            data = {
                "uscc": generate(rng),
                "name": f"边界{name}有限公司",
                "township": "qingquan",
                "size": "small",
                "above_scale": False,
                "industry": "C3311",
                **args,
                "figures": figures,
                "honours": honours,
            }
            ids[name] = enterprise_service.create(
                s, actor=SYSTEM, data=EnterpriseCreate.model_validate(data)
            ).id
        s.flush()
        ents = {
            e.id: e
            for e in s.scalars(
                select(Enterprise).options(selectinload(Enterprise.figures), selectinload(Enterprise.honours))
            )
        }
        for pool_code, pool_def in load_pools().items():
            got = listing.sql_candidacy(s, pool_code=pool_code, year=YEAR, enterprise_ids=ids.values())
            for name, eid in ids.items():
                facts = common.facts_for(ents[eid])
                expected = {
                    e.code: class_candidacy(evaluate_entry_class(e, facts, YEAR)).value
                    for e in pool_def.entry_classes
                }
                expected["_pool"] = combine_candidacy(
                    [pool_criteria.Candidacy(v) for v in expected.values()]
                ).value
                assert got[eid] == expected, (pool_code, name, got[eid], expected)
    engine.dispose()
