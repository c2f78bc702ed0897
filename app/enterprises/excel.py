"""Excel import and export of the registry.

Import is all-or-nothing: every row is checked first, and any bad row rejects the whole
file with a list of (row, column, reason); only a clean file is written. The file is read by
app.xlsx (size, zip-bomb, formula and row checks before parsing) and written by it (strings stay strings).
"""

import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy.orm import Session

from app import bulk
from app.accounts.permissions import Principal
from app.db import utcnow
from app.enterprises.models import Enterprise
from app.enterprises.service import ListFilters, list_query
from app.enterprises.uscc import normalise, uscc_error
from app.errors import FieldError, Forbidden
from app.money import wan_number
from app.reference import OWNERSHIP_NAMES, SIZE_NAMES, township_names
from app.xlsx import XLSX as XLSX
from app.xlsx import ImportRejected, notes, read_rows, workbook
from app.xlsx import cell_text as _cell_text

# (header, field, kind). The importer recognises columns by these headers.
COLUMNS = [
    ("统一社会信用代码", "uscc", "uscc"),
    ("企业名称", "name", "text"),
    ("乡镇（街道）", "township", "township"),
    ("产业链", "chain", "text?"),
    ("行业", "industry", "text?"),
    ("企业规模", "size", "size"),
    ("所有制", "ownership", "ownership"),
    ("是否规上", "above_scale", "bool"),
    ("亩产效益类别", "mu_class", "mu"),
    ("年度", "year", "year?"),
    ("营业收入（元）", "revenue_yuan", "yuan"),
    ("主营业务收入（元）", "main_revenue_yuan", "yuan"),
    ("工业总产值（元）", "output_value_yuan", "yuan"),
    ("研发经费（元）", "rd_spend_yuan", "yuan"),
    ("税收（元）", "tax_yuan", "yuan"),
    ("从业人员（人）", "employees", "count"),
    ("用地面积（亩）", "land_mu", "decimal"),
    ("综合能耗（吨标准煤）", "energy_tce", "decimal"),
]
REQUIRED = {"uscc", "name", "township", "size"}
ENTERPRISE_COLUMNS = (
    "id",
    "uscc",
    "name",
    "township",
    "chain",
    "industry",
    "size",
    "ownership",
    "above_scale",
    "mu_class",
    "version",
    "created_at",
    "updated_at",
)
FIGURE_KEYS = [c[1] for c in COLUMNS[10:]]

_TOWNSHIP_BY_NAME = None


def _township_lookup() -> dict[str, str]:
    global _TOWNSHIP_BY_NAME
    if _TOWNSHIP_BY_NAME is None:
        from app.reference import townships

        m = {}
        for t in townships():
            m[t["code"]] = t["code"]
            m[t["name"]] = t["code"]
            m[t["short"]] = t["code"]
        _TOWNSHIP_BY_NAME = m
    return _TOWNSHIP_BY_NAME


_SIZE_BY_NAME = {**{v: k for k, v in SIZE_NAMES.items()}, **{k: k for k in SIZE_NAMES}}
_OWN_BY_NAME = {**{v: k for k, v in OWNERSHIP_NAMES.items()}, **{k: k for k in OWNERSHIP_NAMES}}
_BOOL = {
    "是": True,
    "否": False,
    "规上": True,
    "规下": False,
    "true": True,
    "false": False,
    "1": True,
    "0": False,
}


@dataclass
class ImportResult:
    created: int
    figures: int


# The template's example: kept on a sheet of its own (the importer reads only the first sheet), and refused
# by name or code if it is copied into the data sheet anyway.
EXAMPLE_USCC = "91371525MA3C0F0X4D"
EXAMPLE_MARKS = ("（示例", "(示例")
EXAMPLE_ROW = {
    0: EXAMPLE_USCC,
    1: "（示例，不会导入）冠县某某机械有限公司",
    2: "清泉街道",
    5: "小型",
    6: "民营",
    7: "否",
    9: 2024,
    10: 16_500_000,
}


