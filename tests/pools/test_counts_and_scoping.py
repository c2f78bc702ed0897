"""Counting is one SQL query; township staff see and change only their own township's members and candidates."""

import io
from datetime import date

import pytest
from python_calamine import CalamineWorkbook

from app.accounts.permissions import SYSTEM, user_principal
from app.errors import NotFound
from app.pools import listing, membership
from app.pools.listing import PoolFilters
from app.pools.schemas import EnterIn
from tests.conftest import bearer, login


def enter(db, pool, ent, actor=SYSTEM):
    return membership.enter(
        db,
        actor=actor,
        pool_code=pool,
        data=EnterIn(enterprise_id=ent.id, entered_date=date(2023, 3, 1), year=2023),
    )


@pytest.fixture
def spread(db, firm):
    """Members in three townships and two pools, one member deleted, one left."""
    towns = ["kaifaqu", "kaifaqu", "qingquan", "liangtang"]
    ents = [
        firm(township=t, main_revenue=6_000_000, revenue=15_000_000, name=f"{t}{i}有限公司")
        for i, t in enumerate(towns)
    ]
    for e in ents:
        enter(db, "primary_pool", e)
    enter(db, "yumiao_pool", ents[0])
    enter(db, "yumiao_pool", ents[2])
    return ents


def test_member_counts_per_pool_and_township_is_one_query(db, spread, count_queries):
    with count_queries() as n:
        counts = listing.member_counts(db, actor=SYSTEM)
    assert n[0] == 1
    assert counts == {
        "primary_pool": {"kaifaqu": 2, "qingquan": 1, "liangtang": 1},
        "yumiao_pool": {"kaifaqu": 1, "qingquan": 1},
    }


def test_candidate_counts_per_township_is_one_query(db, spread, firm, count_queries):
    """One GROUP BY for every township (after the check that the year has figures, and the data version read
    by the cache: app/datacache.py)."""
    firm(township="kaifaqu", main_revenue=7_000_000)
    firm(township="liangtang", main_revenue=8_000_000)
    with count_queries() as n:
        counts, _ = listing.candidate_counts(
            db, actor=SYSTEM, pool_code="primary_pool", filters=PoolFilters(year=2023)
        )
    assert n[0] == 3
    assert counts == {"kaifaqu": {"met": 1, "judgement": 0}, "liangtang": {"met": 1, "judgement": 0}}


def test_township_staff_counts_and_lists_are_their_own(db, spread, make):
    staff = user_principal(make.user(role="township_staff", township="kaifaqu"))
    assert listing.member_counts(db, actor=staff) == {
        "primary_pool": {"kaifaqu": 2},
        "yumiao_pool": {"kaifaqu": 1},
    }
    rows, _, _ = listing.members_page(
        db, actor=staff, pool_code="primary_pool", filters=PoolFilters(year=2023)
    )
    assert {r.enterprise.township for r in rows} == {"kaifaqu"}
    rows, _, _ = listing.members_page(
        db, actor=staff, pool_code="primary_pool", filters=PoolFilters(year=2023, township=["qingquan"])
    )
    assert rows == []


def test_township_staff_cannot_enter_or_leave_another_townships_firm(db, spread, firm, make):
    staff = user_principal(make.user(role="township_staff", township="kaifaqu"))
    other = firm(township="qingquan", main_revenue=6_000_000)
    with pytest.raises(NotFound):
        enter(db, "xiaoshenggui_pool", other, actor=staff)
    mine = firm(township="kaifaqu", main_revenue=6_000_000)
    assert enter(db, "xiaoshenggui_pool", mine, actor=staff).entered_by == staff.name


def test_api_and_pages_for_township_staff(client, make, spread, db):
    token = login(client, make.user(role="township_staff", township="kaifaqu"))
    h = {"X-CSRF-Token": token}
    pools = {p["code"]: p for p in client.get("/api/v1/pools").json()["items"]}
    assert pools["primary_pool"]["member_count"] == 2 and pools["primary_pool"]["by_township"] == {
        "kaifaqu": 2
    }
    members = client.get("/api/v1/pools/primary_pool/members", params={"year": 2023}).json()["items"]
    assert {m["township"] for m in members} == {"kaifaqu"}
    qingquan = spread[2]
    r = client.post("/api/v1/pools/yumiao_pool/members", headers=h, json={"enterprise_id": qingquan.id})
    assert r.status_code == 404
    r = client.post(
        f"/api/v1/pools/yumiao_pool/members/{qingquan.id}/leave", headers=h, json={"reason": "withdrawn"}
    )
    assert r.status_code == 404
    assert client.get(f"/api/v1/enterprises/{qingquan.id}/pools").status_code == 404
    page = client.get("/pools").text
    assert "kaifaqu0有限公司" not in page and ">开发区<" in page and ">清泉街道<" not in page
    page = client.get("/pools/primary_pool").text
    assert "kaifaqu0有限公司" in page and "qingquan2有限公司" not in page
    wb = CalamineWorkbook.from_filelike(
        io.BytesIO(client.get("/pools/primary_pool/members.xlsx", params={"year": 2023}).content)
    )
    rows = wb.get_sheet_by_index(0).to_python()
    assert {r[2] for r in rows[1:]} == {"县经济开发区"} and len(rows) == 3


def test_county_viewer_reads_everything_and_changes_nothing(client, make, spread):
    key = make.api_key(scopes=("pools:read",))
    pools = {p["code"]: p for p in client.get("/api/v1/pools", headers=bearer(key)).json()["items"]}
    assert pools["primary_pool"]["member_count"] == 4
    r = client.post(
        "/api/v1/pools/primary_pool/members", headers=bearer(key), json={"enterprise_id": spread[0].id}
    )
    assert r.status_code == 403
