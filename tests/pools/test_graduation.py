"""Graduation (毕业): a member that reaches its pool's goal is proposed to leave and move up the ladder."""

from datetime import date

import pytest
from sqlalchemy import select

from app.accounts.permissions import SYSTEM, user_principal
from app.enterprises import service as enterprise_service
from app.enterprises.schemas import EnterpriseUpdate, HonourIn
from app.errors import Conflict, NotFound, ValidationFailed
from app.pools import graduation as pool_graduation
from app.pools import membership
from app.pools.models import PoolGraduation, PoolMembership
from app.pools.schemas import EnterIn, GraduationConfirm
from tests.conftest import bearer, login


def enter(db, pool, ent, **kw):
    return membership.enter(
        db,
        actor=SYSTEM,
        pool_code=pool,
        data=EnterIn(enterprise_id=ent.id, entered_date=date(2023, 3, 1), year=2023, **kw),
    )


def pending(db, ent):
    return sorted(
        db.scalars(
            select(PoolGraduation.pool).where(
                PoolGraduation.enterprise_id == ent.id, PoolGraduation.status == "pending"
            )
        )
    )


def honour(db, ent, code, level, outcome="new", when=date(2023, 11, 20)):
    return enterprise_service.add_honour(
        db,
        actor=SYSTEM,
        enterprise_id=ent.id,
        honour=HonourIn(code=code, level=level, outcome=outcome, honour_date=when),
    )


def test_becoming_above_scale_proposes_graduation_from_every_xiaoshenggui_pool(db, firm):
    """升规: the 2022 pool, 初级培育库 and the 小升规 pool each propose; 中级储备库 (goal: 高新/科技型) does not."""
    ent = firm(revenue=15_000_000, main_revenue=15_000_000, rd=100_000)
    for pool in ("yumiao_pool", "primary_pool", "xiaoshenggui_pool", "intermediate_pool"):
        enter(db, pool, ent)
    enterprise_service.update(
        db, actor=SYSTEM, enterprise_id=ent.id, data=EnterpriseUpdate(above_scale=True), if_match=None
    )
    assert pending(db, ent) == ["primary_pool", "xiaoshenggui_pool", "yumiao_pool"]
    g = db.scalar(select(PoolGraduation).where(PoolGraduation.pool == "primary_pool"))
    assert (
        g.trigger == "above_scale" and g.goal_text == "首次升为规模以上企业" and g.event_date == date.today()
    )


def test_a_new_honour_matching_the_goal_proposes_graduation(db, firm):
    """专精特新中小企业培育库: a new 专精特新 (省级) proposes; renewed, rejected, or another honour does not."""
    ent = firm(rd=1)
    enter(db, "specialized_sme_pool", ent)
    enter(db, "intermediate_pool", ent)
    honour(db, ent, "specialized_sme", "provincial", "rejected", date(2023, 6, 1))
    honour(db, ent, "green_factory", "provincial")
    assert pending(db, ent) == []
    h = honour(db, ent, "specialized_sme", "provincial")
    assert pending(db, ent) == ["specialized_sme_pool"]
    g = db.scalar(select(PoolGraduation).where(PoolGraduation.enterprise_id == ent.id))
    assert (g.honour_id, g.event_date) == (h.id, date(2023, 11, 20))
    honour(db, ent, "high_tech", "national", when=date(2023, 12, 1))
    assert pending(db, ent) == ["intermediate_pool", "specialized_sme_pool"]


def test_confirm_leaves_with_reason_and_enters_the_next_pool(db, firm):
    """初级培育库 → 中级储备库 (梯度培育): leave 升规 on the day, enter the next tier by its rules."""
    ent = firm(main_revenue=15_000_000, rd=200_000)
    enter(db, "primary_pool", ent)
    enterprise_service.update(
        db, actor=SYSTEM, enterprise_id=ent.id, data=EnterpriseUpdate(above_scale=True), if_match=None
    )
    (row,) = pool_graduation.graduations(db, actor=SYSTEM, pool_code="primary_pool")
    g, entered = pool_graduation.confirm_graduation(
        db, actor=SYSTEM, proposal_id=row.graduation.id, data=GraduationConfirm(next_pool="intermediate_pool")
    )
    assert (g.status, g.next_pool, g.decided_by) == ("confirmed", "intermediate_pool", "system")
    old = db.scalar(select(PoolMembership).where(PoolMembership.pool == "primary_pool"))
    assert (old.left_date, old.leave_reason) == (date.today(), "above_scale")
    assert entered.pool == "intermediate_pool" and entered.entry_class == "high_tech_candidate"
    assert "由“初级培育库（基础种子库）”毕业转入" in entered.entry_note
    with pytest.raises(Conflict):
        pool_graduation.confirm_graduation(db, actor=SYSTEM, proposal_id=g.id, data=GraduationConfirm())


