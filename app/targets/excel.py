"""Target tables as .xlsx in the attachment's own layout (冠政办发〔2023〕7号 附件).

Columns: 序号 | 项目名称 | the 19 townships (开发区 … 梁堂镇) | 总数 | 完成时限 | 工信局联系人.
- `table_xlsx`: the table alone — the template an administrator edits into next year's and uploads.
- `matrix_xlsx`: the progress matrix, each township's 目标 and 完成 side by side, coloured by status;
  a second sheet holds the table alone.
- `read_table`: an uploaded workbook → rows for app.reference.targets.parse_target_table, with
  the sheet's own row numbers. The header row is found by its 项目名称 cell; county-level rows
  leave the township cells empty.
Read and written through app.xlsx (safe reader; strings stay strings).
"""

import io
import re
from datetime import date, datetime

from app import xlsx
from app.errors import FieldError
from app.reference import townships
from app.reference.targets import TargetTableInvalid
from app.targets.models import TargetIndicator, TargetSet
from app.targets.progress import STATUS_NAMES, Matrix, num
from app.xlsx import XLSX as XLSX

STATUS_COLOURS = {
    "met": "#D4EFDF",
    "on_track": "#EAF4FB",
    "behind": "#FDEBD0",
    "overdue": "#F9D6D2",
    "not_available": "#EEEEEE",
    "no_target": "#FFFFFF",
}


def _responsible(ind: TargetIndicator) -> str:
    r = ind.responsible or {}
    lines = []
    for key, label in (("lead", "分管负责人"), ("section", "科室负责人")):
        people = r.get(key) or []
        if people:
            lines.append(f"{label}：" + "、".join(f"{p['name']} {p['phone']}" for p in people))
    return "\n".join(lines)


def _value(v, kind: str):
    return num(v)


def _write_table_sheet(wb, ws, ts: TargetSet) -> None:
    head = wb.add_format(
        {
            "bold": True,
            "border": 1,
            "align": "center",
            "valign": "vcenter",
            "text_wrap": True,
            "bg_color": "#DDEBF7",
        }
    )
    cell = wb.add_format({"border": 1, "valign": "vcenter", "text_wrap": True})
    numf = wb.add_format({"border": 1, "align": "center", "valign": "vcenter"})
    pct = wb.add_format({"border": 1, "align": "center", "valign": "vcenter", "num_format": '0.##"%"'})
    title = wb.add_format({"bold": True, "font_size": 16, "align": "center"})
    towns = townships()
    last = 2 + len(towns) + 2
    ws.merge_range(0, 0, 0, last, ts.title, title)
    headers = ["序号", "项目名称", *[t["short"] for t in towns], "总数", "完成时限", "工信局联系人"]
    for c, h in enumerate(headers):
        ws.write_string(1, c, h, head)
    ws.set_column(0, 0, 5)
    ws.set_column(1, 1, 28)
    ws.set_column(2, 1 + len(towns), 7)
    ws.set_column(2 + len(towns), 3 + len(towns), 12)
    ws.set_column(last, last, 30)
    for r, ind in enumerate(ts.indicators, start=2):
        ws.write_number(r, 0, ind.no, numf)
        ws.write_string(r, 1, ind.name, cell)
        figs = {f.township: f.value for f in ind.figures}
        fmt = pct if ind.kind == "rate" else numf
        for c, t in enumerate(towns, start=2):
            if ind.county_only or t["code"] not in figs:
                ws.write_blank(r, c, None, numf)
            else:
                ws.write_number(r, c, _value(figs[t["code"]], ind.kind), fmt)
        ws.write_number(r, 2 + len(towns), num(ind.total), fmt)
        ws.write_string(r, 3 + len(towns), ind.deadline_text, cell)
        ws.write_string(r, last, _responsible(ind), cell)
    ws.freeze_panes(2, 2)


def _notes(wb) -> None:
    xlsx.notes(
        wb,
        [
            "目标表格式与冠政办发〔2023〕7号附件相同：每行一项指标，列为 19 个乡镇（街道）、总数、完成时限。",
            "修改各乡镇数值和总数后上传即可录入新年度目标；各乡镇之和必须等于总数（比率指标除外）。",
            "县级指标（无乡镇分解，如“小巨人”“瞪羚企业”）的乡镇列留空，只填总数。",
            "完成时限写“2024年9月”或“2024年3月25日前”；比率指标写“每月18日前完成填报”。",
            "项目名称须与指标目录一致（系统据此确定统计口径）；任何一处错误，整张表都不会写入，并列出每个出错的单元格。",
        ],
    )


def table_xlsx(ts: TargetSet) -> bytes:
    """The table alone, in the attachment's layout (the upload template)."""
    buf = io.BytesIO()
    wb = xlsx.workbook(buf)
    _write_table_sheet(wb, wb.add_worksheet("目标表"), ts)
    _notes(wb)
    wb.close()
    return buf.getvalue()


