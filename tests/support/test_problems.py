"""服务直通车 (冠政办发〔2023〕7号 二（四）11 "问题收集、限时办理、持续跟踪、销号管理"): a problem's life, its
deadline by category, the overdue lists and counts, township scoping, attachments, reports and the API the
municipal platform uses (by USCC), with problem changes on the change feed."""

import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.accounts.permissions import SYSTEM, user_principal
from app.audit.models import AuditEntry
from app.errors import Conflict, NotFound, ValidationFailed
from app.support import problems as service
from tests.conftest import bearer, login

TODAY = date.today()


def _new(db, ent, *, category="energy", raised=TODAY, unit=None, actor=SYSTEM):
    return service.create(
        db,
        actor=actor,
        enterprise_id=ent.id,
        category=category,
        title="变压器增容迟迟未批",
        description="新上生产线需增容 800 千伏安",
        raised_by="王经理",
        channel="visit",
        raised_date=raised,
        unit_kind="department" if unit else None,
        unit=unit,
    )


def test_a_problems_life_with_its_deadline_and_every_step(db, make):
    ent = make.enterprise(township="qingquan")
    p = _new(db, ent, raised=TODAY - timedelta(days=3))
    # 用能 problems are to be handled within 10 days (app/support/deadlines.yaml)
    assert p.deadline_date == TODAY - timedelta(days=3) + timedelta(days=10)
    assert p.status == "collected" and p.unit == "qingquan"
    service.transition(
        db, actor=SYSTEM, problem_id=p.id, action="assign", unit_kind="department", unit="国网冠县供电公司"
    )
    service.transition(db, actor=SYSTEM, problem_id=p.id, action="start")
    with pytest.raises(ValidationFailed) as e:  # 办结 must say what was done
        service.transition(db, actor=SYSTEM, problem_id=p.id, action="resolve")
    assert e.value.errors[0].field == "note"
    service.transition(db, actor=SYSTEM, problem_id=p.id, action="resolve", note="已完成增容批复")
    service.transition(db, actor=SYSTEM, problem_id=p.id, action="close")
    assert p.status == "closed" and p.resolved_date == TODAY and p.closed_date == TODAY
    with pytest.raises(Conflict):  # a closed problem is done
        service.transition(db, actor=SYSTEM, problem_id=p.id, action="resolve", note="再次办结")
    steps = service.steps(db, p)
    assert [s.action for s in steps] == ["collect", "assign", "start", "resolve", "close"]
    assert [s.to_status for s in steps] == ["collected", "assigned", "in_progress", "resolved", "closed"]
    audits = db.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity_type == "service_problem", AuditEntry.entity_id == str(p.id))
        .order_by(AuditEntry.id)
    ).all()
    assert audits == ["collect", "assign", "start", "resolve", "close"]


def test_return_needs_a_reason(db, make):
    p = _new(db, make.enterprise())
    with pytest.raises(ValidationFailed):
        service.transition(db, actor=SYSTEM, problem_id=p.id, action="return")
    service.transition(db, actor=SYSTEM, problem_id=p.id, action="return", note="属企业内部经营事项")
    assert p.status == "returned" and p.return_reason == "属企业内部经营事项"


def test_overdue_lists_and_counts_until_it_is_resolved(db, make):
    ent = make.enterprise(township="qingquan")
    late = _new(
        db, ent, category="policy", raised=TODAY - timedelta(days=20), unit="县工业和信息化局"
    )  # 7 days
    fresh = _new(db, ent, category="project", raised=TODAY - timedelta(days=2))  # 30 days
    assert late.deadline_date == TODAY - timedelta(days=13)
    assert service.is_overdue(late, TODAY) and not service.is_overdue(fresh, TODAY)
    c = service.counts(db, actor=SYSTEM)
    assert (c.open, c.overdue) == (2, 1)
    rows, _, total = service.list_problems(db, actor=SYSTEM, filters=service.ProblemFilters(overdue=True))
    assert total == 1 and rows[0].problem.id == late.id and rows[0].overdue
    assert service.overdue_by_unit(db, actor=SYSTEM) == [("department", "县工业和信息化局", 1)]
    # the deadline day itself is still in time
    assert not service.is_overdue(late, late.deadline_date)
    service.transition(db, actor=SYSTEM, problem_id=late.id, action="resolve", note="已解读政策并协助申报")
    assert service.counts(db, actor=SYSTEM).overdue == 0
    total_row = service.stats(db, actor=SYSTEM, by="all")[0]
    assert (total_row.total, total_row.resolved, total_row.late) == (2, 1, 1)  # resolved after its deadline
    assert total_row.overdue_rate == 50.0 and total_row.days_to_close == 20.0
    by_cat = {s.key: s for s in service.stats(db, actor=SYSTEM, by="category")}
    assert by_cat["policy"].late == 1 and by_cat["project"].open == 1


