"""服务专员 (冠政办发〔2023〕7号 二（四）11), 定期走访 (冠政发〔2022〕9号 四（六）) and 一企一策 plans (四（七）):
assignments with their history, the 助企远航 flag, visits that raise problems, plans with overdue tasks, and the
dashboards of firms not visited in N days."""

from datetime import date, timedelta

import pytest

from app.accounts.permissions import SYSTEM, user_principal
from app.errors import Conflict, NotFound, ValidationFailed
from app.support import problems, visits
from tests.conftest import login

TODAY = date.today()


def test_reassignment_keeps_the_history(db, make):
    ent = make.enterprise()
    a = visits.create_officer(
        db, actor=SYSTEM, name="张伟", department="县工业和信息化局", phone="13906351101"
    )
    b = visits.create_officer(db, actor=SYSTEM, name="刘洋", department="县发展和改革局", phone=None)
    visits.assign_officer(
        db, actor=SYSTEM, enterprise_id=ent.id, officer_id=a.id, start_date=TODAY - timedelta(days=200)
    )
    with pytest.raises(Conflict):
        visits.assign_officer(db, actor=SYSTEM, enterprise_id=ent.id, officer_id=a.id)
    visits.assign_officer(
        db, actor=SYSTEM, enterprise_id=ent.id, officer_id=b.id, start_date=TODAY - timedelta(days=10)
    )
    hist = visits.assignments(db, actor=SYSTEM, enterprise_id=ent.id)
    assert [(o.name, x.end_date) for x, o in hist] == [("刘洋", None), ("张伟", TODAY - timedelta(days=11))]
    with pytest.raises(ValidationFailed):
        visits.create_officer(db, actor=SYSTEM, name="王", department="县商务局", phone="电话")


def test_voyage_list_is_a_flag_with_its_source_notice(db, make):
    ent = make.enterprise()
    v = visits.list_voyage(db, actor=SYSTEM, enterprise_id=ent.id)
    assert "46" in v.source and visits.voyage_count(db, actor=SYSTEM) == 1
    with pytest.raises(Conflict):
        visits.list_voyage(db, actor=SYSTEM, enterprise_id=ent.id)


def test_quiet_firms_and_plans_with_overdue_tasks(db, make):
    officer = visits.create_officer(db, actor=SYSTEM, name="陈静", department="县科学技术局", phone=None)
    visited, quiet, never = (make.enterprise() for _ in range(3))
    for e in (visited, quiet, never):
        visits.assign_officer(
            db,
            actor=SYSTEM,
            enterprise_id=e.id,
            officer_id=officer.id,
            start_date=TODAY - timedelta(days=300),
        )
    make.enterprise()  # no officer, not on the list: not followed
    visits.record_visit(
        db,
        actor=SYSTEM,
        enterprise_id=visited.id,
        visit_date=TODAY - timedelta(days=10),
        visitors="陈静",
        findings="正常",
        officer_id=officer.id,
    )
    diag = visits.record_visit(
        db,
        actor=SYSTEM,
        enterprise_id=quiet.id,
        visit_date=TODAY - timedelta(days=120),
        visitors="专家组",
        findings="现场管理薄弱",
        kind="diagnosis",
    )
    plan = visits.create_plan(
        db,
        actor=SYSTEM,
        enterprise_id=quiet.id,
        title="一企一策",
        visit_id=diag.id,
        plan_date=diag.visit_date,
        tasks=[("推行 6S", TODAY - timedelta(days=30)), ("上 ERP", TODAY + timedelta(days=60))],
    )
    rows, total = visits.quiet_firms(db, actor=SYSTEM, days=90)
    assert total == 2 and [r.enterprise_id for r in rows] == [never.id, quiet.id]  # never visited first
    late = visits.plans_with_overdue_tasks(db, actor=SYSTEM)
    assert [pv.plan.id for pv in late] == [plan.id] and [t.title for t in late[0].overdue_tasks(TODAY)] == [
        "推行 6S"
    ]
    board = visits.officer_board(db, actor=SYSTEM, days=90)
    assert [(b.firms, b.visits, b.quiet, b.overdue_plans) for b in board] == [(3, 1, 2, 1)]
    first = late[0].tasks[0]
    visits.complete_task(db, actor=SYSTEM, task_id=first.id)
    assert visits.plans_with_overdue_tasks(db, actor=SYSTEM) == []
    with pytest.raises(Conflict):
        visits.complete_task(db, actor=SYSTEM, task_id=first.id)
    with pytest.raises(ValidationFailed) as e:
        visits.create_plan(
            db, actor=SYSTEM, enterprise_id=quiet.id, title="x", tasks=[("a", TODAY - timedelta(days=400))]
        )
    assert e.value.errors[0].field == "tasks.1.due_date"
    c = visits.visit_counts(db, actor=SYSTEM, start=TODAY - timedelta(days=365), end=TODAY)
    assert (c.visits, c.diagnoses, c.firms_visited, c.plans, c.tasks_done, c.tasks_overdue) == (
        1,
        1,
        2,
        1,
        1,
        0,
    )