def test_confirm_is_all_or_nothing_when_the_next_pool_refuses(db, firm):
    """No 研发投入: 中级储备库 refuses; the firm stays in 初级培育库 and the proposal stays pending."""
    ent = firm(main_revenue=15_000_000, rd=0)
    enter(db, "primary_pool", ent)
    enterprise_service.update(
        db, actor=SYSTEM, enterprise_id=ent.id, data=EnterpriseUpdate(above_scale=True), if_match=None
    )
    (row,) = pool_graduation.graduations(db, actor=SYSTEM, pool_code="primary_pool")
    with pytest.raises(ValidationFailed) as e:
        pool_graduation.confirm_graduation(
            db,
            actor=SYSTEM,
            proposal_id=row.graduation.id,
            data=GraduationConfirm(next_pool="intermediate_pool"),
        )
    assert e.value.errors[0].field == "next_pool" and "研发经费投入为 0 万元" in e.value.errors[0].message
    assert db.scalar(select(PoolMembership.left_date).where(PoolMembership.pool == "primary_pool")) is None
    assert pending(db, ent) == ["primary_pool"]
    with pytest.raises(ValidationFailed) as e:
        pool_graduation.confirm_graduation(
            db, actor=SYSTEM, proposal_id=row.graduation.id, data=GraduationConfirm(next_pool="nowhere")
        )
    assert e.value.errors[0].field == "next_pool"


def test_dismiss_keeps_the_member_and_one_proposal_per_event(db, firm):
    ent = firm(main_revenue=15_000_000)
    enter(db, "primary_pool", ent)
    enterprise_service.update(
        db, actor=SYSTEM, enterprise_id=ent.id, data=EnterpriseUpdate(above_scale=True), if_match=None
    )
    pool_graduation.propose_graduations(
        db, actor=SYSTEM, enterprise=ent, trigger="above_scale"
    )  # the same event again
    (row,) = pool_graduation.graduations(db, actor=SYSTEM, pool_code="primary_pool")
    g = pool_graduation.dismiss_graduation(
        db, actor=SYSTEM, proposal_id=row.graduation.id, note="统计口径尚未确认"
    )
    assert g.status == "dismissed"
    assert db.scalar(select(PoolMembership.left_date).where(PoolMembership.pool == "primary_pool")) is None


def test_township_staff_see_and_settle_only_their_own(db, firm, make):
    ent = firm(main_revenue=15_000_000, township="kaifaqu")
    enter(db, "primary_pool", ent)
    enterprise_service.update(
        db, actor=SYSTEM, enterprise_id=ent.id, data=EnterpriseUpdate(above_scale=True), if_match=None
    )
    (row,) = pool_graduation.graduations(db, actor=SYSTEM, pool_code="primary_pool")
    staff = user_principal(make.user(role="township_staff", township="qingquan"))
    assert pool_graduation.graduations(db, actor=staff, pool_code="primary_pool") == []
    with pytest.raises(NotFound):
        pool_graduation.confirm_graduation(
            db, actor=staff, proposal_id=row.graduation.id, data=GraduationConfirm()
        )


def test_graduations_on_the_api_and_pages(client, make, firm, db):
    ent = firm(main_revenue=15_000_000, rd=5, name="毕业企业有限公司")
    enter(db, "primary_pool", ent)
    enterprise_service.update(
        db, actor=SYSTEM, enterprise_id=ent.id, data=EnterpriseUpdate(above_scale=True), if_match=None
    )
    key = make.api_key(scopes=("pools:read", "pools:write"))
    (g,) = client.get("/api/v1/pools/primary_pool/graduations", headers=bearer(key)).json()
    assert g["enterprise_name"] == "毕业企业有限公司" and g["next_pools"] == ["intermediate_pool"]
    token = login(client, make.user())
    page = client.get("/pools/primary_pool", params={"tab": "graduations"}).text
    assert "毕业企业有限公司" in page and "首次升为规模以上企业" in page
    assert "达成“初级培育库（基础种子库）”培育目标" in client.get(f"/enterprises/{ent.id}").text
    r = client.post(
        f"/pools/graduations/{g['id']}/confirm",
        data={"next_pool": "intermediate_pool"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert r.status_code == 200 and "已转入“中级储备库”" in r.text
    r = client.post(f"/api/v1/pools/graduations/{g['id']}/dismiss", headers=bearer(key), json={})
    assert r.status_code == 409