def test_township_staff_see_their_township_and_what_is_assigned_to_them(db, make, client):
    mine = make.enterprise(township="qingquan")
    other = make.enterprise(township="kaifaqu")
    theirs = _new(db, other)
    to_us = service.create(
        db,
        actor=SYSTEM,
        enterprise_id=other.id,
        category="labour",
        title="招工难",
        description="缺少熟练焊工",
        raised_by="李厂长",
        unit_kind="township",
        unit="qingquan",
    )
    ours = _new(db, mine)
    staff = make.user("township_staff", "qingquan")
    actor = user_principal(staff)
    with pytest.raises(NotFound):
        service.get(db, actor=actor, problem_id=theirs.id)
    with pytest.raises(NotFound):  # nor can they record one for another township's enterprise
        _new(db, other, actor=actor)
    ids = {r.problem.id for r in service.list_problems(db, actor=actor, filters=service.ProblemFilters())[0]}
    assert ids == {ours.id, to_us.id}
    login(client, staff)
    assert client.get(f"/support/problems/{theirs.id}").status_code == 404
    assert client.get(f"/api/v1/support/problems/{theirs.id}").status_code == 404
    assert client.get(f"/support/problems/{ours.id}").status_code == 200


def test_staff_record_and_close_through_the_pages_with_an_attachment(db, make, client):
    ent = make.enterprise(township="qingquan", name="冠县鑫源纺织有限公司")
    staff = make.user("township_staff", "qingquan")
    token = login(client, staff)
    h = {"X-CSRF-Token": token, "HX-Request": "true"}
    r = client.post(
        "/support/problems",
        headers=h,
        data={
            "enterprise_id": ent.id,
            "category": "funding",
            "title": "流动资金紧张",
            "description": "需要过桥贷款",
            "raised_by": "赵会计",
            "channel": "phone",
            "raised_date": TODAY.isoformat(),
            "unit_kind": "township",
            "unit_township": "qingquan",
        },
    )
    assert r.status_code == 200 and r.headers["HX-Redirect"].startswith("/support/problems/")
    pid = int(r.headers["HX-Redirect"].rsplit("/", 1)[1])
    r = client.post(
        "/support/problems",
        headers=h,
        data={
            "enterprise_id": ent.id,
            "category": "funding",
            "title": "",
            "description": "x",
            "raised_by": "y",
        },
    )
    assert r.status_code == 422 and "问题摘要：必填" in r.text
    r = client.post(
        f"/support/problems/{pid}/attachments",
        headers=h,
        files={"file": ("情况说明.txt", "贷款到期情况".encode(), "text/plain")},
    )
    assert r.status_code == 200 and "情况说明.txt" in r.text
    att = service.attachments(db, service.get(db, actor=SYSTEM, problem_id=pid))[0]
    got = client.get(f"/support/problems/{pid}/attachments/{att[0]}")
    assert got.content == "贷款到期情况".encode()
    r = client.post(f"/support/problems/{pid}/steps", headers=h, data={"action": "close"})
    assert r.status_code == 422 and "不能销号" in r.text
    for action, note in (("start", ""), ("resolve", "已对接县农商行过桥资金"), ("close", "企业确认满意")):
        r = client.post(f"/support/problems/{pid}/steps", headers=h, data={"action": action, "note": note})
        assert r.status_code == 200, r.text
    assert "已销号" in client.get(f"/support/problems/{pid}").text
    page = client.get(f"/enterprises/{ent.id}").text
    assert "没有未办结的诉求" in page


