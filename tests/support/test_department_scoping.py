"""County departments (冠政办发〔2023〕7号 二（四）11: 服务专员 sent by county departments; problems 交办 to the unit
responsible): a department's staff see and handle the 服务直通车 problems assigned to their department and the firms
their department's 服务专员 look after — everything else is a 404, like another township's enterprise to township
staff. The walk covers every route with a problem, visit, task or enterprise in its path, so a route added later is
checked too."""

import re
from datetime import date, timedelta

from app.accounts.permissions import SYSTEM
from app.support import problems as service
from app.support import visits
from tests.conftest import login
from tests.test_township_scoping import flat_routes

ITS, COMMERCE = "县工业和信息化局", "县商务局"
TODAY = date.today()
ID_PARAMS = {"problem_id", "visit_id", "task_id", "enterprise_id", "uscc", "attachment_id"}
FILLERS = {"year": "2024", "honour_id": "1", "month": "2024-01", "officer_id": "1"}


def _world(db, make):
    """Two departments, each with a 服务专员 and a firm; a problem assigned to each department; a visit and a plan
    on each firm."""
    mine = make.enterprise(township="qingquan", name="工信帮包企业有限公司")
    other = make.enterprise(township="qingquan", name="商务帮包企业有限公司")
    o_mine = visits.create_officer(db, actor=SYSTEM, name="李专员", department=ITS, phone=None)
    o_other = visits.create_officer(db, actor=SYSTEM, name="赵专员", department=COMMERCE, phone=None)
    visits.assign_officer(
        db, actor=SYSTEM, enterprise_id=mine.id, officer_id=o_mine.id, start_date=TODAY - timedelta(days=30)
    )
    visits.assign_officer(
        db, actor=SYSTEM, enterprise_id=other.id, officer_id=o_other.id, start_date=TODAY - timedelta(days=30)
    )

    def problem(ent, unit_kind, unit, title):
        return service.create(
            db,
            actor=SYSTEM,
            enterprise_id=ent.id,
            category="energy",
            title=title,
            description="增容",
            raised_by="王经理",
            unit_kind=unit_kind,
            unit=unit,
            raised_date=TODAY - timedelta(days=20),
        )

    world = {
        "mine": mine,
        "other": other,
        "o_mine": o_mine,
        "o_other": o_other,
        "p_mine": problem(
            other, "department", ITS, "交办工信局的用能诉求"
        ),  # another firm's problem, but ours to handle
        "p_other": problem(mine, "department", COMMERCE, "交办商务局的诉求"),
        "p_town": problem(mine, "township", "qingquan", "交办清泉街道的诉求"),
    }
    for key, ent in (("mine", mine), ("other", other)):
        world[f"v_{key}"] = visits.record_visit(
            db,
            actor=SYSTEM,
            enterprise_id=ent.id,
            visit_date=TODAY - timedelta(days=3),
            visitors="专员",
            findings="走访",
        )
        plan = visits.create_plan(
            db,
            actor=SYSTEM,
            enterprise_id=ent.id,
            title="一企一策",
            tasks=[("完成能耗诊断", TODAY - timedelta(days=1))],
            plan_date=TODAY - timedelta(days=10),
        )
        world[f"t_{key}"] = visits._with_tasks(db, [plan])[0].tasks[0]
    db.flush()
    return world


def _routes(app):
    for r in flat_routes(app.routes):
        params = set(re.findall(r"{(\w+)(?::\w+)?}", r.path))
        if params & ID_PARAMS:
            for m in r.methods - {"HEAD", "OPTIONS"}:
                yield m, r.path, params


def _fill(path, params, values):
    out = path
    for p in params:
        out = re.sub(r"{" + p + r"(?::\w+)?}", str(values.get(p, FILLERS.get(p, "1"))), out)
    return out


def _ids(w, side):
    ent = w[side]
    return {
        "problem_id": w[f"p_{side}"].id,
        "visit_id": w[f"v_{side}"].id,
        "task_id": w[f"t_{side}"].id,
        "enterprise_id": ent.id,
        "uscc": ent.uscc,
        "attachment_id": 1,
    }


def test_a_department_sees_only_its_problems_and_firms_on_every_route(app, client, db, make):
    w = _world(db, make)
    token = login(client, make.user(role="department_staff", department=ITS))
    headers = {"X-CSRF-Token": token, "If-Match": '"1"'}
    checked = 0
    for method, path, params in _routes(app):
        url = _fill(path, params, _ids(w, "other"))
        if method == "POST" and path.endswith("/attachments"):
            r = client.post(url, headers=headers, files={"file": ("说明.txt", b"x", "text/plain")})
        else:
            body = {"action": "progress", "note": "办理中"} if path.endswith("/steps") else {}
            r = client.request(
                method, url, headers=headers, json=body if method in ("POST", "PUT", "PATCH") else None
            )
        assert r.status_code in (403, 404), f"{method} {url} gave {r.status_code}: {r.text[:200]}"
        if params & {"problem_id", "visit_id", "task_id", "enterprise_id", "uscc"} and r.status_code == 403:
            # a scope the department lacks may answer first; nothing of the other department is shown either way
            assert "商务帮包企业有限公司" not in r.text and "交办商务局的诉求" not in r.text
        checked += 1
    assert checked >= 20
    # the township's problem is not the department's either
    assert client.get(f"/support/problems/{w['p_town'].id}").status_code == 404
    assert client.get(f"/api/v1/support/problems/{w['p_town'].id}", headers=headers).status_code == 404
    # its own: the problem (on a firm it does not look after), its firm, the visit and the plan task
    assert client.get(f"/support/problems/{w['p_mine'].id}").status_code == 200
    assert client.get(f"/enterprises/{w['mine'].id}").status_code == 200
    assert client.get(f"/support/visits/{w['v_mine'].id}").status_code == 200
    r = client.post(
        f"/support/problems/{w['p_mine'].id}/steps", data={"csrf_token": token, "action": "start"}
    )
    assert r.status_code in (200, 303), r.text[:300]
    db.refresh(w["p_mine"])
    assert w["p_mine"].status == "in_progress"
    done = client.post(f"/api/v1/support/plan-tasks/{w['t_mine'].id}/done", headers=headers, json={})
    assert done.status_code == 200, done.text


