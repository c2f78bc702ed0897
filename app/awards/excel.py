"""Awards: the 公示 and the ledger as .xlsx."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.awards.facts import describe_event
from app.awards.ledger import ledger_rows, ledger_totals, notice_rows, subject_of
from app.awards.workflow import STATE_NAMES, LineFilters
from app.money import wan_number
from app.policies.schema import FUNDER_NAMES
from app.xlsx import XLSX as XLSX
from app.xlsx import workbook


def notice_xlsx(session: Session, *, actor: Principal, year: int | None = None) -> bytes:
    """公示 list as .xlsx: enterprise, township, honour or event, rule, amount (万元), funder."""
    import io

    from app.reference import township_names

    rows = notice_rows(session, actor=actor, year=year)
    buf = io.BytesIO()
    wb = workbook(buf)
    ws = wb.add_worksheet("公示")
    bold = wb.add_format({"bold": True})
    wan = wb.add_format({"num_format": "#,##0.00"})
    title = f"{year} 年" if year else ""
    ws.write_string(0, 0, f"{title}奖补资金拟拨付企业名单（公示）", bold)
    headers = [
        "序号",
        "企业名称",
        "乡镇（街道）",
        "认定或事件",
        "奖补事项",
        "政策依据",
        "出资层级",
        "金额（万元）",
    ]
    for i, h in enumerate(headers):
        ws.write_string(2, i, h, bold)
    names = township_names()
    total = 0
    for n, (line, ent_name, township) in enumerate(rows, start=1):
        r = n + 2
        ws.write_number(r, 0, n)
        ws.write_string(r, 1, ent_name)
        ws.write_string(r, 2, names.get(township, township))
        ws.write_string(r, 3, describe_event(line.receipt.get("event", {"type": line.event_type})))
        ws.write_string(r, 4, subject_of(line))
        ws.write_string(r, 5, f"{line.document} {line.clause}")
        ws.write_string(r, 6, FUNDER_NAMES[line.funder])
        ws.write_number(r, 7, wan_number(line.amount_yuan or 0), wan)
        total += line.amount_yuan or 0
    r = len(rows) + 3
    ws.write_string(r, 1, "合计", bold)
    ws.write_number(r, 7, wan_number(total), wan)
    ws.set_column(1, 1, 36)
    ws.set_column(2, 6, 18)
    ws.set_column(7, 7, 14)
    wb.close()
    return buf.getvalue()


LEDGER_HEADERS = [
    "编号",
    "企业名称",
    "乡镇（街道）",
    "事件",
    "事件日期",
    "奖补事项",
    "规则",
    "政策依据",
    "出资层级",
    "计算金额（元）",
    "批准金额（元）",
    "状态",
    "资金",
    "审核意见",
    "拨付日期",
    "凭证号",
    "驳回原因",
    "计算说明",
]


def ledger_xlsx(session: Session, *, actor: Principal, filters: LineFilters) -> bytes:
    """The award ledger (奖补台账): every line with its state; amounts in integer 元; totals by state."""
    import io

    from app.awards.models import Fund
    from app.reference import township_names

    rows = ledger_rows(session, actor=actor, filters=filters)
    fund_names = dict(session.execute(select(Fund.id, Fund.name)).all())
    buf = io.BytesIO()
    wb = workbook(buf)
    ws = wb.add_worksheet("奖补台账")
    bold = wb.add_format({"bold": True})
    money = wb.add_format({"num_format": "#,##0"})
    for i, h in enumerate(LEDGER_HEADERS):
        ws.write_string(0, i, h, bold)
    names = township_names()
    for r, (line, ent_name, township) in enumerate(rows, start=1):
        ws.write_number(r, 0, line.id)
        ws.write_string(r, 1, ent_name)
        ws.write_string(r, 2, names.get(township, township))
        ws.write_string(r, 3, describe_event(line.receipt.get("event", {"type": line.event_type})))
        ws.write_string(r, 4, line.event_date.isoformat())
        ws.write_string(r, 5, subject_of(line))
        ws.write_string(r, 6, line.rule_id)
        ws.write_string(r, 7, f"{line.document} {line.clause}")
        ws.write_string(r, 8, FUNDER_NAMES[line.funder])
        ws.write_number(r, 9, line.computed_yuan, money)
        if line.amount_yuan is not None:
            ws.write_number(r, 10, line.amount_yuan, money)
        ws.write_string(r, 11, STATE_NAMES[line.status])
        ws.write_string(r, 12, fund_names.get(line.fund_id, "") if line.fund_id else "")
        ws.write_string(r, 13, line.decision_comment or "")
        ws.write_string(r, 14, line.paid_date.isoformat() if line.paid_date else "")
        ws.write_string(r, 15, line.voucher_no or "")
        ws.write_string(r, 16, line.rejected_reason or "")
        ws.write_string(r, 17, line.explanation)
    ws.autofilter(0, 0, max(len(rows), 1), len(LEDGER_HEADERS) - 1)
    ws.set_column(1, 1, 32)
    ws.set_column(3, 8, 16)
    ws.set_column(17, 17, 60)
    totals = ledger_totals(session, actor=actor, filters=filters)
    summary = wb.add_worksheet("合计")
    summary.write_string(0, 0, "状态", bold)
    summary.write_string(0, 1, "笔数", bold)
    summary.write_string(0, 2, "金额（元）", bold)
    for r, status in enumerate(("proposed", "approved", "paid", "rejected"), start=1):
        summary.write_string(
            r, 0, STATE_NAMES[status] + ("（按计算金额）" if status in ("proposed", "rejected") else "")
        )
        summary.write_number(r, 1, totals[f"{status}_count"])
        summary.write_number(r, 2, totals[f"{status}_yuan"], money)
    summary.set_column(0, 0, 24)
    summary.set_column(2, 2, 16)
    wb.close()
    return buf.getvalue()