def is_example(row: dict) -> bool:
    return normalise(_cell_text(row.get("uscc"))) == EXAMPLE_USCC or _cell_text(row.get("name")).startswith(
        EXAMPLE_MARKS
    )


def template_bytes() -> bytes:
    buf = io.BytesIO()
    wb = workbook(buf)
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    grey = wb.add_format({"italic": True, "font_color": "#808080", "bg_color": "#F2F2F2"})
    ws = wb.add_worksheet("企业")
    example = wb.add_worksheet("示例（不导入）")
    for sheet in (ws, example):
        for i, (h, _, _) in enumerate(COLUMNS):
            sheet.write_string(0, i, h, head)
            sheet.set_column(i, i, max(12, len(h) * 2))
    for col, v in EXAMPLE_ROW.items():
        if isinstance(v, int):
            example.write_number(1, col, v, grey)
        else:
            example.write_string(1, col, v, grey)
    example.write_string(3, 0, "这一页只是填写示例，导入时不读取；请在第一页“企业”中逐行填写。")
    notes(
        wb,
        [
            "在第一页“企业”中每行填写一家企业；统一社会信用代码、企业名称、乡镇（街道）、企业规模为必填。",
            "乡镇填名称（如“清泉街道”“开发区”）或代码；企业规模填 微型/小型/中型/大型；是否规上填 是/否。",
            "金额以元为单位填写整数；填写年度数据时须填“年度”。",
            "任何一行有误，整个文件都不会导入，并列出每个错误的行、列和原因。",
            "填写示例见“示例（不导入）”页；示例企业即使被复制到第一页也不会导入，会被指出所在行。",
        ],
        width=100,
    )
    wb.close()
    return buf.getvalue()


_HEADER_OF = {f: h for h, f, _ in COLUMNS}
_INT_KINDS = frozenset(("yuan", "count", "year?"))


def _parse_row(values: dict[str, object], rownum: int, errors: list[FieldError]) -> dict | None:
    out: dict = {}
    ok = True

    def err(field: str, msg: str) -> None:
        nonlocal ok
        ok = False
        header = _HEADER_OF[field]
        errors.append(FieldError(header, f"第 {rownum} 行“{header}”：{msg}", row=rownum))

    def put_int(field: str, kind: str, n: int) -> None:
        if kind == "year?" and not 2000 <= n <= 2100:
            err(field, "年度应在 2000–2100 之间")
        elif n < 0:
            err(field, "不能为负数")
        elif n > 10**15:
            err(field, "数值过大")
        out[field] = n

    for _header, field, kind in COLUMNS:
        raw = values.get(field)
        rtype = type(raw)
        # Whole numbers typed as numbers (most cells of a large sheet): no text round trip.
        if kind in _INT_KINDS and (rtype is int or (rtype is float and raw.is_integer())):
            put_int(field, kind, int(raw))
            continue
        if rtype is str:
            if raw.startswith("="):
                err(field, "不接受公式，请填写数值或文字")
                continue
            text = raw.strip()
        else:
            text = _cell_text(raw)
        if text == "":
            if field in REQUIRED:
                err(field, "必填")
            continue
        if kind == "uscc":
            code = normalise(text)
            reason = uscc_error(code)
            if reason:
                err(field, reason)
            out[field] = code
        elif kind in ("text", "text?"):
            if len(text) > (200 if field == "name" else 50):
                err(field, "内容过长")
            out[field] = text
        elif kind == "township":
            code = _township_lookup().get(text)
            if code is None:
                err(field, f"未知的乡镇“{text}”")
            out[field] = code
        elif kind == "size":
            if text not in _SIZE_BY_NAME:
                err(field, "应为 微型/小型/中型/大型")
            out[field] = _SIZE_BY_NAME.get(text)
        elif kind == "ownership":
            if text not in _OWN_BY_NAME:
                err(field, "应为 民营/国有/外资/其他")
            out[field] = _OWN_BY_NAME.get(text)
        elif kind == "bool":
            if text.lower() not in _BOOL:
                err(field, "应为 是 或 否")
            out[field] = _BOOL.get(text.lower())
        elif kind == "mu":
            if text.upper() not in ("A", "B", "C", "D"):
                err(field, "应为 A、B、C、D 之一")
            out[field] = text.upper()
        elif kind in _INT_KINDS:
            try:
                num = Decimal(text)
                if not num.is_finite() or num != num.to_integral_value():
                    raise InvalidOperation
                n = int(num)
            except (InvalidOperation, ValueError, OverflowError):
                err(field, "应为整数" + ("（金额以元为单位）" if kind == "yuan" else ""))
                continue
            put_int(field, kind, n)
        elif kind == "decimal":
            try:
                d = Decimal(text).quantize(Decimal("0.01"))
            except InvalidOperation:
                err(field, "应为数字")
                continue
            if d < 0:
                err(field, "不能为负数")
            elif d >= Decimal(10) ** 10:
                err(field, "数值过大")
            out[field] = d
    if (
        out.get("year") is None
        and any(out.get(k) is not None for k in FIGURE_KEYS)
        and "year" not in {e.field for e in errors if e.row == rownum}
    ):
        err("year", "填写了年度数据，须同时填写年度")
    return out if ok else None


