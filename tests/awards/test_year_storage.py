"""compute_year stores every line with one audit entry, and every honour event it adds with one, in the year's
transaction: the entries go in by one COPY, and each is the record `audit.record` would write (and reaches the
change feed)."""

import json
from datetime import date

from sqlalchemy import insert, select, text

from app.accounts.permissions import SYSTEM
from app.audit.models import AuditEntry
from app.awards import facts as award_facts
from app.awards import proposals
from app.awards.event_models import parse_event
from app.awards.models import AwardLine, EnterpriseEvent
from app.enterprises.models import Honour


def _events(db, ent, events):
    rows = []
    for e in events:
        ev = parse_event(e)
        rows.append(
            {
                "enterprise_id": ent.id,
                "type": ev.type,
                "event_date": ev.date,
                "data": ev.model_dump(mode="json"),
                "facts": None,
                "event_key": award_facts.event_key(ev),
                "honour_id": None,
                "note": None,
                "recorded_by": "test",
            }
        )
    db.execute(insert(EnterpriseEvent), rows)


def test_a_year_stores_each_line_and_honour_event_with_its_audit_entry(db, make):
    a = make.enterprise(township="qingquan")
    b = make.enterprise(township=make.enterprise().township)
    db.execute(
        insert(Honour),
        [
            {
                "enterprise_id": a.id,
                "code": "specialized_sme",
                "level": "provincial",
                "outcome": "new",
                "honour_date": date(2023, 6, 1),
            },
            {
                "enterprise_id": b.id,
                "code": "gazelle",
                "level": "provincial",
                "outcome": "new",
                "honour_date": date(2023, 3, 1),
            },
        ],
    )
    _events(db, a, [{"type": "first_above_scale", "date": "2023-04-01"}])
    _events(db, b, [{"type": "skills_contest", "date": "2023-05-02", "participants": 120}])
    db.flush()
    before = db.scalar(select(text("coalesce(max(id), 0)")).select_from(AuditEntry))

    out = proposals.compute_year(db, actor=SYSTEM, year=2023)
    db.flush()

    assert out.honour_events_created == 2 and out.created_lines >= 2
    entries = list(db.scalars(select(AuditEntry).where(AuditEntry.id > before).order_by(AuditEntry.id)))
    lines = list(db.scalars(select(AwardLine).order_by(AwardLine.id)))
    assert len(lines) == out.created_lines
    townships = {a.id: a.township, b.id: b.township}
    proposed = {e.entity_id: e for e in entries if e.action == "propose"}
    assert len(proposed) == len(lines)
    for line in lines:
        e = proposed[str(line.id)]
        assert (e.entity_type, e.enterprise_id, e.township) == (
            "award_line",
            line.enterprise_id,
            townships[line.enterprise_id],
        )
        assert e.changes == {
            "rule_id": [None, line.rule_id],
            "computed_yuan": [None, line.computed_yuan],
            "status": [None, "proposed"],
        }
        assert e.note == "按 2023 年已记录事件批量生成"
        assert (e.actor_kind, e.actor_id, e.actor_name) == (SYSTEM.kind, SYSTEM.id, SYSTEM.name)
        assert isinstance(line.computed_yuan, int) and line.receipt["rule_id"] == line.rule_id
    honour_events = list(db.scalars(select(EnterpriseEvent).where(EnterpriseEvent.honour_id.is_not(None))))
    recorded = {e.entity_id: e for e in entries if e.action == "record"}
    assert len(honour_events) == len(recorded) == 2
    for ev in honour_events:
        e = recorded[str(ev.id)]
        assert (e.entity_type, e.enterprise_id, e.township) == (
            "enterprise_event",
            ev.enterprise_id,
            townships[ev.enterprise_id],
        )
        assert e.changes == {"type": [None, "honour"], "event_date": [None, ev.event_date.isoformat()]}
        assert e.note
    assert len(entries) == len(lines) + 2
    # The stored JSON is the text json.dumps writes (as the ORM insert wrote it).
    raw = db.execute(
        text("SELECT changes::text FROM audit_entry WHERE id = :i"), {"i": entries[0].id}
    ).scalar_one()
    assert raw == json.dumps(entries[0].changes)
    # Every entry reaches the change feed, with its transaction.
    xids = db.execute(
        text("SELECT count(*) FROM audit_entry_xid WHERE audit_entry_id > :b"), {"b": before}
    ).scalar_one()
    assert xids == len(entries)

    again = proposals.compute_year(db, actor=SYSTEM, year=2023)
    db.flush()
    assert again.created_lines == 0 and again.existing_lines == out.created_lines
    assert db.scalar(select(text("count(*)")).select_from(AuditEntry).where(AuditEntry.id > before)) == len(
        entries
    )
