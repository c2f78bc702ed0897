"""Entering and leaving pools: the entry rules at their boundaries, history, audit, and refused input.

Each refused request names the field in Chinese and writes nothing.
"""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.permissions import SYSTEM
from app.audit.models import AuditEntry
from app.enterprises import service as enterprise_service
from app.enterprises.models import Enterprise
from app.errors import Conflict, NotFound, ValidationFailed
from app.pools import listing
from app.pools import membership as pool_membership
from app.pools.listing import PoolFilters
from app.pools.models import PoolMembership
from app.pools.schemas import EnterIn, LeaveIn
from tests.conftest import bearer

YEAR = 2023


def enter(db, pool, ent, entry_class=None, when=date(2023, 3, 1), year=YEAR, **kw):
    return pool_membership.enter(
        db,
        actor=SYSTEM,
        pool_code=pool,
        data=EnterIn(enterprise_id=ent.id, entry_class=entry_class, entered_date=when, year=year, **kw),
    )


def memberships(db, ent=None) -> int:
    stmt = select(func.count()).select_from(PoolMembership)
    if ent is not None:
        stmt = stmt.where(PoolMembership.enterprise_id == ent.id)
    return db.scalar(stmt)


# --- 冠政发〔2022〕9号 三（一）1 at 1000 万 and 2000 万


@pytest.mark.parametrize(
    ("revenue", "ok"),
    [(9_999_999, False), (10_000_000, True), (20_000_000, True), (20_000_001, False)],
)
def test_2022_xiaoshenggui_entry_at_the_boundaries(db, firm, revenue, ok):
    """三（一）1 年度营业收入 1000–2000 万元: both ends inclusive; outside is refused naming the figure."""
    ent = firm(revenue=revenue)
    if ok:
        m = enter(db, "yumiao_pool", ent, "xiaoshenggui")
        assert m.evaluated_year == YEAR and all(c["status"] == "met" for c in m.entry_evaluation)
    else:
        with pytest.raises(ValidationFailed) as e:
            enter(db, "yumiao_pool", ent, "xiaoshenggui")
        (err,) = e.value.errors
        assert err.field == "entry_class"
        assert "不符合入库条件“" in err.message and "2023 年营业收入" in err.message
        assert memberships(db, ent) == 0


@pytest.mark.parametrize(
    ("main_revenue", "ok"),
    [(4_999_999, False), (5_000_000, True), (20_000_000, True), (20_000_001, False)],
)
def test_2023_seed_entry_at_500_wan_and_2000_wan(db, firm, main_revenue, ok):
    """冠政办发〔2023〕7号 二（一）1 主营业务收入 500—2000 万元 (初级培育库 and the 小升规 pool of 附件 4)."""
    ent = firm(main_revenue=main_revenue)
    for pool in ("primary_pool", "xiaoshenggui_pool"):
        if ok:
            assert enter(db, pool, ent).entry_class in ("seed", "candidate")
        else:
            with pytest.raises(ValidationFailed, match="主营业务收入"):
                enter(db, pool, ent)
    assert memberships(db, ent) == (2 if ok else 0)


def test_2022_high_growth_enters_on_a_persons_judgement(db, firm):
    """三（一）2 高成长性: no figure decides it; the entry records the judgement as open, with the note."""
    ent = firm(revenue=50_000_000, size="medium")
    m = enter(db, "yumiao_pool", ent, "high_growth", note="镇街推荐：近三年营收年均增长 35%")
    assert [c["status"] for c in m.entry_evaluation] == ["met", "unknown"]
    assert m.entry_evaluation[1]["needs_judgement"] and m.entry_note.startswith("镇街推荐")
    with pytest.raises(ValidationFailed, match="大型企业，不属于微型、小型、中型企业"):
        enter(db, "yumiao_pool", firm(size="large", revenue=1), "high_growth")


def test_2022_applying_enters_on_an_application_record(db, firm):
    """三（一）3: a 高新技术企业 application refused 2023-10-12 is "已经申报"."""
    ent = firm(revenue=1, honours=[("high_tech", "national", "rejected", date(2023, 10, 12))])
    m = enter(db, "yumiao_pool", ent, "applying", when=date(2023, 11, 1))
    assert m.entry_evaluation[1]["status"] == "met"