def parse(rows: list[list]) -> tuple[list[dict], list[FieldError]]:
    """Map the sheet's rows onto fields by header; returns (parsed rows, errors)."""
    if not rows:
        return [], [FieldError("file", "工作表为空")]
    header_row = [_cell_text(c) for c in rows[0]]
    by_header = {h: f for h, f, _ in COLUMNS}
    colmap: dict[int, str] = {}
    errors: list[FieldError] = []
    for i, h in enumerate(header_row):
        if h in by_header:
            colmap[i] = by_header[h]
        elif h:
            errors.append(FieldError(h, f"第 1 行：无法识别的列“{h}”，请使用下载的模板", row=1))
    missing = [h for h, f, _ in COLUMNS if f in REQUIRED and f not in colmap.values()]
    for h in missing:
        errors.append(FieldError(h, f"缺少必需的列“{h}”", row=1))
    if errors:
        return [], errors
    parsed: list[dict] = []
    seen: dict[str, int] = {}
    for idx, row in enumerate(rows[1:], start=2):
        values = {colmap[i]: v for i, v in enumerate(row) if i in colmap}
        if all(v is None or (type(v) is str and not v.strip()) for v in values.values()):
            continue  # an empty row (what _cell_text reads as "" in every cell)
        if is_example(values):
            errors.append(
                FieldError(
                    "企业名称",
                    f"第 {idx} 行是模板中的示例企业（{_cell_text(values.get('name'))}），"
                    "不能导入：请删除该行后再上传",
                    row=idx,
                )
            )
            continue
        out = _parse_row(values, idx, errors)
        if out is None:
            continue
        first = seen.get(out["uscc"])
        if first is not None:
            errors.append(
                FieldError("统一社会信用代码", f"第 {idx} 行“统一社会信用代码”：与第 {first} 行重复", row=idx)
            )
            continue
        seen[out["uscc"]] = idx
        out["_row"] = idx
        parsed.append(out)
    if not parsed and not errors:
        errors.append(FieldError("file", "文件中没有数据行"))
    return parsed, errors


