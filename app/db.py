"""Engine, the request's unit of work (admitted by a slot), the health check, the declarative Base and its naming convention."""

import asyncio
import functools
import inspect
import time
import weakref
from collections.abc import AsyncIterator
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import anyio
import anyio.to_thread
from sqlalchemy import BigInteger, Integer, MetaData, create_engine, event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from app.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, **kw) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kw)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()

        return engine
    if "poolclass" not in kw:
        settings = get_settings()
        kw.setdefault("pool_size", settings.db_pool_size)
        kw.setdefault("max_overflow", settings.db_max_overflow)
        kw.setdefault("pool_timeout", settings.db_pool_timeout_s)
    engine = create_engine(url, **kw)
    _ping_when_idle(engine)
    return engine


IDLE_PING_S = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """A connection back from the pool is tested (SELECT 1) only if it sat idle more than IDLE_PING_S: one that
    is in steady use is known to be alive, and pinging it cost a round trip on every request (pool_pre_ping).
    A dead one is replaced before the request sees it: DisconnectionError makes the pool reconnect."""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_conn, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, proxy):
        if time.monotonic() - record.info.get("idle_since", 0.0) <= IDLE_PING_S:
            return
        try:
            cur = dbapi_conn.cursor()
            cur.execute("SELECT 1")
            cur.close()
            dbapi_conn.rollback()
        except Exception as e:
            raise exc.DisconnectionError() from e


def bounded_waits(
    *, lock_ms: int, statement_ms: int, idle_ms: int, connect_s: int, read_only: bool = False
) -> dict:
    """libpq connection arguments: no statement, lock wait or idle transaction lasts unbounded; with
    `read_only`, the server refuses any write on the connection."""
    options = f"-c lock_timeout={lock_ms} -c statement_timeout={statement_ms}"
    if read_only:
        options += " -c default_transaction_read_only=on"
    if idle_ms:
        options += f" -c idle_in_transaction_session_timeout={idle_ms}"
    return {"options": options, "connect_timeout": max(2, connect_s)}


@lru_cache
def get_engine() -> Engine:
    """The application's engine. On PostgreSQL every connection bounds its waits (settings
    YUMIAO_DB_LOCK_TIMEOUT_MS, YUMIAO_DB_STATEMENT_TIMEOUT_MS, YUMIAO_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    YUMIAO_DB_CONNECT_TIMEOUT_S) and a pool checkout waits at most YUMIAO_DB_POOL_TIMEOUT_S."""
    settings = get_settings()
    if settings.is_sqlite:
        engine = make_engine(settings.database_url)
    else:
        engine = make_engine(
            settings.database_url,
            connect_args=bounded_waits(
                lock_ms=settings.db_lock_timeout_ms,
                statement_ms=settings.db_statement_timeout_ms,
                idle_ms=settings.db_idle_in_transaction_timeout_ms,
                connect_s=settings.db_connect_timeout_s,
            ),
        )
    # Every statement that comes back shows the database answering (for /healthz under load).
    event.listen(engine, "after_cursor_execute", lambda *_: _database_answered())
    return engine


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    import app.models  # noqa: F401  (every mapper known before the first flush)

    return sessionmaker(bind=get_engine(), expire_on_commit=False)


_read_makers: "weakref.WeakKeyDictionary[object, async_sessionmaker[AsyncSession]]" = (
    weakref.WeakKeyDictionary()
)


def get_read_sessionmaker() -> async_sessionmaker[AsyncSession] | None:
    """Sessions of the API's read-only requests (app/api/reads.py) on PostgreSQL: asynchronous (psycopg on
    the event loop, no trip to a thread), on an engine of this event loop with a pool of its own whose
    connections run each statement in its own read-only transaction (autocommit: no BEGIN, no COMMIT; the
    server refuses any write). None on SQLite, where those requests use the application's engine on a
    thread."""
    settings = get_settings()
    if settings.is_sqlite:
        return None
    loop = asyncio.get_running_loop()  # an asyncio connection belongs to the loop that opened it
    maker = _read_makers.get(loop)
    if maker is None:
        engine = create_async_engine(
            settings.database_url,
            isolation_level="AUTOCOMMIT",
            # Sized as the other pool: a request holds a connection of one of the two, never both (fewer kept
            # open would make a steady read load open and close connections).
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_s,
            connect_args=bounded_waits(
                lock_ms=settings.db_lock_timeout_ms,
                statement_ms=settings.db_statement_timeout_ms,
                idle_ms=0,
                connect_s=settings.db_connect_timeout_s,
                read_only=True,
            ),
        )
        _ping_when_idle(engine.sync_engine)
        event.listen(engine.sync_engine, "after_cursor_execute", lambda *_: _database_answered())
        maker = _read_makers[loop] = async_sessionmaker(bind=engine, expire_on_commit=False)
    return maker


# --- the request's unit of work ----------------------------------------------------------------
#
# A request that holds a transaction (and so perhaps a row lock) must never wait for something
# another waiting request holds. FastAPI runs each sync dependency, the handler and the response
# validation in separate trips to anyio's thread pool; if the pool is full of requests blocked on
# a row lock, the lock holder cannot get a thread back to finish — a deadlock no timeout ends.
# So a request first takes one of `request_slots` slots (waiting asynchronously, holding nothing),
# only then opens its session, and releases the slot after commit or rollback. The thread pool has
# more threads than there are slots and the connection pool more connections, so an admitted
# request always gets a thread and a connection at once; commit and rollback run on a thread of
# their own. A request that waits too long for a slot gets 503 with Retry-After.


