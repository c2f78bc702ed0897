"""Bulk loading of generated enterprises (demo data and benchmarks)."""

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.db import utcnow
from app.demo.generator import enterprises
from app.enterprises.models import Enterprise, EnterpriseFigure, Honour


def load(session: Session, n: int, seed: int = 20230323, batch: int = 2000) -> int:
    """Insert n generated enterprises with figures and honours. Fast path: no audit (seed data)."""
    now = utcnow()
    buf: list[dict] = []
    count = 0

    def flush(items: list[dict]) -> None:
        rows = [
            {k: v for k, v in e.items() if k not in ("figures", "honours")}
            | {"version": 1, "created_at": now, "updated_at": now}
            for e in items
        ]
        ids = [
            r[0]
            for r in session.execute(
                insert(Enterprise).returning(Enterprise.id, sort_by_parameter_order=True), rows
            )
        ]
        figs, hons = [], []
        for eid, e in zip(ids, items, strict=True):
            figs.extend({"enterprise_id": eid, **f} for f in e["figures"])
            hons.extend({"enterprise_id": eid, "created_at": now, **h} for h in e["honours"])
        session.execute(insert(EnterpriseFigure), figs)
        if hons:
            session.execute(insert(Honour), hons)

    for e in enterprises(n, seed=seed):
        buf.append(e)
        if len(buf) >= batch:
            flush(buf)
            count += len(buf)
            buf = []
    if buf:
        flush(buf)
        count += len(buf)
    session.flush()
    return count
