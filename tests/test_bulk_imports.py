"""The importers write in bulk (COPY, audit entries computed by PostgreSQL): the rows and the audit trail are
the ones that writing row by row gave — every created row audited with {field: [null, value]} of what it holds."""

from datetime import date

from sqlalchemy import select

from app.accounts.permissions import SYSTEM
from app.audit.models import AuditEntry
from app.enterprises import excel
from app.enterprises.models import Enterprise, EnterpriseFigure
from app.pools import mu_records
from app.pools.models import MuClassRecord
from app.reports import excel as filings_excel
from app.reports.excel import HEADERS as FILING_HEADERS
from app.reports.models import MonthlyFiling
from app.reports.service import month_text, period_of
from tests.enterprises.test_excel import HEAD, codes, row, xlsx


def _entries(db, entity_type):
    return {
        e.entity_id: e for e in db.scalars(select(AuditEntry).where(AuditEntry.entity_type == entity_type))
    }


def test_enterprise_import_rows_and_audit_entries(db):
    c = codes(2, seed=41)
    rows = [
        row(c[0], name="冠县批量一有限公司"),
        row(c[1], name="冠县批量二有限公司", township="开发区", revenue=None, year=None),
    ]
    rows[0][3], rows[0][8] = "高端装备", "B"
    result = excel.import_enterprises(db, actor=SYSTEM, data=xlsx(rows, HEAD))
    assert (result.created, result.figures) == (2, 1)
    one = db.scalar(select(Enterprise).where(Enterprise.uscc == c[0]))
    two = db.scalar(select(Enterprise).where(Enterprise.uscc == c[1]))
    assert (one.name, one.township, one.chain, one.mu_class, one.version) == (
        "冠县批量一有限公司",
        "qingquan",
        "高端装备",
        "B",
        1,
    )
    assert (
        db.scalar(select(EnterpriseFigure.revenue_yuan).where(EnterpriseFigure.enterprise_id == one.id))
        == 16_500_000
    )
    entries = _entries(db, "enterprise")
    a, b = entries[str(one.id)], entries[str(two.id)]
    assert (a.action, a.enterprise_id, a.township, a.note, a.actor_name) == (
        "create",
        one.id,
        "qingquan",
        "Excel 导入",
        "system",
    )
    assert a.changes == {
        "uscc": [None, c[0]],
        "name": [None, "冠县批量一有限公司"],
        "township": [None, "qingquan"],
        "chain": [None, "高端装备"],
        "size": [None, "small"],
        "ownership": [None, "private"],
        "above_scale": [None, False],
        "mu_class": [None, "B"],
    }
    assert (
        b.changes["township"] == [None, "kaifaqu"]
        and "chain" not in b.changes
        and "mu_class" not in b.changes
    )


def test_filings_and_mu_class_imports_rows_and_audit_entries(db, make):
    ents = [make.enterprise(), make.enterprise(township="kaifaqu")]
    today = date.today()
    period = period_of(today.year, today.month) - 1
    data = xlsx(
        [[e.uscc, e.name, "", 1000 * (i + 1), 50_000, None, 7] for i, e in enumerate(ents)],
        [h for h, _ in FILING_HEADERS],
    )
    saved = filings_excel.import_xlsx(db, actor=SYSTEM, period=period, data=data, today=today)
    assert len(saved) == 2 and all(s.created for s in saved)
    f = db.scalar(select(MonthlyFiling).where(MonthlyFiling.enterprise_id == ents[1].id))
    assert (f.rd_spend_yuan, f.output_value_yuan, f.revenue_yuan, f.electricity_kwh, f.revisions) == (
        2000,
        50_000,
        None,
        7,
        1,
    )
    entry = _entries(db, "monthly_filing")[f"{ents[1].id}:{month_text(period)}"]
    late = saved[1].late
    assert entry.changes == {
        "rd_spend_yuan": [None, 2000],
        "output_value_yuan": [None, 50_000],
        "electricity_kwh": [None, 7],
        "late": late,
    }
    assert entry.township == "kaifaqu" and entry.note.startswith(f"{month_text(period)[:4]}年")

    # Filed again with one figure changed: an update, audited with what changed (row by row as before).
    data = xlsx([[ents[1].uscc, ents[1].name, "", 2500, 50_000, None, 7]], [h for h, _ in FILING_HEADERS])
    filings_excel.import_xlsx(db, actor=SYSTEM, period=period, data=data, today=today)
    db.refresh(f)
    assert (f.rd_spend_yuan, f.revisions) == (2500, 2)

    mu = xlsx(
        [[e.uscc, cls] for e, cls in zip(ents, "AC", strict=True)], ["统一社会信用代码", "亩产效益类别"]
    )
    assert mu_records.import_mu_classes(db, actor=SYSTEM, year=2025, data=mu) == (2, 2)
    rec = db.scalar(select(MuClassRecord).where(MuClassRecord.enterprise_id == ents[1].id))
    assert (rec.year, rec.mu_class, rec.source) == (2025, "C", "imported")
    entry = _entries(db, "mu_class_record")[f"{ents[1].id}:2025"]
    assert entry.changes == {"year": 2025, "mu_class": [None, "C"]} and entry.action == "create"
    db.refresh(ents[1])
    assert ents[1].mu_class == "C"