def test_a_departments_lists_reports_and_dashboards_hold_only_its_own(client, db, make):
    w = _world(db, make)
    login(client, make.user(role="department_staff", department=ITS))
    assert client.get("/", follow_redirects=False).headers["location"] == "/support"
    page = client.get("/support").text
    assert (
        "交办工信局的用能诉求" in page and "交办商务局的诉求" not in page and "交办清泉街道的诉求" not in page
    )
    api = client.get("/api/v1/support/problems").json()
    assert [p["title"] for p in api["items"]] == ["交办工信局的用能诉求"]
    stats = client.get("/api/v1/support/problems/stats", params={"by": "unit"}).json()
    assert sum(s["total"] for s in stats) == 1
    board = client.get("/support/visits").text
    assert "李专员" in board and "赵专员" not in board
    firms = client.get("/enterprises").text
    assert "工信帮包企业有限公司" in firms and "商务帮包企业有限公司" not in firms
    # collecting a problem on its firm: the department handles it unless it hands it on
    p = service.create(
        db,
        actor=_principal(db, make),
        enterprise_id=w["mine"].id,
        category="labour",
        title="招工难",
        description="缺焊工 20 名",
        raised_by="人事",
        raised_date=TODAY,
    )
    assert (p.unit_kind, p.unit) == ("department", ITS)
    # it cannot hand a firm to another department's 服务专员
    import pytest

    from app.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="只能指派本部门"):
        visits.assign_officer(
            db,
            actor=_principal(db, make),
            enterprise_id=w["mine"].id,
            officer_id=w["o_other"].id,
            start_date=TODAY,
        )


def _principal(db, make):
    from app.accounts.permissions import user_principal

    return user_principal(make.user(role="department_staff", department=ITS))


def test_the_admin_sets_a_users_department_on_the_users_page(client, db, make):
    from sqlalchemy import select

    from app.audit.models import AuditEntry

    staff = make.user(role="county_viewer", username="lisi")
    token = login(client, make.user(role="county_admin"))
    page = client.get("/admin/users")
    assert page.status_code == 200 and "lisi" in page.text and "县直部门工作人员" in page.text
    bad = client.post(
        f"/admin/users/{staff.id}", data={"csrf_token": token, "role": "department_staff", "department": ""}
    )
    assert bad.status_code == 422 and "县直部门工作人员须填写所属部门" in bad.text
    db.refresh(staff)
    assert staff.role == "county_viewer"
    ok = client.post(
        f"/admin/users/{staff.id}", data={"csrf_token": token, "role": "department_staff", "department": ITS}
    )
    assert ok.status_code in (200, 303)
    db.refresh(staff)
    assert (staff.role, staff.department) == ("department_staff", ITS)
    entry = db.scalar(
        select(AuditEntry).where(AuditEntry.entity_type == "app_user", AuditEntry.entity_id == str(staff.id))
    )
    assert entry.changes == {"role": ["county_viewer", "department_staff"], "department": [None, ITS]}
    login(client, make.user(role="county_viewer"))
    assert client.get("/admin/users").status_code == 403


def test_the_menu_offers_a_department_only_the_sections_it_may_open(client, db, make):
    """A 县直部门 user reads firms and handles 助企服务: the menu links to those two and no section answering 403;
    township staff keep every section."""
    nav = re.compile(r"<nav[^>]*>(.*?)</nav>", re.S)

    login(client, make.user("department_staff", department=ITS))
    menu = nav.search(client.get("/support").text).group(1)
    assert re.findall(r'href="(/[a-z-]*)"', menu) == ["/", "/enterprises", "/support"]
    for path in re.findall(r'href="(/[a-z-]+)"', menu):
        assert client.get(path).status_code == 200, path
    tabs = re.search(r'<div class="tabs noprint">(.*?)</div>', client.get("/support").text, re.S).group(1)
    for path in re.findall(r'href="(/[a-z/-]+)"', tabs):  # the 助企服务 tabs: none answers 403
        assert client.get(path).status_code == 200, path
    assert "/registers" not in tabs and "/evaluation" not in tabs

    client.cookies.clear()
    login(client, make.user("township_staff", township="qingquan"))
    menu = nav.search(client.get("/support").text).group(1)
    assert re.findall(r'href="(/[a-z-]*)"', menu) == [
        "/",
        "/enterprises",
        "/pools",
        "/targets",
        "/filings",
        "/awards",
        "/support",
        "/policies",
    ]