class RequestSlots:
    def __init__(self, size: int) -> None:
        self.size = size
        self.semaphore = anyio.Semaphore(size)
        self.waiting = 0

    @property
    def active(self) -> int:
        return self.size - self.semaphore.value

    async def acquire(self, timeout: float) -> None:
        self.waiting += 1
        try:
            with anyio.move_on_after(timeout) as scope:
                await self.semaphore.acquire()
        finally:
            self.waiting -= 1
        if scope.cancelled_caught:
            from app.errors import ServiceBusy

            raise ServiceBusy(
                "系统繁忙：同时处理的请求已满，请稍后重试", retry_after=max(1, round(timeout / 4))
            )

    def release(self) -> None:
        self.semaphore.release()


_slots_by_loop: "weakref.WeakKeyDictionary[object, RequestSlots]" = weakref.WeakKeyDictionary()


def request_slots() -> RequestSlots:
    """This event loop's slots (one loop per worker process; tests may run several in turn)."""
    loop = asyncio.get_running_loop()
    slots = _slots_by_loop.get(loop)
    if slots is None:
        slots = _slots_by_loop[loop] = RequestSlots(get_settings().request_slots)
    return slots


def _end(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
    finally:
        session.close()  # rolls back whatever was not committed, returns the connection


async def _on_own_thread(fn, *args):
    # A limiter of its own: finishing a transaction never queues behind requests that wait on it.
    return await anyio.to_thread.run_sync(fn, *args, limiter=anyio.CapacityLimiter(1))


_request_session: ContextVar[Session | None] = ContextVar("request_session", default=None)


async def get_session() -> AsyncIterator[Session]:
    """The request's unit of work: commit once at the end, or roll everything back."""
    slots = request_slots()
    await slots.acquire(get_settings().request_queue_timeout_s)
    try:
        session = get_sessionmaker()()
        _request_session.set(session)  # seen by the handler's thread (finish_on_handler_thread)
        ok = False
        try:
            yield session
            ok = True
        finally:
            with anyio.CancelScope(shield=True):
                if session.in_transaction():
                    await _on_own_thread(_end, session, ok)
                else:
                    session.close()
    finally:
        slots.release()


def finish_on_handler_thread(endpoint):
    """A sync handler whose answer is complete (a Response already rendered, not streamed) commits the
    request's transaction on the thread it ran on, as its last step: the commit is still before the response
    is sent and a failed commit is still an error (the exception handlers answer it), but the request no
    longer waits for a second trip to the thread pool to finish its transaction. Anything else (an answer
    FastAPI still validates, a stream, an exception) is finished by `get_session` as before."""
    if (
        inspect.iscoroutinefunction(endpoint)
        or inspect.isgeneratorfunction(endpoint)
        or inspect.isasyncgenfunction(endpoint)
    ):
        return endpoint
    from starlette.responses import Response, StreamingResponse

    @functools.wraps(endpoint)
    def run(*args, **kwargs):
        result = endpoint(*args, **kwargs)
        if isinstance(result, Response) and not isinstance(result, StreamingResponse):
            session = _request_session.get()
            if session is not None and session.in_transaction():
                session.commit()
        return result

    return run


# --- health ----------------------------------------------------------------------------------


@lru_cache
def _health_engine() -> Engine:
    """A connection of its own for /healthz: answers while every request connection is busy."""
    settings = get_settings()
    if settings.is_sqlite:
        return get_engine()
    return make_engine(
        settings.database_url,
        pool_size=1,
        max_overflow=0,
        pool_timeout=0.5,
        connect_args=bounded_waits(lock_ms=500, statement_ms=800, idle_ms=0, connect_s=2),
    )


_last_answer = 0.0  # time.monotonic() when the database last finished a transaction or a ping
RECENT = 2.0  # seconds


def _database_answered() -> None:
    global _last_answer
    _last_answer = time.monotonic()


def _ping() -> str:
    from sqlalchemy import text

    try:
        with _health_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:  # noqa: BLE001 - any database failure means unhealthy
        return type(e).__name__
    _database_answered()
    return "ok"


def warm_up() -> None:
    """Import every mapper, make the engines and open the pool's connections before the first
    request: a burst then finds its connections ready (no connection set-up while the database may be
    at its connection limit). A database that is not up yet is no reason not to start (/healthz
    says so)."""
    from sqlalchemy.orm import configure_mappers

    get_sessionmaker()
    configure_mappers()
    _ping()
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        conns = []
        try:
            for _ in range(get_settings().db_pool_size):
                conns.append(engine.connect())
        except Exception:  # noqa: BLE001, S110 - fewer ready connections is no reason not to start
            pass
        finally:
            for c in conns:
                c.close()  # back into the pool, kept open


_health_limiters: "weakref.WeakKeyDictionary[object, anyio.CapacityLimiter]" = weakref.WeakKeyDictionary()


async def database_health(timeout: float = 0.8) -> str:
    """ "ok", or why not, within `timeout` seconds whatever the load: the database answered a
    request or a ping in the last RECENT seconds, or a ping on a thread and a connection of its own
    answers in time (it is abandoned when it takes longer)."""
    if time.monotonic() - _last_answer < RECENT:
        return "ok"  # a request's transaction or a ping just finished: no need to ask again
    loop = asyncio.get_running_loop()
    limiter = _health_limiters.get(loop)
    if limiter is None:
        limiter = _health_limiters[loop] = anyio.CapacityLimiter(2)
    with anyio.move_on_after(timeout):
        return await anyio.to_thread.run_sync(_ping, limiter=limiter, abandon_on_cancel=True)
    return "timeout"


# BIGINT on PostgreSQL, INTEGER on SQLite (so it stays the autoincrementing rowid alias).
BigId = BigInteger().with_variant(Integer, "sqlite")