def test_municipal_platform_submits_by_uscc_and_reads_status_on_the_feed(db, make, client):
    ent = make.enterprise(township="yanzhuang")
    key = make.api_key(scopes=("support:read", "support:write", "changes:read"))
    body = {
        "uscc": ent.uscc,
        "category": "project",
        "title": "项目用地手续",
        "description": "新厂房用地规划许可",
        "raised_by": "企业办公室",
        "external_ref": "LC-2026-0001",
    }
    r = client.post("/api/v1/support/problems", json=body, headers=bearer(key))
    assert r.status_code == 201, r.text
    got = r.json()
    assert (
        got["channel"] == "platform"
        and got["status"] == "collected"
        and got["deadline_date"] == (TODAY + timedelta(days=30)).isoformat()
    )
    assert client.post("/api/v1/support/problems", json=body, headers=bearer(key)).status_code == 409
    r = client.post(
        "/api/v1/support/problems",
        json={**body, "external_ref": "LC-2", "uscc": "91371525MA3C0F0X4D"},
        headers=bearer(key),
    )
    assert r.status_code == 404
    r = client.get("/api/v1/support/problems", params={"uscc": ent.uscc}, headers=bearer(key))
    assert [i["external_ref"] for i in r.json()["items"]] == ["LC-2026-0001"]
    r = client.post(
        f"/api/v1/support/problems/{got['id']}/steps",
        json={"action": "assign", "unit_kind": "department", "unit": "县自然资源和规划局"},
        headers=bearer(key),
    )
    assert r.json()["status"] == "assigned" and [s["action"] for s in r.json()["steps"]] == [
        "collect",
        "assign",
    ]
    reader = make.api_key(scopes=("support:read",))
    assert client.post("/api/v1/support/problems", json=body, headers=bearer(reader)).status_code == 403
    entries = db.scalars(select(AuditEntry).where(AuditEntry.entity_type == "service_problem")).all()
    assert {e.enterprise_id for e in entries} == {ent.id} and {e.township for e in entries} == {"yanzhuang"}


def test_report_page_and_export_agree(db, make, client):
    ent = make.enterprise(township="qingquan")
    _new(db, ent, category="labour", raised=TODAY - timedelta(days=40))
    _new(db, ent, category="energy", raised=TODAY - timedelta(days=1))
    login(client, make.user())
    page = client.get("/support/report", params={"start": (TODAY - timedelta(days=60)).isoformat()}).text
    assert "用工" in page and "清泉街道" in page
    r = client.get("/support/report.xlsx", params={"start": (TODAY - timedelta(days=60)).isoformat()})
    wb = load_workbook(io.BytesIO(r.content))
    assert wb["诉求清单"].max_row == 3
    cat = {row[0].value: row[1].value for row in wb["按类别"].iter_rows(min_row=3) if row[0].value}
    assert cat["用工"] == 1 and cat["用能"] == 1 and cat["合计"] == 2
    assert "超期未办结" in client.get("/support").text
    assert client.get("/support/card").status_code == 200


def test_reports_by_month_and_days_to_close_on_sqlite_too(tmp_path):
    """`make run` serves an SQLite file: the 服务直通车 report groups by month and counts days to close there too."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from app.cli import run_migrations
    from app.enterprises import service as enterprise_service
    from app.enterprises.schemas import EnterpriseCreate

    url = f"sqlite:///{tmp_path / 'support.db'}"
    run_migrations(url)
    with Session(create_engine(url)) as s:
        ent = enterprise_service.create(
            s,
            actor=SYSTEM,
            data=EnterpriseCreate.model_validate(
                {
                    "uscc": "91371525MA3C00000N",
                    "name": "冠县测试机械有限公司",
                    "township": "qingquan",
                    "size": "small",
                    "above_scale": False,
                    "industry": "C3311",
                }
            ),
        )
        s.flush()
        raised = date(2026, 10, 5)
        p = _new(s, ent, category="policy", raised=raised)
        service.transition(
            s, actor=SYSTEM, problem_id=p.id, action="assign", unit_kind="department", unit="县工业和信息化局"
        )
        service.transition(s, actor=SYSTEM, problem_id=p.id, action="start")
        service.transition(s, actor=SYSTEM, problem_id=p.id, action="resolve", note="已解读政策并协助申报")
        p.resolved_date = raised + timedelta(days=12)
        s.flush()
        months = service.stats(s, actor=SYSTEM, by="month")
        assert [m.key for m in months] == ["2026-10"]
        assert months[0].total == 1 and months[0].days_to_close == 12.0