def test_entry_class_chosen_when_not_given(db, firm):
    """Without an entry class: the first met (小升规), else the first 待人工判断."""
    assert enter(db, "yumiao_pool", firm(revenue=15_000_000)).entry_class == "xiaoshenggui"
    assert enter(db, "yumiao_pool", firm(revenue=50_000_000, size="medium")).entry_class == "high_growth"


def test_entry_uses_latest_year_up_to_the_entry_date(db, firm):
    """No year given: the latest figures year not after the entry date (2022 for an entry in 2022)."""
    ent = firm(
        figures=[{"year": 2022, "revenue_yuan": 15_000_000}, {"year": 2023, "revenue_yuan": 25_000_000}]
    )
    m = enter(db, "yumiao_pool", ent, "xiaoshenggui", when=date(2022, 6, 1), year=None)
    assert m.evaluated_year == 2022


# --- membership history


def test_enter_leave_reenter_keeps_full_history_and_audit(db, firm):
    """A stay is never overwritten: enter, leave (不再符合), enter again → two rows; every change audited."""
    ent = firm(main_revenue=6_000_000)
    enter(db, "primary_pool", ent, when=date(2023, 2, 1))
    pool_membership.leave(
        db,
        actor=SYSTEM,
        pool_code="primary_pool",
        enterprise_id=ent.id,
        data=LeaveIn(reason="not_eligible", left_date=date(2023, 9, 1), note="营收下滑"),
    )
    enter(db, "primary_pool", ent, when=date(2023, 10, 1))
    hist = pool_membership.history(db, actor=SYSTEM, enterprise_id=ent.id)
    assert [(m.entered_date, m.left_date, m.leave_reason) for m in hist] == [
        (date(2023, 10, 1), None, None),
        (date(2023, 2, 1), date(2023, 9, 1), "not_eligible"),
    ]
    trail = enterprise_service.history(db, actor=SYSTEM, enterprise_id=ent.id)
    pool_entries = [(a.action, a.township) for a in trail if a.entity_type == "pool_membership"]
    assert pool_entries == [
        ("pool_enter", "qingquan"),
        ("pool_leave", "qingquan"),
        ("pool_enter", "qingquan"),
    ]
    assert "出库：初级培育库（基础种子库）（不再符合）；营收下滑" in [a.note for a in trail]


def test_a_firm_may_be_in_several_pools(db, firm):
    """The same firm in 初级培育库, the 小升规 pool and the 2022 pool at once."""
    ent = firm(revenue=15_000_000, main_revenue=15_000_000)
    for pool in ("primary_pool", "xiaoshenggui_pool", "yumiao_pool"):
        enter(db, pool, ent)
    counts = listing.member_counts(db, actor=SYSTEM)
    assert all(counts[p]["qingquan"] == 1 for p in ("primary_pool", "xiaoshenggui_pool", "yumiao_pool"))


def test_registry_pool_filter_uses_member_clause(db, firm):
    """/enterprises?pool=… lists current members only (app.enterprises calls member_clause)."""
    a, b = firm(main_revenue=6_000_000), firm(main_revenue=6_000_000)
    enter(db, "primary_pool", a)
    enter(db, "primary_pool", b)
    pool_membership.leave(
        db,
        actor=SYSTEM,
        pool_code="primary_pool",
        enterprise_id=b.id,
        data=LeaveIn(reason="withdrawn", left_date=date(2023, 5, 1)),
    )
    rows, _, _ = enterprise_service.list_page(
        db, actor=SYSTEM, filters=enterprise_service.ListFilters(pool="primary_pool"), limit=50
    )
    assert [e.id for e, _ in rows] == [a.id]
    with pytest.raises(ValidationFailed, match="未知的培育库"):
        enterprise_service.list_query(db, actor=SYSTEM, filters=enterprise_service.ListFilters(pool="nope"))


# --- bad input: a clear Chinese error naming the field, and nothing written


