"""The registers that feed the goals: training (冠政发〔2022〕9号 二（三）: about 100 数字专员 and 100 现代管理人员
over 2022–2024), 数字化测评 (冠政办发〔2023〕7号 二（三）9: 120 in 2023, attachment row 5) and projects. Entry,
township scoping, .xlsx import that refuses a bad cell and writes nothing, and the goals measured from them."""

import io
from datetime import date

import pytest
import xlsxwriter
from sqlalchemy import func, select

from app.accounts.permissions import SYSTEM, user_principal
from app.errors import NotFound, ValidationFailed
from app.registers import service
from app.registers.models import DigitalAssessment, TrainingRecord
from app.targets import service as target_service
from tests.conftest import bearer, login


def xlsx(rows: list[list]) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if v is not None:
                ws.write(r, c, v)
    wb.close()
    return buf.getvalue()


TRAINING_HEAD = ["统一社会信用代码", "培训类别", "课程名称", "学员姓名", "职务", "培训日期"]


def test_training_import_refuses_a_bad_cell_and_writes_nothing(db, make):
    a, b = make.enterprise(township="qingquan"), make.enterprise(township="kaifaqu")
    bad = xlsx(
        [
            TRAINING_HEAD,
            [a.uscc, "数字专员培训", "工业互联网应用", "张三", "信息主管", "2023-05-06"],
            [b.uscc, "数字专员培训", "工业互联网应用", "李四", None, "2023-13-01"],
            [a.uscc, "网红培训", "直播带货", "王五", None, "2023-05-06"],
        ]
    )
    with pytest.raises(ValidationFailed) as e:
        service.import_xlsx(db, actor=SYSTEM, register="training", data=bad)
    msgs = [x.message for x in e.value.errors]
    assert msgs == [
        "第 3 行“培训日期”（F3）：“2023-13-01”不是有效日期",
        "第 4 行“培训类别”（B4）：“网红培训”不是有效的培训类别，应为：数字专员培训、现代管理人员培训、企业家培训",
    ]
    assert db.scalar(select(func.count(TrainingRecord.id))) == 0
    good = xlsx(
        [
            TRAINING_HEAD,
            [a.uscc, "数字专员培训", "工业互联网应用", "张三", "信息主管", "2023-05-06"],
            [b.uscc, "现代管理人员培训", "精益生产", "李四", None, "2022/11/20"],
        ]
    )
    assert service.import_xlsx(db, actor=SYSTEM, register="training", data=good).created == 2
    # township staff: another township's enterprise is an error naming the cell, and nothing is written
    staff = user_principal(make.user("township_staff", "qingquan"))
    with pytest.raises(ValidationFailed) as e:
        service.import_xlsx(db, actor=staff, register="training", data=good)
    assert [x.message for x in e.value.errors] == [
        f"第 3 行“统一社会信用代码”（A3）：{b.uscc} 未登记或不属于本乡镇"
    ]
    assert db.scalar(select(func.count(TrainingRecord.id))) == 2
    rows, _, total = service.list_records(db, actor=staff, register="training")
    assert total == 1 and rows[0].record.participant == "张三"


def test_assessment_and_project_imports_name_the_cell(db, make):
    a = make.enterprise()
    with pytest.raises(ValidationFailed) as e:
        service.import_xlsx(
            db,
            actor=SYSTEM,
            register="assessments",
            data=xlsx(
                [
                    ["统一社会信用代码", "测评日期", "测评等级", "测评得分", "测评机构"],
                    [a.uscc, "2023-06-01", "五级", 101, "省中小企业服务中心"],
                ]
            ),
        )
    assert [x.message for x in e.value.errors] == [
        "第 2 行“测评等级”（C2）：“五级”不是有效的测评等级，应为：一级、二级、三级、四级",
        "第 2 行“测评得分”（D2）：101 超出范围 0–100",
    ]
    with pytest.raises(ValidationFailed) as e:
        service.import_xlsx(
            db,
            actor=SYSTEM,
            register="projects",
            data=xlsx(
                [
                    [
                        "统一社会信用代码",
                        "项目名称",
                        "项目类型",
                        "建设阶段",
                        "计划总投资（元）",
                        "开工日期",
                        "竣工日期",
                    ],
                    [a.uscc, "智能化改造", "技改项目", "已竣工", "一千万", "2023-03-01", None],
                ]
            ),
        )
    assert [x.message for x in e.value.errors] == [
        "第 2 行“计划总投资（元）”（E2）：“一千万”不是整数",
        "第 2 行“竣工日期”（G2）：已竣工的项目须填写竣工日期",
    ]
    with pytest.raises(ValidationFailed) as e:
        service.import_xlsx(
            db, actor=SYSTEM, register="assessments", data=xlsx([["统一社会信用代码", "测评日期"]])
        )
    assert "缺少列：测评等级" in e.value.errors[0].message


