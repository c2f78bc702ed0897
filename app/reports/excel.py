"""Monthly filings as .xlsx: a township's template for a month (pre-filled), and its upload (all-or-nothing).

Columns: 统一社会信用代码 | 企业名称 | 乡镇（街道） | 研发投入（元） | 工业产值（元） | 营业收入（元） | 用电量（千瓦时）.
Rows are matched by 统一社会信用代码; a row left with every figure empty is skipped (not filed).
"""

import io
from datetime import date

from sqlalchemy.orm import Session

from app.accounts.permissions import Principal
from app.errors import FieldError, ValidationFailed
from app.reference import township_names
from app.reports import service
from app.reports.models import FILING_FIELDS
from app.xlsx import XLSX as XLSX
from app.xlsx import notes, workbook
from app.xlsx import read_rows as read_sheet

HEADERS = [("统一社会信用代码", "uscc"), ("企业名称", "name"), ("乡镇（街道）", "township")] + [
    (f"{label}（{unit}）", field) for field, (label, unit) in FILING_FIELDS.items()
]


def template_xlsx(session: Session, *, actor: Principal, period: int, township: str | None) -> bytes:
    """Every enterprise of the township (all, for the county) with what it has filed for the month."""
    buf = io.BytesIO()
    wb = workbook(buf, constant_memory=True)
    ws = wb.add_worksheet(service.month_text(period))
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    for c, (h, _) in enumerate(HEADERS):
        ws.write_string(0, c, h, head)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 34)
    ws.set_column(2, 2, 12)
    ws.set_column(3, len(HEADERS) - 1, 18)
    names = township_names()
    r, cursor = 1, None
    while True:
        rows, cursor = service.grid(
            session, actor=actor, period=period, township=township, cursor=cursor, limit=1000
        )
        for g in rows:
            ws.write_string(r, 0, g.uscc)
            ws.write_string(r, 1, g.name)
            ws.write_string(r, 2, names[g.township])
            for c, field in enumerate(FILING_FIELDS, start=3):
                v = getattr(g.filing, field) if g.filing is not None else None
                if v is not None:
                    ws.write_number(r, c, v)
            r += 1
        if cursor is None:
            break
    due = service.deadline(session, period)
    notes(
        wb,
        [
            f"{service.month_label(period)}月度填报，截止日 {due.year}年{due.month}月{due.day}日（含当日）；截止日后仍可更正，系统记为逾期更正。",
            "金额以元为单位填写整数，用电量以千瓦时为单位；研发投入、工业产值必填，不能为负数。",
            "按统一社会信用代码识别企业；只能填报本乡镇的企业。所有数值都留空的行视为未填报，不写入。",
            "任何一行有误，整个文件都不会写入，并列出每处错误的行、列和原因。",
        ],
    )
    wb.close()
    return buf.getvalue()


