"""Test harness: a throwaway PostgreSQL database built by the migrations, one per test run.

Each test runs inside a transaction that is rolled back. Tests that need real commits
(concurrency, the live server for the browser) use `committed` and the tables are
emptied afterwards.
"""

import atexit
import contextlib
import itertools
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text

ADMIN_URL = os.environ.get("YUMIAO_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = f"yumiao_test_{os.getpid()}_{secrets.token_hex(3)}"
ROOT = Path(__file__).resolve().parent.parent


def _url_for(db: str) -> str:
    base = ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{db}"


os.environ["YUMIAO_DATABASE_URL"] = _url_for(DB_NAME)
os.environ.setdefault("YUMIAO_SECRET_KEY", "test-" + secrets.token_hex(16))
os.environ["YUMIAO_LOG_JSON"] = "true"

from app.config import get_settings, normalise_database_url  # noqa: E402

PASSWORD = "correct-horse-9"
KEEP_TABLES = {"township", "alembic_version", "data_version"}


@pytest.fixture(scope="session")
def database_url():
    admin = create_engine(normalise_database_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    except Exception as e:  # noqa: BLE001
        pytest.exit(f"PostgreSQL is required for the tests ({ADMIN_URL}): {e}", returncode=3)
    url = os.environ["YUMIAO_DATABASE_URL"]
    from app.cli import run_migrations

    run_migrations(url)
    yield url
    from app.db import get_engine

    get_engine().dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url):
    from app import wiring
    from app.db import get_engine

    wiring.connect()  # services called directly raise their domain events as under the web service

    get_settings.cache_clear()
    return get_engine()


@pytest.fixture
def db(engine):
    """A session whose work is rolled back at the end of the test (commits become savepoints)."""
    from sqlalchemy.orm import Session

    conn = engine.connect()
    outer = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield session
    session.close()
    outer.rollback()
    conn.close()


@pytest.fixture(scope="session")
def app(engine):
    from app.main import create_app

    return create_app()


@pytest.fixture
def client(app, db):
    """An HTTP client whose requests share the test's rolled-back transaction."""
    from fastapi.testclient import TestClient

    from app.db import get_session

    def _session():
        db.commit()  # keep the test's set-up; the request gets a savepoint of its own
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise

    app.dependency_overrides[get_session] = _session
    with TestClient(app, base_url="http://testserver") as c:
        yield c
    app.dependency_overrides.clear()


@pytest.fixture
def committed(engine):
    """For tests that need real commits: a sessionmaker; every table is emptied afterwards."""
    from sqlalchemy.orm import sessionmaker

    yield sessionmaker(bind=engine, expire_on_commit=False)
    truncate_all(engine)


def truncate_all(engine) -> None:
    from sqlalchemy.exc import OperationalError

    from app.db import Base

    names = [t.name for t in Base.metadata.sorted_tables if t.name not in KEEP_TABLES]
    statement = text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE")
    # A live server may still be finishing a request the browser sent last (its transaction holds
    # share locks on some of these tables); PostgreSQL then breaks the deadlock by failing the
    # TRUNCATE, which is safe to run again once that request has committed.
    for attempt in range(10):
        try:
            with engine.begin() as c:
                c.execute(statement)
            break
        except OperationalError as e:
            if attempt == 9 or getattr(e.orig, "sqlstate", None) not in ("40P01", "55P03"):
                raise
            time.sleep(0.5)
    from sqlalchemy.orm import Session

    from app.policies.store import sync_shipped
    from app.pools.store import install_shipped

    with Session(
        engine
    ) as s:  # the shipped policy documents and pool definitions are reference data, like the townships
        sync_shipped(s)
        install_shipped(s)
        s.commit()


# --- factories -------------------------------------------------------------------------------


# One sequence for the whole run: two factories (even one reusing a freed object's id) never draw the same
# 统一社会信用代码.
_USCC_SEQ = itertools.count(1)


class Factory:
    def __init__(self, session):
        self.s = session
        self._n = 0

    def user(self, role="county_admin", township=None, username=None, department=None):
        from app.accounts import service as accounts

        self._n += 1
        return accounts.create_user(
            self.s,
            username=username or f"{role}-{township or 'county'}-{self._n}",
            password=PASSWORD,
            role=role,
            township=township,
            department=department,
        )

    def api_key(self, scopes=("enterprises:read", "enterprises:write"), name=None):
        from app.accounts import service as accounts

        self._n += 1
        key, _ = accounts.create_api_key(self.s, name=name or f"key-{self._n}", scopes=list(scopes))
        return key

    def enterprise(self, township="qingquan", **kw):
        import random

        from app.accounts.permissions import SYSTEM
        from app.enterprises import service
        from app.enterprises.schemas import EnterpriseCreate
        from app.enterprises.uscc import generate

        self._n += 1
        data = {
            "uscc": generate(random.Random(f"uscc-{next(_USCC_SEQ)}")),
            "name": f"测试企业{self._n}有限公司",
            "township": township,
            "size": "small",
            "ownership": "private",
            **kw,
        }
        return service.create(self.s, actor=SYSTEM, data=EnterpriseCreate.model_validate(data))


@pytest.fixture
def make(db):
    return Factory(db)


def login(client, user, password=PASSWORD) -> str:
    """Log in through the real form; returns the CSRF token of the new session."""
    r = client.post(
        "/login",
        data={"username": user.username, "password": password, "csrf_token": login_token(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(client)


def login_token(client) -> str:
    """The log-in form's CSRF token (also set as a cookie when the form is shown)."""
    client.get("/login")
    return client.cookies.get("yumiao_login_csrf")


def csrf_of(client) -> str:
    import re

    page = client.get("/enterprises").text
    m = re.search(r'"X-CSRF-Token": "([^"]+)"', page)
    assert m, "page carries no CSRF token"
    return m.group(1)


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


# --- a live server for the browser tests and API fuzzing --------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A uvicorn process (`workers` of them behind one port) against the test database."""

    def __init__(self, database_url: str, log_path: Path, *, workers: int = 1, env: dict | None = None):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.workers = workers
        env = {**os.environ, "YUMIAO_DATABASE_URL": database_url, **(env or {})}
        # The server's log (access lines and errors) goes to a file: a pipe nobody reads would fill up and block it.
        self._log = open(log_path, "w+b")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        atexit.register(self._kill)
        self._wait_ready()

    def _kill(self) -> None:
        """The whole process group (uvicorn's workers too), if the server is still there."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def _wait_ready(self) -> None:
        import httpx

        for _ in range(150):
            if self.proc.poll() is not None:
                break
            try:
                up = httpx.get(self.base + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                up = False
            if up and self.log().count("Application startup complete") >= self.workers:
                return
            time.sleep(0.2)
        self._kill()
        raise RuntimeError("live server did not start: " + self.log()[-2000:])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> float:
        """SIGTERM, as a service manager sends it; returns the seconds until the process ended."""
        if self.proc.poll() is not None:
            return 0.0
        start = time.monotonic()
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            raise AssertionError(f"server ignored SIGTERM for {timeout} s: " + self.log()[-2000:]) from None
        finally:
            self._log.close()
        return time.monotonic() - start


@pytest.fixture(scope="session")
def server(database_url, tmp_path_factory) -> Server:
    """The one live server of a test run: uvicorn in a subprocess against the test database (data must be
    committed to be seen), its log in `server.log_path`. Tests that need a server of their own make a `Server`."""
    import httpx

    srv = Server(database_url, tmp_path_factory.mktemp("live") / "server.log")
    # The OpenAPI document is built on its first request (seconds on a busy machine): built here once, so a
    # client reading it (the generated-client test) meets a server that answers at once.
    httpx.get(srv.base + "/api/v1/openapi.json", timeout=120)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def live_server(server) -> str:
    """The live server's base URL."""
    return server.base


# --- shared domain fixtures -----------------------------------------------------------------------


@pytest.fixture
def reference(db):
    """The 2023 table and the 2022–2024 goals (loaded by the migration; reloaded if a committed test emptied them)."""
    from app.accounts.permissions import SYSTEM
    from app.targets import service

    service.install_reference(db)
    return service.get_set(db, actor=SYSTEM, key="2023")


@pytest.fixture
def firm(make):
    """`firm(township, honours=[(code, level, outcome, date)], **fields)`: an enterprise with exactly these honours
    (the pools and integration tests have a firm of their own, with figures)."""

    def build(township="qingquan", honours=(), **kw):
        hs = [{"code": c, "level": lv, "outcome": o, "honour_date": d.isoformat()} for c, lv, o, d in honours]
        return make.enterprise(township=township, honours=hs, **kw)

    return build


@pytest.fixture
def stay(db):
    """`stay(ent, pool, entered, left=None)`: a pool membership row, written directly (the pools domain's table)."""
    from app.pools.models import PoolMembership

    def add(ent, pool, entered: date, left: date | None = None):
        m = PoolMembership(
            enterprise_id=ent.id,
            pool=pool,
            entry_class="test",
            entered_date=entered,
            entered_by="test",
            left_date=left,
            leave_reason="other" if left else None,
        )
        db.add(m)
        db.flush()
        return m

    return add


@pytest.fixture
def filed(db):
    """`filed(ent, "2023-05", rd, output)`: a filing written through the service, on time."""
    from app.accounts.permissions import SYSTEM
    from app.reports import service
    from app.reports.schemas import FilingIn

    def add(ent, month: str, rd: int, output: int = 1_000_000, today: date | None = None):
        p = service.parse_month(month)
        return service.submit(
            db,
            actor=SYSTEM,
            enterprise_id=ent.id,
            period=p,
            data=FilingIn(rd_spend_yuan=rd, output_value_yuan=output),
            today=today or service.deadline(db, p),
        ).filing

    return add


@pytest.fixture
def count_queries(engine):
    """`with count_queries() as n: ...`; then n[0] is the number of statements sent (savepoints not counted)."""

    @contextmanager
    def counting():
        n = [0]

        def before(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                n[0] += 1

        event.listen(engine, "before_cursor_execute", before)
        try:
            yield n
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counting