def test_two_2022_goals_and_attachment_row_5_are_measured_from_the_registers(db, make, reference):  # noqa: F811
    """冠政发〔2022〕9号 二（三）: 培训 100 名左右数字专员 / 现代管理人员 (2022–2024, persons);
    冠政办发〔2023〕7号 附件第 5 行: 120 家中小企业数字化测评 in 2023, qingquan 8 of them (enterprises, each once)."""
    q1, q2, k = (
        make.enterprise(township="qingquan"),
        make.enterprise(township="qingquan"),
        make.enterprise(township="kaifaqu"),
    )
    for ent, who, kind, when in [
        (q1, "张三", "digital_officer", "2022-06-01"),
        (q1, "李四", "digital_officer", "2023-06-01"),
        (k, "王五", "digital_officer", "2024-12-31"),
        (k, "赵六", "digital_officer", "2025-01-02"),
        (q2, "孙七", "modern_manager", "2023-03-03"),
        (q2, "周八", "entrepreneur", "2023-03-03"),
    ]:
        service.create(
            db,
            actor=SYSTEM,
            register="training",
            values={
                "uscc": ent.uscc,
                "course_kind": kind,
                "course_name": "课程",
                "participant": who,
                "training_date": when,
            },
        )
    for ent, when in [(q1, "2023-02-01"), (q1, "2023-08-01"), (q2, "2023-05-05"), (k, "2022-12-30")]:
        service.create(
            db,
            actor=SYSTEM,
            register="assessments",
            values={"uscc": ent.uscc, "assessment_date": when, "level": "2"},
        )
    goals = target_service.progress_matrix(db, actor=SYSTEM, key="2022-2024", as_of=date(2026, 11, 30))
    by = {r.indicator.code: r for r in goals.rows}
    assert (
        by["digital_commissioners"].available and by["digital_commissioners"].county.actual == 3
    )  # 2025 is outside
    assert by["modern_managers"].county.actual == 1 and by["modern_managers"].county.target == 100
    row5 = target_service.indicator_progress(
        db, actor=SYSTEM, key="2023", code="digital_assessment", as_of=date(2023, 12, 31)
    )[1]
    assert row5.available
    assert (row5.townships["qingquan"].actual, row5.townships["qingquan"].target) == (2, 8)  # q1 counted once
    assert row5.townships["kaifaqu"].actual == 0 and row5.county.actual == 2
    cell = target_service.cell_enterprises(
        db, actor=SYSTEM, key="2023", code="digital_assessment", township="qingquan", as_of=date(2023, 12, 31)
    )[2]
    assert cell.total == 2 and "数字化测评 二级（2023-02-01）；数字化测评 二级（2023-08-01）" in {
        r.basis for r in cell.rows
    }


