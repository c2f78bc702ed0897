"""What a database error that no check caught means to the client: busy (503 with Retry-After) or a
conflict with a concurrent request (409) — never a 500."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.errors import db_error_to_app_error


def _fail(engine, *statements):
    with engine.connect() as c, pytest.raises(OperationalError) as e:
        for s in statements:
            c.execute(text(s))
    return e.value


def test_a_statement_that_runs_too_long_is_503_retry_later(engine):
    err = db_error_to_app_error(_fail(engine, "SET LOCAL statement_timeout = 50", "SELECT pg_sleep(2)"))
    assert (err.status_code, err.code, err.retry_after) == (503, "service_busy", 5)
    assert "查询超时" in err.detail


def test_a_lock_waited_for_too_long_is_503_retry_later(engine):
    with engine.connect() as holder:
        holder.execute(text("SELECT code FROM township ORDER BY code LIMIT 1 FOR UPDATE"))
        err = db_error_to_app_error(
            _fail(
                engine,
                "SET LOCAL lock_timeout = 50",
                "SELECT code FROM township ORDER BY code LIMIT 1 FOR UPDATE",
            )
        )
        holder.rollback()
    assert (err.status_code, err.retry_after) == (503, 1)
    assert "等待超时" in err.detail


def test_the_app_engine_bounds_every_wait(engine):
    with engine.connect() as c:
        values = dict(
            c.execute(
                text(
                    "SELECT name, setting FROM pg_settings WHERE name IN "
                    "('lock_timeout', 'statement_timeout', 'idle_in_transaction_session_timeout')"
                )
            ).all()
        )
    assert values == {
        "lock_timeout": "5000",
        "statement_timeout": "30000",
        "idle_in_transaction_session_timeout": "60000",
    }


def test_no_free_connection_is_503_problem_json_with_retry_after(app):
    probe = FastAPI()

    @probe.get("/api/v1/probe-pool")
    def exhausted():
        raise PoolTimeout("QueuePool limit of size 10 overflow 15 reached")

    app.router.routes.extend(r for r in probe.router.routes if getattr(r, "path", "") == "/api/v1/probe-pool")
    try:
        with TestClient(app) as client:
            r = client.get("/api/v1/probe-pool")
    finally:
        app.router.routes[:] = [
            r for r in app.router.routes if getattr(r, "path", "") != "/api/v1/probe-pool"
        ]
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"] == "2"
    assert r.json()["code"] == "service_busy"
