"""Excel files, read and written one way for every domain (each domain's `excel` module lays out its sheets).

Reading an upload: `read_rows(data)` (the first sheet) and `sheets(data)` check the file before parsing it —
its size, its zip structure (a zip bomb is refused cheaply), formula cells (refused: an import takes values
typed in) and the row limit, all from the settings (`import_max_*`). A refused file raises `ImportRejected`
(a 422 listing what is wrong, the first 200 errors and a count of the rest).

Writing: `workbook(buf)` keeps strings strings — nothing a user typed becomes a formula, a number or a link —
and a text cell beginning with = + - or @ carries Excel's quote prefix, so editing it in Excel keeps it text.
`table(...)` writes one header row and rows of values, `notes(...)` a template's 说明 sheet. `XLSX` is
the MIME type.
"""

import io
import zipfile
import zlib
from collections.abc import Iterator, Sequence

import xlsxwriter
from python_calamine import CalamineError, CalamineWorkbook
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from app.config import get_settings
from app.errors import FieldError, ValidationFailed

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- reading --------------------------------------------------------------------------------------


class ImportRejected(ValidationFailed):
    """The whole file is refused; `errors` lists the bad cells — the first MAX_LISTED of them, then one
    entry counting the rest (a file of 50,000 bad rows is refused with a short answer)."""

    MAX_LISTED = 200

    def __init__(self, errors: list[FieldError], detail: str | None = None):
        self.total_errors = len(errors)
        if len(errors) > self.MAX_LISTED:
            rest = len(errors) - self.MAX_LISTED
            errors = [
                *errors[: self.MAX_LISTED],
                FieldError(
                    "file", f"另有 {rest} 处错误未列出（共 {len(errors)} 处），请先改正以上错误后重新导入"
                ),
            ]
        super().__init__(errors, detail)


def _refuse(message: str) -> ImportRejected:
    return ImportRejected([FieldError("file", message)])