def import_enterprises(session: Session, *, actor: Principal, data: bytes) -> ImportResult:
    """Validate every row, then write all of them in the caller's transaction — or nothing."""
    actor.require("enterprises:write")
    rows = read_rows(data)
    parsed, errors = parse(rows)
    if actor.township_filter():
        for r in parsed:
            if r["township"] != actor.township_filter():
                errors.append(
                    FieldError(
                        "乡镇（街道）",
                        f"第 {r['_row']} 行“乡镇（街道）”：只能导入本乡镇的企业",
                        row=r["_row"],
                    )
                )
    codes = [r["uscc"] for r in parsed]
    existing = set(bulk.existing(session, "enterprise", "uscc", codes))
    for r in parsed:
        if r["uscc"] in existing:
            errors.append(
                FieldError(
                    "统一社会信用代码",
                    f"第 {r['_row']} 行“统一社会信用代码”：{r['uscc']} 已登记",
                    row=r["_row"],
                )
            )
    if errors:
        errors.sort(key=lambda e: e.row or 0)
        raise ImportRejected(errors, detail=f"导入被拒绝：共 {len(errors)} 处错误，未写入任何数据")
    if not actor.has("enterprises:write"):
        raise Forbidden()

    # Written by COPY in the caller's transaction (app/bulk.py): ids drawn first, so the figures and the
    # audit entries can name their enterprise.
    now = utcnow()
    ids = bulk.next_ids(session, "enterprise", len(parsed))
    ent_rows = [
        (
            eid,
            r["uscc"],
            r["name"],
            r["township"],
            r.get("chain"),
            r.get("industry"),
            r["size"],
            r.get("ownership") or "private",
            bool(r.get("above_scale") or False),
            r.get("mu_class"),
            1,
            now,
            now,
        )
        for eid, r in zip(ids, parsed, strict=True)
    ]
    bulk.copy_rows(session, "enterprise", ENTERPRISE_COLUMNS, ent_rows)
    fig_rows = [
        (eid, r["year"], *[r.get(k) for k in FIGURE_KEYS])
        for eid, r in zip(ids, parsed, strict=True)
        if r.get("year") is not None
    ]
    bulk.copy_rows(session, "enterprise_figure", ("enterprise_id", "year", *FIGURE_KEYS), fig_rows)
    types = {"above_scale": "boolean"}
    bulk.audit_created(
        session,
        actor,
        entity_type="enterprise",
        entity_ids=[str(e[0]) for e in ent_rows],
        enterprise_ids=ids,
        townships=[e[3] for e in ent_rows],
        note="Excel 导入",
        fields={
            f: (types.get(f, "varchar"), [e[1 + i] for e in ent_rows])
            for i, f in enumerate(ENTERPRISE_COLUMNS[1:10])
        },
    )
    return ImportResult(created=len(ent_rows), figures=len(fig_rows))


def _safe_text(v) -> str:
    return "" if v is None else str(v)


def export_enterprises(
    session: Session, *, actor: Principal, filters: ListFilters, sort: str = "name"
) -> bytes:
    """The filtered list as .xlsx; every text cell written as a string, so nothing runs as a formula."""
    stmt, year, key = list_query(session, actor=actor, filters=filters, sort=sort)
    desc = sort.startswith("-")  # the same order as the list on the screen
    stmt = (
        stmt.order_by(key.desc(), Enterprise.id.desc())
        if desc
        else stmt.order_by(key.asc(), Enterprise.id.asc())
    )
    buf = io.BytesIO()
    wb = workbook(buf)
    ws = wb.add_worksheet("企业")
    headers = [
        "统一社会信用代码",
        "企业名称",
        "乡镇（街道）",
        "产业链",
        "企业规模",
        "所有制",
        "是否规上",
        "亩产效益类别",
        f"{year or ''} 年营业收入（万元）",
    ]
    bold = wb.add_format({"bold": True})
    wan = wb.add_format({"num_format": "#,##0.00"})
    for i, h in enumerate(headers):
        ws.write_string(0, i, h, bold)
    names = township_names()
    r = 0
    for r, (ent, rev) in enumerate(session.execute(stmt), start=1):
        ws.write_string(r, 0, ent.uscc)
        ws.write_string(r, 1, _safe_text(ent.name))
        ws.write_string(r, 2, names.get(ent.township, ent.township))
        ws.write_string(r, 3, _safe_text(ent.chain))
        ws.write_string(r, 4, SIZE_NAMES.get(ent.size, ent.size))
        ws.write_string(r, 5, OWNERSHIP_NAMES.get(ent.ownership, ent.ownership))
        ws.write_string(r, 6, "是" if ent.above_scale else "否")
        ws.write_string(r, 7, _safe_text(ent.mu_class))
        if rev is not None:
            ws.write_number(r, 8, wan_number(rev), wan)
    ws.autofilter(0, 0, max(r, 1), len(headers) - 1)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 36)
    ws.set_column(2, 8, 14)
    wb.close()
    return buf.getvalue()
