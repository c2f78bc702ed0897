"""What the registry knows about an enterprise, as one immutable value, loaded in bulk.

The pool criteria, the award proposer and the policy matcher all look at the same facts: the
enterprise's fields, its yearly figures, its honours and (for the matcher) the pools it is in.
`load()` reads them for any number of enterprises in a few queries; each engine takes the narrower
view it needs through an adapter next to its own type (`FirmFacts.from_snapshot` for the pool
criteria, `EnterpriseState` for the awards, the matcher reads the snapshot itself).
"""

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Integer, Numeric, Text, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from app.enterprises.models import FIGURE_FIELDS, Enterprise, EnterpriseFigure, Honour

HELD_OUTCOMES = ("new", "renewed")  # an honour that was rejected is not held
_CHUNK = 5000  # ids per IN (...) list


@dataclass(frozen=True)
class HonourRecord:
    code: str
    level: str
    outcome: str
    date: dt.date


@dataclass(frozen=True)
class EnterpriseSnapshot:
    id: int
    uscc: str
    name: str
    township: str
    size: str | None
    ownership: str | None
    above_scale: bool | None
    industry: str | None = None
    chain: str | None = None
    mu_class: str | None = None
    figures: Mapping[int, Mapping[str, int | float | None]] = field(default_factory=dict)  # year -> figures
    honours: tuple[HonourRecord, ...] = ()
    pools: Mapping[str, dt.date] = field(default_factory=dict)  # current memberships: pool -> entered

    def year_for(self, as_of: dt.date) -> int | None:
        """The latest year with figures, not after `as_of`."""
        return max((y for y in self.figures if y <= as_of.year), default=None)

    def figure(self, year: int | None, name: str) -> int | float | None:
        if year is None or year not in self.figures:
            return None
        return self.figures[year].get(name)

    def held(self, *, before: dt.date | None = None, until: dt.date | None = None) -> set[tuple[str, str]]:
        """(code, level) of the honours held, granted before `before` or on or before `until`."""
        return {
            (h.code, h.level)
            for h in self.honours
            if h.outcome in HELD_OUTCOMES
            and (before is None or h.date < before)
            and (until is None or h.date <= until)
        }


_FIELDS = (
    "id",
    "uscc",
    "name",
    "township",
    "size",
    "ownership",
    "above_scale",
    "industry",
    "chain",
    "mu_class",
)


def _fields(e) -> dict:
    return {k: getattr(e, k) for k in _FIELDS}


def of(ent: Enterprise) -> EnterpriseSnapshot:
    """The snapshot of an enterprise whose figures and honours are loaded."""
    return EnterpriseSnapshot(
        **_fields(ent),
        figures={f.year: {k: getattr(f, k) for k in FIGURE_FIELDS} for f in ent.figures},
        honours=tuple(HonourRecord(h.code, h.level, h.outcome, h.honour_date) for h in ent.honours),
    )


_FIGURE_COLUMNS = tuple(getattr(EnterpriseFigure, k) for k in FIGURE_FIELDS)