def test_array_literals_of_plain_text_and_nulls_arrive_as_written(db):
    """Text without quotes or backslashes (a file's usual cells) takes a shorter road: still exactly as written."""
    from sqlalchemy import text

    from app.bulk import array_literal

    if db.get_bind().dialect.name != "postgresql":
        return
    for texts in (
        ["NULL", "{x,y}", "中文 空格", "", "'", " a ", "a,b"],
        ["NULL", None, "", "{}", None, " "],
        [None, None],
        ["x"],
        [],
    ):
        assert db.scalar(text("SELECT CAST(:p AS text[])"), {"p": array_literal(texts)}) == texts
    assert db.scalar(text("SELECT CAST(:p AS integer[])"), {"p": array_literal(iter([3, None, -1]))}) == [
        3,
        None,
        -1,
    ]


def test_array_literals_carry_any_text_and_numbers_as_written(db):
    """Audit entries of created rows are built from array literals: every value arrives unchanged."""
    from sqlalchemy import text

    from app.bulk import array_literal

    if db.get_bind().dialect.name != "postgresql":
        return
    texts = ['a"b', "c\\d", None, "NULL", "{x,y}", "中文 空格", "", "'"]
    assert db.scalar(text("SELECT CAST(:p AS text[])"), {"p": array_literal(texts)}) == texts
    numbers = [0, -5, None, 2**40]
    assert db.scalar(text("SELECT CAST(:p AS bigint[])"), {"p": array_literal(numbers)}) == numbers
    assert db.scalar(text("SELECT CAST(:p AS boolean[])"), {"p": array_literal([True, None, False])}) == [
        True,
        None,
        False,
    ]


def test_exact_lookups_take_no_bitmap_scan_and_restore_the_setting(db, make):
    """A file's codes are looked up through the unique b-tree on uscc, never by bitmap scans (the trigram
    index's only way in: each probe reads posting lists as long as the table when the codes share their
    leading trigrams); the session's setting is as it was after the block."""
    from sqlalchemy import text

    from app import bulk

    ents = [make.enterprise() for _ in range(3)]
    db.flush()
    codes = [e.uscc for e in ents]
    explain = text("EXPLAIN SELECT id FROM enterprise WHERE uscc IN (SELECT unnest(CAST(:v AS varchar[])))")

    def plan() -> str:
        return "\n".join(db.scalars(explain, {"v": bulk.array_literal(codes)}))

    # pushed towards the trigram index, as a small table's statistics can do
    db.execute(text("SET LOCAL enable_indexscan = off"))
    db.execute(text("SET LOCAL enable_seqscan = off"))
    assert "Bitmap" in plan()
    with bulk.exact_lookup(db):
        assert "Bitmap" not in plan()
        ids = db.scalars(select(Enterprise.id).where(bulk.among(db, Enterprise.uscc, codes)))
        assert sorted(ids) == sorted(e.id for e in ents)
    assert db.scalar(text("SHOW enable_bitmapscan")) == "on"
    assert sorted(bulk.existing(db, "enterprise", "uscc", [*codes, "nope"])) == sorted(codes)
    assert db.scalar(text("SHOW enable_bitmapscan")) == "on"
