"""The bare reference the API is measured against: Starlette + a psycopg pool, no ORM, no FastAPI.

    YUMIAO_DATABASE_URL=postgresql://... uvicorn bench.ref_app:app

It does the same work per request as the application's GET /api/v1/enterprises/{id} and
GET /api/v1/enterprises (page 1 by name): the API-key lookup by SHA-256 hash (scope checked), the
same SQL (the enterprise, its yearly figures, its honours; or the latest figures year and one keyset
page joined to that year's revenue), JSON out with the ETag. Nothing else: no rate limit, no request
log, no validation layer — the floor that the application's overhead is measured against.
"""

import base64
import hashlib
import json
import os
from datetime import date, datetime
from decimal import Decimal

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

DSN = os.environ.get("YUMIAO_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/yumiao").replace(
    "postgresql+psycopg://", "postgresql://"
)
pool = AsyncConnectionPool(DSN, min_size=4, max_size=10, open=False, kwargs={"row_factory": dict_row})

ENT_COLS = (
    "id, uscc, name, township, chain, industry, size, ownership, above_scale, mu_class, "
    "platform_registered_date, version, created_at, updated_at"
)
FIG_COLS = "year, revenue_yuan, main_revenue_yuan, output_value_yuan, rd_spend_yuan, tax_yuan, employees, land_mu, energy_tce"


def _default(v):
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    raise TypeError(type(v))


def _json(body, status=200, headers=None, media="application/json") -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, default=_default, separators=(",", ":")).encode(),
        status_code=status,
        headers=headers,
        media_type=media,
    )


def _problem(status: int, detail: str) -> Response:
    return _json({"status": status, "detail": detail}, status, media="application/problem+json")


async def _authorise(conn, request: Request, scope: str) -> Response | None:
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        return _problem(401, "未认证")
    digest = hashlib.sha256(auth[7:].strip().encode()).hexdigest()
    cur = await conn.execute(
        "SELECT id, name, scopes FROM api_key WHERE key_hash = %s AND revoked_at IS NULL", (digest,)
    )
    key = await cur.fetchone()
    if key is None:
        return _problem(401, "API 密钥无效或已吊销")
    if scope not in key["scopes"].split(","):
        return _problem(403, f"缺少权限 {scope}")
    return None


async def get_enterprise(request: Request) -> Response:
    eid = int(request.path_params["id"])
    async with pool.connection() as conn:
        refused = await _authorise(conn, request, "enterprises:read")
        if refused:
            return refused
        cur = await conn.execute(
            f"SELECT {ENT_COLS} FROM enterprise WHERE id = %s AND deleted_at IS NULL", (eid,)
        )
        ent = await cur.fetchone()
        if ent is None:
            return _problem(404, "未找到该企业")
        cur = await conn.execute(
            f"SELECT {FIG_COLS} FROM enterprise_figure WHERE enterprise_id = %s ORDER BY year DESC", (eid,)
        )
        ent["figures"] = await cur.fetchall()
        cur = await conn.execute(
            "SELECT id, code, level, outcome, honour_date, certificate_no FROM honour "
            "WHERE enterprise_id = %s ORDER BY honour_date DESC",
            (eid,),
        )
        ent["honours"] = await cur.fetchall()
    return _json(ent, headers={"ETag": f'"{ent["version"]}"'})


async def list_enterprises(request: Request) -> Response:
    limit = int(request.query_params.get("limit", 50))
    async with pool.connection() as conn:
        refused = await _authorise(conn, request, "enterprises:read")
        if refused:
            return refused
        year = (await (await conn.execute("SELECT max(year) AS y FROM enterprise_figure")).fetchone())["y"]
        cur = await conn.execute(
            "SELECT e.id, e.uscc, e.name, e.township, e.size, e.ownership, e.above_scale, e.mu_class, f.revenue_yuan "
            "FROM enterprise e LEFT JOIN enterprise_figure f ON f.enterprise_id = e.id AND f.year = %s "
            "WHERE e.deleted_at IS NULL ORDER BY e.name, e.id LIMIT %s",
            (year, limit + 1),
        )
        rows = await cur.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = None
    if more:
        raw = json.dumps(
            {"s": "name", "k": rows[-1]["name"], "i": rows[-1]["id"]},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    return _json({"items": rows, "next_cursor": cursor, "year": year})


async def healthz(request: Request) -> Response:
    return _json({"status": "ok"})


async def lifespan(app):
    await pool.open()
    yield
    await pool.close()


app = Starlette(
    routes=[
        Route("/api/v1/enterprises/{id:int}", get_enterprise),
        Route("/api/v1/enterprises", list_enterprises),
        Route("/healthz", healthz),
    ],
    lifespan=lifespan,
)