def test_unknown_pool_and_entry_class(db, firm):
    ent = firm(revenue=15_000_000)
    with pytest.raises(NotFound) as e:
        enter(db, "no_such_pool", ent)
    assert e.value.errors[0].field == "pool" and "未知的培育库“no_such_pool”" in e.value.errors[0].message
    with pytest.raises(ValidationFailed) as e:
        enter(db, "yumiao_pool", ent, "seed")
    assert e.value.errors[0].field == "entry_class" and "没有入库类别“seed”" in e.value.errors[0].message
    assert memberships(db, ent) == 0


def test_entering_twice_is_a_conflict(db, firm):
    ent = firm(revenue=15_000_000)
    enter(db, "yumiao_pool", ent, "xiaoshenggui")
    with pytest.raises(Conflict) as e:
        enter(db, "yumiao_pool", ent, "high_growth", when=date(2023, 4, 1))
    assert e.value.errors[0].field == "enterprise_id"
    assert "已在“" in e.value.errors[0].message and "2023-03-01 入库" in e.value.errors[0].message
    assert memberships(db, ent) == 1


def test_leaving_a_pool_never_entered_or_before_entering(db, firm):
    ent = firm(revenue=15_000_000)
    with pytest.raises(Conflict) as e:
        pool_membership.leave(
            db,
            actor=SYSTEM,
            pool_code="yumiao_pool",
            enterprise_id=ent.id,
            data=LeaveIn(reason="above_scale"),
        )
    assert e.value.errors[0].field == "enterprise_id" and "从未入库" in e.value.errors[0].message
    enter(db, "yumiao_pool", ent, "xiaoshenggui", when=date(2023, 3, 1))
    with pytest.raises(ValidationFailed) as e:
        pool_membership.leave(
            db,
            actor=SYSTEM,
            pool_code="yumiao_pool",
            enterprise_id=ent.id,
            data=LeaveIn(reason="above_scale", left_date=date(2023, 2, 28)),
        )
    assert e.value.errors[0].field == "left_date"
    assert e.value.errors[0].message == "出库日期 2023-02-28 早于入库日期 2023-03-01"
    assert db.scalar(select(PoolMembership.left_date).where(PoolMembership.enterprise_id == ent.id)) is None


def test_bad_leave_reason_and_other_without_note(db, firm):
    ent = firm(revenue=15_000_000)
    enter(db, "yumiao_pool", ent, "xiaoshenggui")
    with pytest.raises(ValidationFailed) as e:
        pool_membership.leave(
            db, actor=SYSTEM, pool_code="yumiao_pool", enterprise_id=ent.id, data=LeaveIn(reason="bored")
        )
    assert e.value.errors[0].field == "reason" and "above_scale 升规" in e.value.errors[0].message
    with pytest.raises(ValidationFailed) as e:
        pool_membership.leave(
            db, actor=SYSTEM, pool_code="yumiao_pool", enterprise_id=ent.id, data=LeaveIn(reason="other")
        )
    assert e.value.errors[0].field == "note"


def test_year_without_figures(db, firm):
    """A year the firm has no figures for, for a rule that reads figures, names the year field."""
    ent = firm(revenue=15_000_000)
    with pytest.raises(ValidationFailed) as e:
        enter(db, "yumiao_pool", ent, "xiaoshenggui", year=2021)
    assert (
        e.value.errors[0].field == "year"
        and "没有 2021 年的年度数据（已有年度：2023）" in e.value.errors[0].message
    )
    with pytest.raises(ValidationFailed) as e:
        enter(db, "yumiao_pool", firm(figures=[]), "xiaoshenggui", year=None)
    assert e.value.errors[0].field == "year"
    # a list for a year nobody has figures for
    with pytest.raises(ValidationFailed) as e:
        listing.candidates_page(db, actor=SYSTEM, pool_code="yumiao_pool", filters=PoolFilters(year=2031))
    assert e.value.errors[0].field == "year" and "2031 年没有任何企业的年度数据" in e.value.errors[0].message