def load(
    session: Session,
    enterprises: Iterable[Enterprise | int],
    *,
    figures: bool = True,
    honours: bool = True,
    pools: bool = False,
) -> dict[int, EnterpriseSnapshot]:
    """Snapshots of many enterprises (given as rows or ids): one query per kind of fact asked for.

    Visibility is the caller's business: pass only enterprises the actor may see."""
    given = list(enterprises)
    rows = {e.id: _fields(e) for e in given if isinstance(e, Enterprise)}
    ids = list(dict.fromkeys(e if isinstance(e, int) else e.id for e in given))
    figs: dict[int, dict[int, dict]] = defaultdict(dict)
    hons: dict[int, list[HonourRecord]] = defaultdict(list)
    mems: dict[int, dict[str, dt.date]] = defaultdict(dict)
    for chunk in (ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)):
        wanted = [i for i in chunk if i not in rows]
        if wanted:
            for r in session.execute(
                select(
                    Enterprise.id,
                    Enterprise.uscc,
                    Enterprise.name,
                    Enterprise.township,
                    Enterprise.size,
                    Enterprise.ownership,
                    Enterprise.above_scale,
                    Enterprise.industry,
                    Enterprise.chain,
                    Enterprise.mu_class,
                ).where(Enterprise.id.in_(wanted))
            ):
                rows[r.id] = _fields(r)
        if figures:
            # The columns as plain rows: no entity per row in the session (a batch of twenty firms has eighty).
            for eid, year, *values in session.execute(
                select(EnterpriseFigure.enterprise_id, EnterpriseFigure.year, *_FIGURE_COLUMNS).where(
                    EnterpriseFigure.enterprise_id.in_(chunk)
                )
            ):
                figs[eid][year] = dict(zip(FIGURE_FIELDS, values, strict=True))
        if honours:
            for eid, code, level, outcome, day in session.execute(
                select(Honour.enterprise_id, Honour.code, Honour.level, Honour.outcome, Honour.honour_date)
                .where(Honour.enterprise_id.in_(chunk))
                .order_by(Honour.id)  # as `from_json` lists them: the honours' order shows in explanations
            ):
                hons[eid].append(HonourRecord(code, level, outcome, day))
        if pools:
            from app.pools.models import PoolMembership as M  # the registry sits below the pools domain

            for eid, pool, entered in session.execute(
                select(M.enterprise_id, M.pool, M.entered_date).where(
                    M.enterprise_id.in_(chunk), M.left_date.is_(None)
                )
            ):
                mems[eid][pool] = entered
    return {
        i: EnterpriseSnapshot(**rows[i], figures=figs[i], honours=tuple(hons[i]), pools=mems[i])
        for i in ids
        if i in rows
    }


# --- one enterprise in one statement (PostgreSQL)


def json_rows(table, columns, order_by, *where):
    """A correlated subquery: the enterprise's rows of `table` (and `where`) as one JSON array (decimals as
    text, so they keep their digits), in the given order; [] when there are none. PostgreSQL only."""
    fields = []
    for c in columns:
        col = table.c[c]
        fields += [
            c,
            cast(col, Text) if isinstance(col.type, Numeric) and not isinstance(col.type, Integer) else col,
        ]
    agg = func.json_agg(aggregate_order_by(func.json_build_object(*fields), *order_by))
    return (
        select(func.coalesce(agg, literal_column("'[]'::json")))
        .where(table.c.enterprise_id == Enterprise.__table__.c.id, *where)
        .scalar_subquery()
    )


_DECIMAL_FIGURES = frozenset(
    k
    for k in FIGURE_FIELDS
    if isinstance(EnterpriseFigure.__table__.c[k].type, Numeric)
    and not isinstance(EnterpriseFigure.__table__.c[k].type, Integer)
)


@functools.cache
def json_columns() -> tuple:
    """The columns `from_json` reads, for a statement on the enterprise table that selects one enterprise with
    everything `load(..., pools=True)` reads in four: its fields, and its figures, honours and current pool
    memberships as JSON arrays (in the order `load` gives them)."""
    from app.pools.models import PoolMembership  # the registry sits below the pools domain

    ent, fig, hon, mem = (
        Enterprise.__table__,
        EnterpriseFigure.__table__,
        Honour.__table__,
        PoolMembership.__table__,
    )
    return (
        *(ent.c[k] for k in _FIELDS),
        json_rows(fig, ("year", *FIGURE_FIELDS), (fig.c.year,)).label("figures"),
        json_rows(hon, ("code", "level", "outcome", "honour_date"), (hon.c.id,)).label("honours"),
        json_rows(mem, ("pool", "entered_date"), (mem.c.id,), mem.c.left_date.is_(None)).label("pools"),
    )


def from_json(row) -> EnterpriseSnapshot:
    """The snapshot of a row selected with `json_columns()`: the same value `load(..., pools=True)` gives."""
    figures = {}
    for f in row.figures:
        year = f.pop("year")
        for k in _DECIMAL_FIGURES:
            if f[k] is not None:
                f[k] = Decimal(f[k])
        figures[year] = f
    return EnterpriseSnapshot(
        **{k: getattr(row, k) for k in _FIELDS},
        figures=figures,
        honours=tuple(
            HonourRecord(h["code"], h["level"], h["outcome"], dt.date.fromisoformat(h["honour_date"]))
            for h in row.honours
        ),
        pools={p["pool"]: dt.date.fromisoformat(p["entered_date"]) for p in row.pools},
    )