def check_container(data: bytes) -> None:
    """Refuse, before parsing, what is not a sane .xlsx: too large, not a zip, a zip bomb, or formulas."""
    s = get_settings()
    if len(data) == 0:
        raise _refuse("文件为空")
    if len(data) > s.import_max_bytes:
        raise _refuse(
            f"文件过大（{len(data) // 1024 // 1024} MB），上限 {s.import_max_bytes // 1024 // 1024} MB"
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as e:
        raise _refuse("不是有效的 .xlsx 文件（无法作为 Excel 打开）") from e
    if len(infos) > 1000:
        raise _refuse("文件内部条目过多，疑似异常文件")
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if (
        total > s.import_max_uncompressed_bytes
        or total / packed > s.import_max_ratio
        and total > 10 * 1024 * 1024
    ):
        raise _refuse("文件解压后过大（疑似压缩炸弹），已拒绝")
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/worksheets/") for n in names):
        raise _refuse("不是有效的 .xlsx 文件（缺少工作表）")
    # Formula cells (<f> elements) are refused: the importer takes values typed in, not computed.
    for info in infos:
        if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
            try:
                with zf.open(info) as f:
                    tail = b""
                    while chunk := f.read(1 << 20):
                        if b"<f>" in tail + chunk or b"<f " in tail + chunk:
                            raise _refuse("文件含公式，请将公式单元格改为数值或文字后再导入")
                        tail = chunk[-3:]
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as e:  # a damaged member
                raise _refuse("不是有效的 .xlsx 文件（内容损坏）") from e


def _open(data: bytes) -> CalamineWorkbook:
    check_container(data)
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except CalamineError as e:
        raise _refuse(f"无法读取 Excel 内容：{type(e).__name__}") from e
    except (ValueError, OSError, IndexError) as e:
        raise _refuse("无法读取 Excel 内容，文件可能已损坏") from e


def _rows(sheet) -> list[list]:
    try:
        return sheet.to_python(skip_empty_area=False)
    except CalamineError as e:
        raise _refuse(f"无法读取 Excel 内容：{type(e).__name__}") from e
    except (ValueError, OSError, IndexError) as e:
        raise _refuse("无法读取 Excel 内容，文件可能已损坏") from e


def cell_text(v) -> str:
    """A cell as text: a whole number without ".0", text stripped, an empty cell "" ."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def read_rows(data: bytes) -> list[list]:
    """The first sheet's rows (header included); a sheet over the row limit is refused."""
    wb = _open(data)
    max_rows = get_settings().import_max_rows
    try:
        sheet = wb.get_sheet_by_index(0)
    except (CalamineError, ValueError, OSError, IndexError) as e:
        raise _refuse("无法读取 Excel 内容，文件可能已损坏") from e
    if sheet.height > max_rows + 1:
        raise _refuse(f"行数过多（{sheet.height - 1} 行），单个文件上限 {max_rows} 行")
    return _rows(sheet)


def sheets(data: bytes) -> Iterator[list[list]]:
    """Every sheet's rows in the workbook's order, read one at a time; a sheet over the row limit is passed over."""
    wb = _open(data)
    max_rows = get_settings().import_max_rows
    for name in wb.sheet_names:
        try:
            sheet = wb.get_sheet_by_name(name)
        except (CalamineError, ValueError, OSError, IndexError) as e:
            raise _refuse("无法读取 Excel 内容，文件可能已损坏") from e
        if sheet.height <= max_rows + 1:
            yield _rows(sheet)


# --- writing --------------------------------------------------------------------------------------

# Text a spreadsheet would read as a formula when the cell is edited.
FORMULA_STARTS = ("=", "+", "-", "@")


class _Sheet(Worksheet):
    """Text beginning like a formula is written with the quote prefix (Excel's leading apostrophe)."""

    quoted: "Workbook"

    def _write_string(self, row, col, string, cell_format=None):
        if string.startswith(FORMULA_STARTS):
            cell_format = self.quoted.quote_prefixed(cell_format)
        return super()._write_string(row, col, string, cell_format)


class Workbook(xlsxwriter.Workbook):
    worksheet_class = _Sheet

    def __init__(self, buf: io.BytesIO, options: dict | None = None):
        super().__init__(
            buf,
            {
                "in_memory": True,
                **(options or {}),
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self._quoted: dict[int, Format] = {}

    def add_worksheet(self, name: str | None = None, worksheet_class=None):
        ws = super().add_worksheet(name, worksheet_class)
        ws.quoted = self
        return ws

    def quote_prefixed(self, fmt: Format | None) -> Format:
        """`fmt` with the quote prefix (one such format per format)."""
        key = id(fmt)
        if key not in self._quoted:
            q = self.add_format()
            if fmt is not None:
                for k, v in vars(fmt).items():
                    if k not in ("xf_index", "dxf_index"):
                        setattr(q, k, v)
            q.set_quote_prefix()
            self._quoted[key] = q
        return self._quoted[key]


def workbook(buf: io.BytesIO, **options) -> Workbook:
    """A workbook writing into `buf` whose strings stay strings (options: xlsxwriter's, e.g. constant_memory)."""
    return Workbook(buf, options)


def table(
    wb: Workbook,
    name: str,
    headers: Sequence[str],
    rows,
    *,
    header_format: Format | None = None,
    float_format: str | None = "#,##0.00",
):
    """A sheet of one header row and rows of values: None left empty, numbers as numbers (a float in the
    `float_format`, 万元 by default), anything else as text. Returns the sheet."""
    ws = wb.add_worksheet(name)
    bold = header_format or wb.add_format({"bold": True})
    decimal = wb.add_format({"num_format": float_format}) if float_format else None
    for i, h in enumerate(headers):
        ws.write_string(0, i, h, bold)
        ws.set_column(i, i, max(10, len(h) * 2))
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, float):
                ws.write_number(r, c, v, decimal)
            elif isinstance(v, int) and not isinstance(v, bool):
                ws.write_number(r, c, v)
            else:
                ws.write_string(r, c, str(v))
    return ws


def notes(wb: Workbook, lines: Sequence[str], *, width: int = 110) -> None:
    """The "说明" sheet of a template: how to fill it in, a line a row."""
    ws = wb.add_worksheet("说明")
    for i, line in enumerate(lines):
        ws.write_string(i, 0, line)
    ws.set_column(0, 0, width)


def to_bytes(write) -> bytes:
    """`write(wb)` fills a new workbook; the file's bytes."""
    buf = io.BytesIO()
    wb = workbook(buf)
    write(wb)
    wb.close()
    return buf.getvalue()