def matrix_xlsx(m: Matrix) -> bytes:
    """The progress matrix: per township 目标 | 完成 side by side, coloured by status; then the table."""
    buf = io.BytesIO()
    wb = xlsx.workbook(buf)
    ws = wb.add_worksheet("完成情况")
    head = wb.add_format(
        {
            "bold": True,
            "border": 1,
            "align": "center",
            "valign": "vcenter",
            "text_wrap": True,
            "bg_color": "#DDEBF7",
        }
    )
    cell = wb.add_format({"border": 1, "valign": "vcenter", "text_wrap": True})
    target_f = wb.add_format({"border": 1, "align": "center", "valign": "vcenter", "font_color": "#555555"})
    status_f = {
        s: wb.add_format(
            {"border": 1, "align": "center", "valign": "vcenter", "bg_color": c, "text_wrap": True}
        )
        for s, c in STATUS_COLOURS.items()
    }
    title = wb.add_format({"bold": True, "font_size": 16, "align": "center"})
    towns = m.townships
    with_county = any(r.county is not None for r in m.rows)
    ncols = 2 + 2 * len(towns) + (2 if with_county else 0) + 2
    ws.merge_range(0, 0, 0, ncols - 1, f"{m.target_set.title} 完成情况（截至 {m.as_of.isoformat()}）", title)
    ws.merge_range(1, 0, 2, 0, "序号", head)
    ws.merge_range(1, 1, 2, 1, "项目名称", head)
    col = 2
    groups = [(t["short"], t["code"]) for t in towns] + ([("总数", None)] if with_county else [])
    for label, _ in groups:
        ws.merge_range(1, col, 1, col + 1, label, head)
        ws.write_string(2, col, "目标", head)
        ws.write_string(2, col + 1, "完成", head)
        col += 2
    ws.merge_range(1, col, 2, col, "完成时限", head)
    ws.merge_range(1, col + 1, 2, col + 1, "统计说明", head)
    ws.set_column(0, 0, 5)
    ws.set_column(1, 1, 28)
    ws.set_column(2, col - 1, 6.5)
    ws.set_column(col, col, 12)
    ws.set_column(col + 1, col + 1, 36)

    def write_pair(r: int, c: int, target, actual_cell, ind: TargetIndicator) -> None:
        unit = "%" if ind.kind == "rate" else ""
        if target is None:
            ws.write_blank(r, c, None, target_f)
        else:
            ws.write_string(r, c, f"{num(target)}{unit}", target_f)
        fmt = status_f[actual_cell.status]
        if actual_cell.actual is None:
            ws.write_string(r, c + 1, "未接入" if actual_cell.status == "not_available" else "—", fmt)
        else:
            ws.write_string(r, c + 1, f"{num(actual_cell.actual)}{unit}", fmt)

    for r, row in enumerate(m.rows, start=3):
        ind = row.indicator
        ws.write_number(r, 0, ind.no, target_f)
        ws.write_string(r, 1, ind.name, cell)
        c = 2
        for t in towns:
            tc = row.townships[t["code"]]
            write_pair(r, c, tc.target, tc, ind)
            c += 2
        if with_county and row.county is not None:
            write_pair(r, c, row.county.target, row.county, ind)
            c += 2
        ws.write_string(r, c, ind.deadline_text, cell)
        note = row.reason or (f"据 {row.report_month} 填报" if row.report_month else "")
        if row.parts:
            note = "；".join(f"{p.name} {num(p.cell.actual)}/{num(p.cell.target)}" for p in row.parts)
        ws.write_string(r, c + 1, note, cell)
    legend_row = 4 + len(m.rows)
    ws.write_string(legend_row, 1, "颜色：", cell)
    for i, (s, name) in enumerate(STATUS_NAMES.items()):
        ws.write_string(legend_row, 2 + 2 * i, name, status_f[s])
    ws.freeze_panes(3, 2)
    _write_table_sheet(wb, wb.add_worksheet("目标表"), m.target_set)
    wb.close()
    return buf.getvalue()


# --- reading an uploaded table ------------------------------------------------------------------


def _norm(v) -> str:
    return re.sub(r"\s+", "", str(v)) if v is not None else ""


_HEADERS = {
    "项目名称": "name",
    "指标代码": "code",
    "总数": "total",
    "完成时限": "deadline_text",
    "单位": "unit",
}
_IGNORED = {"序号", "工信局联系人", "联系人", "责任科室"}


def _township_headers() -> set[str]:
    return {k for t in townships() for k in (t["code"], t["name"], t["short"])}


def _empty(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def read_table(data: bytes) -> tuple[list[dict], int]:
    """The rows of the first sheet laid out like the attachment, and the sheet row number of the first."""
    for rows in xlsx.sheets(data):  # a sheet longer than the import row limit is not a table
        found = _read_sheet(rows)
        if found is not None:
            return found
    raise TargetTableInvalid(
        [FieldError("file", "未找到目标表：须有一行表头，含“项目名称”“总数”“完成时限”及各乡镇列")]
    )


def _read_sheet(rows: list[list]) -> tuple[list[dict], int] | None:
    header_at = next((i for i, r in enumerate(rows[:20]) if "项目名称" in {_norm(c) for c in r}), None)
    if header_at is None:
        return None
    header = [_norm(c) for c in rows[header_at]]
    following = rows[header_at + 1] if header_at + 1 < len(rows) else []
    if "目标" in {_norm(c) for c in following}:
        return None  # the progress sheet (目标 | 完成 per township), not a table
    out: list[dict] = []
    for r in rows[header_at + 1 :]:
        if all(_empty(c) for c in r):
            break  # the table ends at its first empty row
        row: dict = {}
        cells: dict[str, object] = {}
        for h, v in zip(header, r, strict=False):
            if not h or h in _IGNORED:
                continue
            if h in _HEADERS:
                if not _empty(v):
                    row[_HEADERS[h]] = v.strip() if isinstance(v, str) else v
            elif not _empty(v) and (h in _township_headers() or h.endswith(("镇", "乡", "街道", "开发区"))):
                cells[h] = (
                    v  # a township column; one named like a township but unknown is reported by the parser
                )
        if isinstance(row.get("deadline_text"), datetime | date):
            d = row.pop("deadline_text")
            d = d.date() if isinstance(d, datetime) else d
            row["deadline"], row["deadline_text"] = d, f"{d.year}年{d.month}月{d.day}日"
        if isinstance(row.get("name"), str):
            row["name"] = row["name"].replace("\n", "")
        if cells:
            row["townships"] = cells
        out.append(row)
    if not out:
        return None
    return out, header_at + 2
