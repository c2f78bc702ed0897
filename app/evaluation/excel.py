"""The evaluation report as .xlsx: one sheet per section, the same figures as the printable page (money in 万元)."""

import io

from app.evaluation.report import Report
from app.reference import township_names
from app.registers.labels import COURSE_NAMES
from app.support.excel import write_stats
from app.xlsx import workbook


def report_xlsx(rep: Report) -> bytes:
    buf = io.BytesIO()
    wb = workbook(buf)
    bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    title = wb.add_format({"bold": True, "font_size": 14})
    wan = wb.add_format({"num_format": "#,##0.00"})

    def sheet(name: str, headers: list[str]):
        ws = wb.add_worksheet(name)
        ws.write_string(
            0,
            0,
            f"{rep.title}（{'公开版' if rep.public else '内部版'}，{rep.start.isoformat()} 至 {rep.end.isoformat()}，截至 {rep.as_of.isoformat()}）",
            title,
        )
        for c, h in enumerate(headers):
            ws.write_string(2, c, h, bold)
        ws.set_column(0, 0, 34)
        ws.set_column(1, len(headers), 14)
        return ws

    names = township_names()
    for key, m in rep.matrices:
        towns = [t["code"] for t in m.townships]
        ws = sheet(f"目标{key}", ["序号", "指标", "单位", "完成", "目标", "状态", *[names[t] for t in towns]])
        for r, row in enumerate(m.rows, start=3):
            ind, c = row.indicator, row.county
            ws.write_number(r, 0, ind.no)
            ws.write_string(r, 1, ind.name)
            ws.write_string(r, 2, ind.unit)
            if c is not None and c.actual is not None:
                ws.write_number(r, 3, c.actual)
            if c is not None and c.target is not None:
                ws.write_number(r, 4, c.target)
            ws.write_string(r, 5, rep.status_names.get(c.status, c.status) if c else "")
            for j, t in enumerate(towns, start=6):
                cell = row.townships.get(t)
                if cell is not None and cell.actual is not None:
                    ws.write_string(r, j, f"{cell.actual}/{cell.target if cell.target is not None else '—'}")
    ws = sheet(
        "奖补",
        [
            "分组",
            "项目",
            "待审核笔数",
            "待审核（万元，按上限）",
            "已批准笔数",
            "已批准（万元）",
            "已拨付笔数",
            "已拨付（万元）",
        ],
    )
    r = 3
    for dim, label in (
        ("clause", "按条款"),
        ("funder", "按出资层级"),
        ("fund", "按资金"),
        ("township", "按乡镇"),
    ):
        for a in rep.awards_by.get(dim, []):
            ws.write_string(r, 0, label)
            ws.write_string(r, 1, a.label)
            for c, (n, y) in enumerate(
                (
                    (a.proposed_count, a.proposed_yuan),
                    (a.approved_count, a.approved_yuan),
                    (a.paid_count, a.paid_yuan),
                )
            ):
                ws.write_number(r, 2 + 2 * c, n)
                ws.write_number(r, 3 + 2 * c, y / 10000, wan)
            r += 1
    if rep.funds:
        ws = sheet(
            "资金",
            [
                "资金",
                "预算（万元）",
                "已拨付奖补（万元）",
                "第三方审计费用（万元）",
                "培育行动经费（万元）",
                "已占用（万元）",
                "余额（万元）",
            ],
        )
        for r, f in enumerate(rep.funds, start=3):
            ws.write_string(r, 0, f.label)
            for c, v in enumerate(
                (
                    f.budget_yuan,
                    f.paid_awards_yuan,
                    f.spent.audit_fee_yuan,
                    f.spent.action_cost_yuan,
                    f.drawn_yuan,
                    f.remaining_yuan,
                ),
                start=1,
            ):
                ws.write_number(r, c, v / 10000, wan)
    ws = sheet("培育库", ["培育库", "新入库", "毕业出库", "其他出库", "期末在库"])
    for r, p in enumerate(rep.pools, start=3):
        ws.write_string(r, 0, p.name)
        for c, v in enumerate((p.entered, p.graduated, p.left, p.members_at_end), start=1):
            ws.write_number(r, c, v)
    ws = wb.add_worksheet("服务直通车")
    ws.write_string(
        0,
        0,
        f"{rep.title}：服务直通车诉求（反映日期 {rep.start.isoformat()} 至 {rep.end.isoformat()}）",
        title,
    )
    nxt = write_stats(wb, ws, [rep.problem_total] if rep.problem_total else [], "合计", start_row=2)
    nxt = write_stats(wb, ws, rep.problems_by_category, "类别", start_row=nxt + 1)
    write_stats(wb, ws, rep.problems_by_township, "乡镇", start_row=nxt + 1)
    v, t = rep.visit_counts, rep.register_totals
    ws = sheet("走访与培训", ["项目", "数量"])
    items = [
        ("走访（次）", v.visits),
        ("专家诊断（次）", v.diagnoses),
        ("走访覆盖企业（家）", v.firms_visited),
        ("“一企一策”方案（个）", v.plans),
        ("方案任务已完成（项）", v.tasks_done),
        ("方案任务逾期（项）", v.tasks_overdue),
        (f"{COURSE_NAMES['digital_officer']}（人次）", t.digital_officers),
        (f"{COURSE_NAMES['modern_manager']}（人次）", t.modern_managers),
        (f"{COURSE_NAMES['entrepreneur']}（人次）", t.entrepreneurs),
        ("数字化测评企业（家）", t.assessed_firms),
        ("开工项目（个）", t.projects),
        ("其中强链延链补链重点项目（个）", t.key_projects),
    ]
    for r, (k, n) in enumerate(items, start=3):
        ws.write_string(r, 0, k)
        ws.write_number(r, 1, n)
    ws.write_string(len(items) + 3, 0, "开工项目计划总投资（万元）")
    ws.write_number(len(items) + 3, 1, t.investment_yuan / 10000, wan)
    if not rep.public and rep.officers:
        ws = sheet(
            "服务专员", ["派出单位", "姓名", "联系电话", "帮包企业", "近 90 天走访", "未走访企业", "逾期方案"]
        )
        for r, b in enumerate(rep.officers, start=3):
            for c, val in enumerate((b.officer.department, b.officer.name, b.officer.phone or "")):
                ws.write_string(r, c, val)
            for c, val in enumerate((b.firms, b.visits, b.quiet, b.overdue_plans), start=3):
                ws.write_number(r, c, val)
    wb.close()
    return buf.getvalue()
