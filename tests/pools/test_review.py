"""Yearly re-evaluation (冠政发〔2022〕9号 三（二）动态调整、五（四）动态监测): who leaves, who newly qualifies,
confirmed in one all-or-nothing request."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app.accounts.permissions import SYSTEM, user_principal
from app.audit.models import AuditEntry
from app.enterprises import service as enterprise_service
from app.enterprises.schemas import EnterpriseUpdate
from app.errors import ValidationFailed
from app.pools import graduation as pool_graduation
from app.pools import listing, membership
from app.pools import review as pool_review
from app.pools.models import PoolMembership, PoolReview
from app.pools.schemas import EnterIn, ReviewConfirm
from tests.conftest import bearer, login


def figs(main_2022, main_2023=None):
    out = [{"year": 2022, "main_revenue_yuan": main_2022}]
    if main_2023 is not None:
        out.append({"year": 2023, "main_revenue_yuan": main_2023})
    return out


@pytest.fixture
def county(db, firm):
    """初级培育库 members entered in 2023 on 2022 figures, and non-members, in two townships."""
    f = {
        "kept": firm(name="保留企业有限公司", figures=figs(6_000_000, 8_000_000)),
        "grown": firm(name="超出企业有限公司", figures=figs(6_000_000, 25_000_000)),
        "upscale": firm(name="升规企业有限公司", figures=figs(6_000_000, 19_000_000)),
        "nodata": firm(name="缺数企业有限公司", figures=figs(6_000_000)),
        "closed": firm(name="注销企业有限公司", figures=figs(6_000_000, 7_000_000)),
        "newly": firm(name="新符合企业有限公司", figures=figs(3_000_000, 6_000_000)),
        "already": firm(name="早已符合企业有限公司", figures=figs(7_000_000, 7_000_000)),
        "other_town": firm(
            name="开发区新符合有限公司", township="kaifaqu", figures=figs(3_000_000, 9_000_000)
        ),
    }
    for k in ("kept", "grown", "upscale", "nodata", "closed"):
        membership.enter(
            db,
            actor=SYSTEM,
            pool_code="primary_pool",
            data=EnterIn(enterprise_id=f[k].id, entered_date=date(2023, 2, 1), year=2022),
        )
    enterprise_service.update(
        db,
        actor=SYSTEM,
        enterprise_id=f["upscale"].id,
        data=EnterpriseUpdate(above_scale=True),
        if_match=None,
    )
    enterprise_service.delete(db, actor=SYSTEM, enterprise_id=f["closed"].id)
    return f


def names(rows):
    return {r.enterprise.name for r in rows}


def test_plan_lists_leavers_with_reasons_gaps_and_newcomers(db, county):
    plan = pool_review.review_plan(db, actor=SYSTEM, pool_code="primary_pool", year=2023)
    reasons = {r.enterprise.name: r.proposed_reason for r in plan.leaving}
    assert reasons == {
        "超出企业有限公司": "not_eligible",  # 主营业务收入 2,500 万元，高于 2000 万元
        "升规企业有限公司": "above_scale",  # the pool's goal, 首次升为规模以上企业
        "注销企业有限公司": "deregistered",
    }
    assert names(plan.missing_data) == {"缺数企业有限公司"}
    assert plan.kept == 1
    # newly: met in 2023, not in 2022; 早已符合 was a candidate last year already
    assert names(plan.entering) == {"新符合企业有限公司", "开发区新符合有限公司"}
    assert plan.entering_total == 2 and not plan.truncated
    assert {r.previous_candidacy for r in plan.entering} == {"failed"}
    assert {r.entry_class for r in plan.entering} == {"seed"}


def test_confirm_applies_every_change_and_audits_each(db, county):
    f = county
    review = pool_review.confirm_review(
        db,
        actor=SYSTEM,
        pool_code="primary_pool",
        data=ReviewConfirm(
            year=2023,
            review_date=date(2024, 1, 15),
            note="2023 年度调整",
            leave=[
                {"enterprise_id": f["grown"].id, "reason": "not_eligible"},
                {"enterprise_id": f["upscale"].id, "reason": "above_scale"},
                {"enterprise_id": f["closed"].id, "reason": "deregistered"},
            ],
            enter=[{"enterprise_id": f["newly"].id}, {"enterprise_id": f["other_town"].id}],
        ),
    )
    assert (review.left_count, review.entered_count) == (3, 2)
    current = set(
        db.scalars(
            select(PoolMembership.enterprise_id).where(
                PoolMembership.pool == "primary_pool", PoolMembership.left_date.is_(None)
            )
        )
    )
    assert current == {f["kept"].id, f["nodata"].id, f["newly"].id, f["other_town"].id}
    left = db.scalars(select(PoolMembership).where(PoolMembership.leave_review_id == review.id)).all()
    assert {(m.left_date, m.leave_reason) for m in left} == {
        (date(2024, 1, 15), "not_eligible"),
        (date(2024, 1, 15), "above_scale"),
        (date(2024, 1, 15), "deregistered"),
    }
    entered = db.scalars(select(PoolMembership).where(PoolMembership.entry_review_id == review.id)).all()
    assert {m.evaluated_year for m in entered} == {2023}
    actions = db.execute(
        select(AuditEntry.action, func.count())
        .where(
            AuditEntry.entity_type.in_(("pool_membership", "pool_review")),
            AuditEntry.at.is_not(None),
            AuditEntry.note.like("%"),
        )
        .group_by(AuditEntry.action)
    ).all()
    assert dict(actions) == {"pool_enter": 7, "pool_leave": 3, "pool_review": 1}  # 5 set-up entries + 2
    # the upscale firm's graduation proposal was settled by leaving for its goal
    grads = pool_graduation.graduations(db, actor=SYSTEM, pool_code="primary_pool", status=None)
    assert [(g.enterprise.id, g.graduation.status) for g in grads] == [(f["upscale"].id, "confirmed")]


def test_one_refused_item_writes_nothing(db, county):
    """enter[0] fails 二（一）1 (主营业务收入 2,500 万元) → 422 naming enter[0]; the valid leave is not applied."""
    f = county
    with pytest.raises(ValidationFailed) as e:
        pool_review.confirm_review(
            db,
            actor=SYSTEM,
            pool_code="primary_pool",
            data=ReviewConfirm(
                year=2023,
                leave=[{"enterprise_id": f["grown"].id}, {"enterprise_id": f["newly"].id}],
                enter=[{"enterprise_id": f["grown"].id, "entry_class": "seed"}, {"enterprise_id": 999_999}],
            ),
        )
    fields = [x.field for x in e.value.errors]
    assert fields == ["leave[1].enterprise_id", "enter[0].entry_class", "enter[1].enterprise_id"]
    assert "不在“初级培育库（基础种子库）”中" in e.value.errors[0].message
    assert "未找到企业 999999" in e.value.errors[2].message
    assert "未作任何修改" in e.value.detail
    assert db.scalar(select(func.count()).select_from(PoolReview)) == 0
    assert (
        db.scalar(select(PoolMembership.left_date).where(PoolMembership.enterprise_id == f["grown"].id))
        is None
    )


def test_refused_entry_names_the_criterion(db, county):
    f = county
    with pytest.raises(ValidationFailed) as e:
        pool_review.confirm_review(
            db,
            actor=SYSTEM,
            pool_code="primary_pool",
            data=ReviewConfirm(year=2023, enter=[{"enterprise_id": f["already"].id, "entry_class": "nope"}]),
        )
    assert e.value.errors[0].field == "enter[0].entry_class"
    with pytest.raises(ValidationFailed) as e:
        pool_review.confirm_review(
            db,
            actor=SYSTEM,
            pool_code="primary_pool",
            data=ReviewConfirm(
                year=2023, leave=[{"enterprise_id": f["kept"].id}, {"enterprise_id": f["kept"].id}]
            ),
        )
    assert e.value.errors[0].field == "leave[1].enterprise_id" and "重复" in e.value.errors[0].message


def test_review_year_without_figures(db, county):
    with pytest.raises(ValidationFailed) as e:
        pool_review.review_plan(db, actor=SYSTEM, pool_code="primary_pool", year=2030)
    assert e.value.errors[0].field == "year"


def test_township_staff_review_only_their_own(db, county, make):
    f = county
    staff = user_principal(make.user(role="township_staff", township="kaifaqu"))
    plan = pool_review.review_plan(db, actor=staff, pool_code="primary_pool", year=2023)
    assert plan.leaving == [] and plan.kept == 0
    assert names(plan.entering) == {"开发区新符合有限公司"}
    with pytest.raises(ValidationFailed) as e:
        pool_review.confirm_review(
            db,
            actor=staff,
            pool_code="primary_pool",
            data=ReviewConfirm(
                year=2023,
                leave=[{"enterprise_id": f["grown"].id}],
                enter=[{"enterprise_id": f["other_town"].id}],
            ),
        )
    assert e.value.errors[0].message == f"leave[0]：未找到企业 {f['grown'].id}"
    review = pool_review.confirm_review(
        db,
        actor=staff,
        pool_code="primary_pool",
        data=ReviewConfirm(year=2023, enter=[{"enterprise_id": f["other_town"].id}]),
    )
    assert review.township == "kaifaqu" and review.entered_count == 1


def test_review_through_the_api_and_the_page(client, make, county, db):
    f = county
    key = make.api_key(scopes=("pools:read", "pools:write"))
    plan = client.get("/api/v1/pools/primary_pool/review", headers=bearer(key), params={"year": 2023}).json()
    assert {r["proposed_reason_name"] for r in plan["leaving"]} == {"不再符合", "升规", "注销"}
    assert [r["enterprise_name"] for r in plan["missing_data"]] == ["缺数企业有限公司"]
    r = client.post(
        "/api/v1/pools/primary_pool/review",
        headers=bearer(key),
        json={
            "year": 2023,
            "leave": [{"enterprise_id": f["grown"].id}],
            "enter": [{"enterprise_id": f["grown"].id}],
        },
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "enter[0].entry_class"
    token = login(client, make.user())
    page = client.get("/pools/primary_pool/review", params={"year": 2023})
    assert page.status_code == 200 and "新符合企业有限公司" in page.text and "缺数企业有限公司" in page.text
    r = client.post(
        "/pools/primary_pool/review",
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
        data={
            "year": "2023",
            "leave": [str(f["grown"].id)],
            f"reason_{f['grown'].id}": "not_eligible",
            "enter": [str(f["newly"].id)],
            f"class_{f['newly'].id}": "seed",
            "review_date": "2024-01-10",
        },
    )
    assert r.status_code == 200, r.text
    assert "出库 1 家，入库 1 家" in r.text


def test_members_are_judged_by_the_rule_they_entered_by(db, firm):
    """2022 pool: a 小升规 member now at 营业收入 2,500 万 no longer meets 三（一）1 even though 三（一）2 (高成长性)
    could keep it on a person's judgement; a firm newly inside 1000–2000 万 is proposed, the judgement-only
    classes that held last year too are not "new"."""
    grown = firm(
        name="长大企业有限公司",
        figures=[{"year": 2022, "revenue_yuan": 15_000_000}, {"year": 2023, "revenue_yuan": 25_000_000}],
    )
    newly = firm(
        name="刚达标企业有限公司",
        figures=[{"year": 2022, "revenue_yuan": 9_000_000}, {"year": 2023, "revenue_yuan": 10_000_000}],
    )
    firm(
        name="一直在范围内有限公司",
        figures=[{"year": 2022, "revenue_yuan": 12_000_000}, {"year": 2023, "revenue_yuan": 12_000_000}],
    )
    membership.enter(
        db,
        actor=SYSTEM,
        pool_code="yumiao_pool",
        data=EnterIn(
            enterprise_id=grown.id, entry_class="xiaoshenggui", entered_date=date(2023, 1, 10), year=2022
        ),
    )
    plan = pool_review.review_plan(db, actor=SYSTEM, pool_code="yumiao_pool", year=2023)
    (row,) = plan.leaving
    assert (row.enterprise.id, row.candidacy, row.proposed_reason) == (grown.id, "failed", "not_eligible")
    assert row.other_classes == ["high_growth", "applying"]
    assert [(r.enterprise.id, r.entry_class, r.candidacy, r.previous_candidacy) for r in plan.entering] == [
        (newly.id, "xiaoshenggui", "met", "failed")
    ]
    rows, _, _ = listing.members_page(
        db,
        actor=SYSTEM,
        pool_code="yumiao_pool",
        filters=listing.PoolFilters(year=2023, candidacy=["failed"]),
    )
    assert [r.enterprise.id for r in rows] == [grown.id]


def test_graduation_is_a_change_while_in_the_pool(db, firm):
    """冠政发〔2022〕9号 三（二）动态调整: the goal 首次升为规模以上工业企业 is graduation only when the firm became
    规上 while a member. A firm already 规上 when it entered as 高成长性中小企业 (三（一）2) that later fails its
    class (no longer 中小企业) leaves as not eligible, and nothing is confirmed as a graduation."""
    already = firm(
        name="入库时已规上企业有限公司", above_scale=True, size="medium", figures=figs(30_000_000, 40_000_000)
    )
    grew = firm(name="在库期间升规企业有限公司", size="small", figures=figs(15_000_000, 19_000_000))
    membership.enter(
        db,
        actor=SYSTEM,
        pool_code="yumiao_pool",
        data=EnterIn(
            enterprise_id=already.id, entry_class="high_growth", entered_date=date(2023, 2, 1), year=2022
        ),
    )
    membership.enter(
        db,
        actor=SYSTEM,
        pool_code="yumiao_pool",
        data=EnterIn(
            enterprise_id=grew.id, entry_class="high_growth", entered_date=date(2023, 2, 1), year=2022
        ),
    )
    # Both are 规上 and large by 2023: one was 规上 on entry, the other became 规上 while a member.
    enterprise_service.update(
        db, actor=SYSTEM, enterprise_id=already.id, data=EnterpriseUpdate(size="large"), if_match=None
    )
    enterprise_service.update(
        db,
        actor=SYSTEM,
        enterprise_id=grew.id,
        data=EnterpriseUpdate(above_scale=True, size="large"),
        if_match=None,
    )
    plan = pool_review.review_plan(db, actor=SYSTEM, pool_code="yumiao_pool", year=2023)
    reasons = {r.enterprise.name: r.proposed_reason for r in plan.leaving}
    assert reasons == {"入库时已规上企业有限公司": "not_eligible", "在库期间升规企业有限公司": "above_scale"}
    pool_review.confirm_review(
        db,
        actor=SYSTEM,
        pool_code="yumiao_pool",
        data=ReviewConfirm(
            year=2023,
            review_date=date(2024, 1, 15),
            leave=[{"enterprise_id": r.enterprise.id, "reason": r.proposed_reason} for r in plan.leaving],
        ),
    )
    grads = pool_graduation.graduations(db, actor=SYSTEM, pool_code="yumiao_pool", status=None)
    assert [(g.enterprise.id, g.graduation.status) for g in grads] == [(grew.id, "confirmed")]