def test_township_staff_record_a_visit_and_a_problem_from_it(db, make, client):
    ent = make.enterprise(township="qingquan", name="冠县恒丰机械有限公司")
    other = make.enterprise(township="kaifaqu")
    staff = make.user("township_staff", "qingquan")
    token = login(client, staff)
    h = {"X-CSRF-Token": token, "HX-Request": "true"}
    r = client.post(
        "/support/visits",
        headers=h,
        data={
            "enterprise_id": ent.id,
            "visit_date": TODAY.isoformat(),
            "visitors": "乡镇经发办 李明",
            "findings": "反映用电紧张",
        },
    )
    assert r.status_code == 200, r.text
    vid = int(r.headers["HX-Redirect"].rsplit("/", 1)[1])
    page = client.get(f"/support/visits/{vid}").text
    assert "登记诉求" in page and f"visit_id={vid}" in page
    r = client.post(
        "/support/problems",
        headers=h,
        data={
            "enterprise_id": ent.id,
            "visit_id": vid,
            "category": "energy",
            "title": "用电紧张",
            "description": "需增容",
            "raised_by": "厂长",
            "channel": "visit",
        },
    )
    assert r.status_code == 200
    assert "用电紧张" in client.get(f"/support/visits/{vid}").text
    r = client.post(
        "/support/visits",
        headers=h,
        data={"enterprise_id": other.id, "visit_date": TODAY.isoformat(), "visitors": "x", "findings": "y"},
    )
    assert r.status_code == 404
    other_visit = visits.record_visit(
        db, actor=SYSTEM, enterprise_id=other.id, visit_date=TODAY, visitors="x", findings="y"
    )
    assert client.get(f"/support/visits/{other_visit.id}").status_code == 404
    with pytest.raises(NotFound):
        visits.get_visit(db, actor=user_principal(staff), visit_id=other_visit.id)
    r = client.post(
        "/support/visits",
        headers=h,
        data={
            "enterprise_id": ent.id,
            "visit_date": (TODAY + timedelta(days=1)).isoformat(),
            "visitors": "x",
            "findings": "y",
        },
    )
    assert r.status_code == 422 and "晚于今天" in r.text
    page = client.get(f"/enterprises/{ent.id}").text
    assert "用电紧张" in page and "乡镇经发办 李明" in page
    assert client.get("/support/visits").status_code == 200
    p = problems.list_problems(db, actor=SYSTEM, filters=problems.ProblemFilters(enterprise_id=ent.id))[0][
        0
    ].problem
    assert p.visit_id == vid and p.channel == "visit"


def test_county_assigns_officer_and_lists_voyage_on_the_enterprise_page(db, make, client):
    ent = make.enterprise()
    o = visits.create_officer(db, actor=SYSTEM, name="杨帆", department="县商务局", phone="13906351104")
    token = login(client, make.user())
    h = {"X-CSRF-Token": token, "HX-Request": "true"}
    r = client.post(
        f"/enterprises/{ent.id}/officer",
        headers=h,
        data={"officer_id": o.id, "start_date": TODAY.isoformat()},
    )
    assert r.status_code == 200 and "杨帆" in r.text and "已指派服务专员" in r.text
    r = client.post(f"/enterprises/{ent.id}/voyage", headers=h, data={})
    assert "助企远航企业" in r.text
    r = client.get("/support/visits", params={"officer_id": o.id})
    assert r.status_code == 200 and "杨帆 的帮包企业" in r.text


def test_the_visits_api(db, make, client):
    from tests.conftest import bearer

    ent = make.enterprise(township="qingquan")
    key = make.api_key(scopes=("support:read", "support:write"))
    h = bearer(key)
    o = client.post(
        "/api/v1/support/officers",
        headers=h,
        json={"name": "孙丽", "department": "县行政审批服务局", "phone": "13906351106"},
    )
    assert o.status_code == 201
    r = client.post(
        "/api/v1/support/assignments",
        headers=h,
        json={
            "enterprise_id": ent.id,
            "officer_id": o.json()["id"],
            "start_date": (TODAY - timedelta(days=200)).isoformat(),
        },
    )
    assert r.status_code == 201 and r.json()["end_date"] is None
    assert [q["enterprise_id"] for q in client.get("/api/v1/support/quiet-firms", headers=h).json()] == [
        ent.id
    ]
    v = client.post(
        "/api/v1/support/visits",
        headers=h,
        json={
            "enterprise_id": ent.id,
            "kind": "diagnosis",
            "visit_date": TODAY.isoformat(),
            "visitors": "专家组",
            "findings": "诊断",
        },
    )
    assert v.status_code == 201 and client.get("/api/v1/support/quiet-firms", headers=h).json() == []
    p = client.post(
        "/api/v1/support/plans",
        headers=h,
        json={
            "enterprise_id": ent.id,
            "title": "一企一策",
            "visit_id": v.json()["id"],
            "plan_date": (TODAY - timedelta(days=30)).isoformat(),
            "tasks": [{"title": "推行 6S", "due_date": (TODAY - timedelta(days=1)).isoformat()}],
        },
    )
    assert p.status_code == 201 and p.json()["overdue_tasks"] == 1
    assert [x["id"] for x in client.get("/api/v1/support/plans/overdue", headers=h).json()] == [
        p.json()["id"]
    ]
    task = p.json()["tasks"][0]["id"]
    assert (
        client.post(f"/api/v1/support/plan-tasks/{task}/done", headers=h, json={}).json()["done_date"]
        == TODAY.isoformat()
    )
    assert client.post(f"/api/v1/support/plan-tasks/{task}/done", headers=h, json={}).status_code == 409
    assert client.get("/api/v1/support/plans/overdue", headers=h).json() == []