def test_pages_and_api(db, make, client):
    ent = make.enterprise(township="qingquan")
    other = make.enterprise(township="kaifaqu")
    token = login(client, make.user("township_staff", "qingquan"))
    h = {"X-CSRF-Token": token, "HX-Request": "true"}
    r = client.post(
        "/registers/assessments",
        headers=h,
        data={"uscc": ent.uscc, "assessment_date": "2023-07-01", "level": "3"},
    )
    assert r.status_code == 200 and "已登记" in r.text and "三级" in r.text
    r = client.post(
        "/registers/assessments",
        headers=h,
        data={"uscc": other.uscc, "assessment_date": "2023-07-01", "level": "3"},
    )
    assert r.status_code == 422 and "不属于本乡镇" in r.text
    bad = xlsx([["统一社会信用代码", "测评日期", "测评等级"], [ent.uscc, "明天", "三级"]])
    r = client.post(
        "/registers/assessments/import",
        headers=h,
        files={"file": ("a.xlsx", bad, "application/octet-stream")},
    )
    assert r.status_code == 422 and "第 2 行“测评日期”（B2）" in r.text
    assert db.scalar(select(func.count(DigitalAssessment.id))) == 1
    page = client.get("/registers", params={"register": "assessments"}).text
    assert 'id="goal-assessed">1<' in page
    key = make.api_key(scopes=("registers:read", "registers:write"))
    r = client.post(
        "/api/v1/registers/projects",
        headers=bearer(key),
        json={
            "uscc": other.uscc,
            "name": "强链项目",
            "kind": "key_chain",
            "stage": "under_construction",
            "investment_yuan": 120_000_000,
            "start_date": "2023-04-01",
        },
    )
    assert r.status_code == 201, r.text
    r = client.get(
        "/api/v1/registers/totals", headers=bearer(key), params={"start": "2023-01-01", "end": "2023-12-31"}
    )
    assert (
        r.json()["key_projects"] == 1
        and r.json()["assessed_firms"] == 1
        and r.json()["investment_yuan"] == 120_000_000
    )
    good = xlsx([["统一社会信用代码", "测评日期", "测评等级"], [ent.uscc, "2023-09-09", "三级"]])
    r = client.post(
        "/api/v1/registers/assessments/import",
        headers=bearer(key),
        files={"file": ("a.xlsx", good, "application/octet-stream")},
    )
    assert r.status_code == 201 and r.json()["created"] == 1
    exported = client.get("/registers/assessments/export.xlsx")
    assert exported.status_code == 200
    with pytest.raises(NotFound):
        service.get_register("nope")


def test_projects_are_available_to_target_measures(db, make):
    """冠政办发〔2023〕7号 二（四）10: 20 个强链延链补链重点项目 — {kind: project_count} counts the register's projects
    under way in the year (started by its end, not completed before its start, past planning)."""
    from app.targets import progress

    q, k = make.enterprise(township="qingquan"), make.enterprise(township="kaifaqu")
    for ent, kind, stage, start, done in [
        (q, "key_chain", "under_construction", "2023-03-01", None),
        (q, "key_chain", "completed", "2022-03-01", "2023-02-01"),
        (q, "key_chain", "planned", "2023-05-01", None),
        (k, "tech_upgrade", "under_construction", "2023-05-01", None),
        (k, "key_chain", "completed", "2021-01-01", "2022-06-30"),
    ]:
        service.create(
            db,
            actor=SYSTEM,
            register="projects",
            values={
                "uscc": ent.uscc,
                "name": "项目",
                "kind": kind,
                "stage": stage,
                "investment_yuan": 1_000_000,
                "start_date": start,
                "completion_date": done,
            },
        )
    w = progress.Window(date(2023, 1, 1), date(2023, 12, 31), date(2023, 12, 31))
    m = {"kind": "project_count", "project_kind": "key_chain", "dated_in": "year"}
    assert progress.counts(db, progress.count_statement([("key_projects", m, w)], SYSTEM)) == {
        ("key_projects", "qingquan"): 2
    }


def test_a_register_write_refreshes_the_cached_dashboard(committed):
    """The county matrix is cached per data version (app/datacache.py); an assessment changes row 5 at once."""
    from app.targets import service as target_service

    with committed() as s:
        target_service.install_reference(s)
        ent = __import__("tests.conftest", fromlist=["Factory"]).Factory(s).enterprise(township="qingquan")
        s.commit()
        uscc = ent.uscc

    def row5() -> int:
        with committed() as s:
            m = target_service.progress_matrix(s, actor=SYSTEM, key="2023", as_of=date(2023, 12, 31))
            return next(r for r in m.rows if r.indicator.code == "digital_assessment").county.actual

    assert row5() == 0 and row5() == 0  # the second read is served from the cache
    with committed() as s:
        service.create(
            s,
            actor=SYSTEM,
            register="assessments",
            values={"uscc": uscc, "assessment_date": "2023-06-01", "level": 2},
        )
        s.commit()
    assert row5() == 1
