"""Filing deadlines, with dates passed in: figures for a month are due by the 18th of the next (inclusive);
on the 19th a month not filed is overdue, and a filing or correction is late and audited as such."""

from datetime import date

import pytest
from sqlalchemy import select

from app.accounts.permissions import SYSTEM
from app.audit.models import AuditEntry
from app.errors import ValidationFailed
from app.reports import service
from app.reports.schemas import FilingIn

MAY = service.period_of(2023, 5)


def _file(db, ent, today, rd=100_000, period=MAY):
    return service.submit(
        db,
        actor=SYSTEM,
        enterprise_id=ent.id,
        period=period,
        data=FilingIn(rd_spend_yuan=rd, output_value_yuan=2_000_000),
        today=today,
    )


def _audit(db, ent):
    return db.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "monthly_filing", AuditEntry.enterprise_id == ent.id)
        .order_by(AuditEntry.id)
    ).all()


def test_the_deadline_is_the_18th_of_the_next_month(db, reference):
    assert service.deadline(db, MAY) == date(2023, 6, 18)
    assert service.deadline(db, service.period_of(2023, 12)) == date(2024, 1, 18)


def test_the_filing_day_comes_from_the_target_table(db, reference):
    """The rate row's 填报日 (18 in 2023's table) applies to later years until a new table says otherwise."""
    ind = next(i for i in reference.indicators if i.code == "rd_growth_rate")
    assert ind.filing_day == 18
    ind.filing_day = 15
    db.flush()
    assert service.deadline(db, service.period_of(2024, 3)) == date(2024, 4, 15)


def test_filed_on_the_18th_is_on_time(db, reference, make):
    ent = make.enterprise()
    saved = _file(db, ent, date(2023, 6, 18))
    assert saved.created and not saved.late and not saved.filing.filed_late
    (entry,) = _audit(db, ent)
    assert entry.action == "create" and entry.changes["late"] is False and "逾期" not in entry.note


def test_filed_on_the_19th_is_late(db, reference, make):
    ent = make.enterprise()
    saved = _file(db, ent, date(2023, 6, 19))
    assert saved.late and saved.filing.filed_late and not saved.filing.corrected_late
    (entry,) = _audit(db, ent)
    assert entry.changes["late"] is True and "截止日 2023-06-18 之后填报，逾期" in entry.note


def test_a_correction_after_the_deadline_is_allowed_audited_and_flagged(db, reference, make):
    ent = make.enterprise()
    _file(db, ent, date(2023, 6, 10), rd=100_000)
    _file(db, ent, date(2023, 6, 18), rd=110_000)  # corrected in time
    f = _file(db, ent, date(2023, 7, 2), rd=120_000).filing  # corrected late
    assert (f.rd_spend_yuan, f.filed_late, f.corrected_late, f.revisions) == (120_000, False, True, 3)
    entries = _audit(db, ent)
    assert [e.action for e in entries] == ["create", "update", "update"]
    assert entries[1].changes["rd_spend_yuan"] == [100_000, 110_000] and entries[1].changes["late"] is False
    assert entries[2].changes["rd_spend_yuan"] == [110_000, 120_000] and entries[2].changes["late"] is True
    assert "之后更正，逾期" in entries[2].note


def test_saving_the_same_figures_again_changes_nothing(db, reference, make):
    ent = make.enterprise()
    _file(db, ent, date(2023, 6, 10))
    again = _file(db, ent, date(2023, 6, 30))
    assert (
        not again.created
        and not again.late
        and again.filing.revisions == 1
        and not again.filing.corrected_late
    )
    assert len(_audit(db, ent)) == 1


def test_a_month_not_yet_over_cannot_be_filed(db, reference, make):
    ent = make.enterprise()
    with pytest.raises(ValidationFailed) as e:
        _file(db, ent, date(2023, 5, 31))
    assert e.value.errors[0].field == "month" and "尚未结束" in e.value.errors[0].message


def test_overdue_on_the_19th_not_on_the_18th(db, reference, make):
    a = make.enterprise(township="qingquan", name="甲已填报有限公司")
    b = make.enterprise(township="qingquan", name="乙未填报有限公司")
    c = make.enterprise(township="kaifaqu", name="丙逾期填报有限公司")
    _file(db, a, date(2023, 6, 5))
    on_18 = service.overdue(db, actor=SYSTEM, period=MAY, as_of=date(2023, 6, 18))
    assert not on_18.overdue and on_18.missing_total == 2  # not filed yet, but not overdue
    on_19 = service.overdue(db, actor=SYSTEM, period=MAY, as_of=date(2023, 6, 19))
    assert on_19.overdue and [e.name for e in on_19.missing] == [
        "丙逾期填报有限公司",
        "乙未填报有限公司",
    ]  # 开发区 first
    by_town = {t.township: (t.enterprises, t.filed, t.filed_late, t.missing) for t in on_19.townships}
    assert by_town == {"kaifaqu": (1, 0, 0, 1), "qingquan": (2, 1, 0, 1)}
    _file(db, c, date(2023, 6, 20))
    later = service.overdue(db, actor=SYSTEM, period=MAY, as_of=date(2023, 6, 20))
    assert {t.township: t.filed_late for t in later.townships} == {"kaifaqu": 1, "qingquan": 0}
    assert [e.id for e in later.missing] == [b.id]


def test_the_report_month_turns_on_the_deadline(db, reference):
    assert service.report_period(db, date(2023, 6, 18)) == MAY
    assert service.report_period(db, date(2023, 6, 17)) == MAY - 1
    assert service.report_period(db, date(2023, 6, 30)) == MAY


def test_months_are_parsed_strictly():
    assert service.parse_month("2023-05") == MAY and service.month_text(MAY) == "2023-05"
    for bad in ("2023-13", "2023/05", "23-05", "", "2023-5x"):
        with pytest.raises(ValidationFailed) as e:
            service.parse_month(bad)
        assert e.value.errors[0].field == "month"
