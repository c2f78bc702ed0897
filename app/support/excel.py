"""The 服务直通车 report as .xlsx: every problem raised in a period, and the same tables as the report page."""

import io
from datetime import date

from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.reference import township_names
from app.support import problems as service
from app.support.labels import CATEGORY_NAMES, CHANNEL_NAMES, STATUS_NAMES
from app.xlsx import workbook

STAT_HEADERS = [
    "",
    "件数",
    "未办结",
    "超期未办结",
    "已办结",
    "已销号",
    "退回",
    "超期（含超期办结）",
    "超期率（%）",
    "平均办结天数",
]
BY_NAMES = {"category": "按类别", "unit": "按责任单位", "township": "按乡镇", "month": "按月份"}


def write_stats(wb, ws, rows: list[service.StatRow], first: str, start_row: int = 0) -> int:
    bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    for c, h in enumerate([first, *STAT_HEADERS[1:]]):
        ws.write_string(start_row, c, h, bold)
    r = start_row
    for r, s in enumerate(rows, start=start_row + 1):
        ws.write_string(r, 0, s.label)
        for c, v in enumerate(
            (s.total, s.open, s.overdue, s.resolved, s.closed, s.returned, s.late), start=1
        ):
            ws.write_number(r, c, v)
        if s.overdue_rate is not None:
            ws.write_number(r, 8, s.overdue_rate)
        if s.days_to_close is not None:
            ws.write_number(r, 9, s.days_to_close)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 9, 12)
    return r + 1


def problems_xlsx(session: Session, *, actor: Principal, start: date, end: date) -> bytes:
    buf = io.BytesIO()
    wb = workbook(buf)
    today = date.today()
    ws = wb.add_worksheet("诉求清单")
    head = [
        "编号",
        "企业名称",
        "统一社会信用代码",
        "乡镇（街道）",
        "类别",
        "问题摘要",
        "反映渠道",
        "反映日期",
        "责任单位",
        "办理时限",
        "状态",
        "是否超期",
        "办结日期",
        "销号日期",
        "办理结果",
    ]
    bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    for c, h in enumerate(head):
        ws.write_string(0, c, h, bold)
    names = township_names()
    r, cursor = 0, None
    f = service.ProblemFilters(raised_from=start, raised_to=end)
    while True:
        rows, cursor, _ = service.list_problems(
            session, actor=actor, filters=f, cursor=cursor, limit=1000, today=today
        )
        for row in rows:
            p = row.problem
            r += 1
            values = [
                str(p.id),
                row.enterprise_name,
                row.uscc,
                names.get(p.township, p.township),
                CATEGORY_NAMES[p.category],
                p.title,
                CHANNEL_NAMES[p.channel],
                p.raised_date.isoformat(),
                service.unit_label(p.unit_kind, p.unit),
                p.deadline_date.isoformat(),
                STATUS_NAMES[p.status],
                "是" if row.overdue else "否",
                p.resolved_date.isoformat() if p.resolved_date else "",
                p.closed_date.isoformat() if p.closed_date else "",
                p.resolution or "",
            ]
            for c, v in enumerate(values):
                ws.write_string(r, c, v)
        if cursor is None:
            break
    ws.set_column(0, 0, 8)
    ws.set_column(1, 1, 32)
    ws.set_column(2, 14, 14)
    ws.autofilter(0, 0, max(r, 1), len(head) - 1)
    for by, title in BY_NAMES.items():
        s = wb.add_worksheet(title)
        s.write_string(0, 0, f"反映日期 {start.isoformat()} 至 {end.isoformat()}，截至 {today.isoformat()}")
        rows = service.stats(session, actor=actor, by=by, start=start, end=end)
        nxt = write_stats(wb, s, rows, title[1:], start_row=1)
        total = service.stats(session, actor=actor, by="all", start=start, end=end)
        write_stats(wb, s, total, "合计", start_row=nxt + 1)
    wb.close()
    return buf.getvalue()