def _int_cell(v, header: str, rownum: int, errors: list[FieldError], field: str) -> int | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, bool):
        v = str(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        s = v.strip().replace(",", "")
        if s.startswith("="):
            errors.append(FieldError(field, f"第 {rownum} 行“{header}”：不接受公式，请填写数值", row=rownum))
            return None
        try:
            return int(s)
        except ValueError:
            pass
    errors.append(FieldError(field, f"第 {rownum} 行“{header}”：“{v}”不是整数", row=rownum))
    return None


def _clean_sheet(
    rows: list[list], uscc_col: int, value_cols: list[int | None]
) -> tuple[list, list[int]] | None:
    """The usual file read a column at a time: every row has its code as text and every figure as a whole
    number (a float or int cell). None when any cell is otherwise (a blank, text, a fraction, a short row): the
    row-by-row reading then names each bad cell."""
    body = rows[1:]
    present = [j for j in value_cols if j is not None]
    if not body or len(present) < len(value_cols):
        return None
    if min(map(len, body)) <= max(uscc_col, *present):
        return None
    columns = []
    for j in present:
        col = [r[j] for r in body]
        kinds = set(map(type, col))
        if kinds == {float}:
            if not all(map(float.is_integer, col)):
                return None
            columns.append(list(map(int, col)))
        elif kinds == {int}:
            columns.append(col)
        else:
            return None
    codes = [r[uscc_col] for r in body]
    if set(map(type, codes)) != {str}:
        return None
    codes = [c.strip() for c in codes]
    if not all(codes):
        return None
    out: list[service.BatchRow] = [
        (None, c, v) for c, v in zip(codes, zip(*columns, strict=True), strict=True)
    ]
    return out, list(range(2, len(body) + 2))


def read_rows(data: bytes) -> tuple[list[service.BatchRow], list[int]]:
    """The filled rows of an uploaded template, as (None, 统一社会信用代码, figures in FILING_FIELDS order), and
    their sheet row numbers; a cell that is not a whole number is reported by row and column."""
    out, numbers, errors = _read(data)
    if errors:
        raise _refused(errors)
    return out, numbers


def _refused(errors: list[FieldError]) -> ValidationFailed:
    errors = sorted(errors, key=lambda e: e.row or 0)
    return ValidationFailed(
        errors,
        detail=f"文件有 {len(errors)} 处错误，全部未写入：" + "；".join(e.message for e in errors[:3]),
    )


def _read(data: bytes) -> tuple[list[service.BatchRow], list[int], list[FieldError]]:
    """`read_rows` without refusing: the rows read and the cells' errors, so an upload with a bad cell can name
    its unknown codes too."""
    rows = read_sheet(data)
    if not rows:
        raise ValidationFailed.one("file", "文件没有内容")
    header = [str(c).strip() if c is not None else "" for c in rows[0]]
    index = {field: header.index(h) for h, field in HEADERS if h in header}
    missing = [h for h, field in HEADERS if field in ("uscc", *FILING_FIELDS) and field not in index]
    if missing:
        raise ValidationFailed.one("file", f"缺少列：{'、'.join(missing)}（请使用下载的填报模板）")
    errors: list[FieldError] = []
    out: list[service.BatchRow] = []
    numbers: list[int] = []
    labels = dict((f, h) for h, f in HEADERS)
    # (field, column or None when the sheet lacks it, header)
    value_cols = [(f, index.get(f), labels[f]) for f in FILING_FIELDS]
    uscc_col = index["uscc"]
    clean = _clean_sheet(rows, uscc_col, [j for _, j, _ in value_cols])
    if clean is not None:
        return (*clean, [])
    for i, r in enumerate(rows[1:], start=2):
        width = len(r)
        values = []
        for f, j, label in value_cols:
            v = r[j] if j is not None and j < width else None
            # a whole number as the sheet holds it, else the full check (text, formulas, errors named)
            if v is None or type(v) is int:
                values.append(v)
            elif type(v) is float and v.is_integer():
                values.append(int(v))
            else:
                values.append(_int_cell(v, label, i, errors, f))
        if values.count(None) == len(values):
            continue  # not filed
        uscc = str((r[uscc_col] if uscc_col < width else None) or "").strip()
        if not uscc:
            errors.append(FieldError("uscc", f"第 {i} 行“统一社会信用代码”：必填", row=i))
            continue
        out.append((None, uscc, tuple(values)))
        numbers.append(i)
    if not out and not errors:
        raise ValidationFailed.one("file", "文件中没有填写任何数据")
    return out, numbers, errors


def import_xlsx(
    session: Session, *, actor: Principal, period: int, data: bytes, today: date
) -> list[service.Saved]:
    """All-or-nothing: a bad cell, an enterprise of another township or a negative figure writes nothing."""
    actor.require("filings:write")
    rows, numbers, errors = _read(data)
    if errors:  # the file is refused: name its unregistered codes too, not only on the next upload
        raise _refused(errors + service.unknown_codes(session, actor=actor, rows=rows, row_numbers=numbers))
    return service.submit_rows(
        session, actor=actor, period=period, rows=rows, today=today, row_numbers=numbers
    )