def test_entry_dates(db, firm):
    """Not in the future; not before the document took effect (冠政发〔2022〕9号: 2022-04-09)."""
    ent = firm(revenue=15_000_000)
    with pytest.raises(ValidationFailed) as e:
        enter(db, "yumiao_pool", ent, "xiaoshenggui", when=date.today() + timedelta(days=1))
    assert e.value.errors[0].field == "entered_date"
    with pytest.raises(ValidationFailed) as e:
        enter(db, "yumiao_pool", ent, "xiaoshenggui", when=date(2022, 4, 8))
    assert e.value.errors[0].field == "entered_date" and "2022-04-09" in e.value.errors[0].message
    assert enter(db, "yumiao_pool", ent, "xiaoshenggui", when=date(2022, 4, 9))


# --- through the API


def test_api_enter_and_leave_with_problem_details(client, make, firm):
    key = make.api_key(scopes=("pools:read", "pools:write"))
    ent = firm(revenue=15_000_000)
    r = client.post(
        "/api/v1/pools/yumiao_pool/members",
        headers=bearer(key),
        json={
            "enterprise_id": ent.id,
            "entry_class": "xiaoshenggui",
            "entered_date": "2023-03-01",
            "year": 2023,
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["entry_class_name"] == "“小升规”培育库入库企业" and body["entered_by"].startswith("api:")
    r = client.post("/api/v1/pools/yumiao_pool/members", headers=bearer(key), json={"enterprise_id": ent.id})
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "enterprise_id"
    r = client.post("/api/v1/pools/nope/members", headers=bearer(key), json={"enterprise_id": ent.id})
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "pool"
    r = client.post(
        f"/api/v1/pools/yumiao_pool/members/{ent.id}/leave",
        headers=bearer(key),
        json={"reason": "above_scale", "left_date": "2023-01-01"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "left_date"
    r = client.post(
        f"/api/v1/pools/yumiao_pool/members/{ent.id}/leave",
        headers=bearer(key),
        json={"reason": "above_scale", "left_date": "2023-12-20"},
    )
    assert r.status_code == 200 and r.json()["leave_reason_name"] == "升规"
    r = client.post(
        f"/api/v1/pools/yumiao_pool/members/{ent.id}/leave",
        headers=bearer(key),
        json={"reason": "above_scale"},
    )
    assert r.status_code == 409 and "已于 2023-12-20 出库" in r.json()["errors"][0]["message"]


def test_api_members_paginate_with_cursor(client, make, firm, db):
    key = make.api_key(scopes=("pools:read", "pools:write"))
    ents = [firm(main_revenue=6_000_000 + i, name=f"分页企业{i:02d}有限公司") for i in range(7)]
    for e in ents:
        enter(db, "primary_pool", e)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, "year": 2023, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/pools/primary_pool/members", headers=bearer(key), params=params).json()
        seen += [i["enterprise_name"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(e.name for e in ents)
    assert page["items"][0]["candidacy"] == "met"
    r = client.get("/api/v1/pools/primary_pool/members", headers=bearer(key), params={"cursor": "garbage"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"


def test_api_key_without_pools_scope_is_403(client, make):
    key = make.api_key(scopes=("enterprises:read",))
    assert client.get("/api/v1/pools", headers=bearer(key)).status_code == 403


def test_deleted_enterprise_cannot_enter(db, firm):
    ent = firm(revenue=15_000_000)
    enterprise_service.delete(db, actor=SYSTEM, enterprise_id=ent.id)
    with pytest.raises(NotFound):
        enter(db, "yumiao_pool", ent, "xiaoshenggui")
    assert db.get(Enterprise, ent.id).deleted_at is not None
    assert (
        db.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_type == "pool_membership")
        )
        == 0
    )


def test_api_pool_list_pages_like_every_list(client, make):
    key = make.api_key(scopes=("pools:read",))
    first = client.get("/api/v1/pools", headers=bearer(key), params={"limit": 4}).json()
    assert [p["code"] for p in first["items"]] == [
        "yumiao_pool",
        "primary_pool",
        "intermediate_pool",
        "advanced_pool",
    ]
    rest = client.get("/api/v1/pools", headers=bearer(key), params={"cursor": first["next_cursor"]}).json()
    assert len(rest["items"]) == 7 and rest["next_cursor"] is None
    assert rest["items"][0]["code"] == "specialized_sme_pool"
