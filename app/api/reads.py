"""The API's read-only requests on the event loop.

A handler that only reads declares `reader: Annotated[Reader, reading("enterprises:read")]` and is an
`async def` that runs its service function with `await reader.run(fn, ...)`. On PostgreSQL the function runs
on an asynchronous session (SQLAlchemy's asyncio extension: the synchronous service code unchanged, its
statements awaited on the event loop through psycopg), so the request takes no trip to the thread pool, and
on the read-only engine of `app.db.get_read_sessionmaker` (no BEGIN or COMMIT; a write is refused by the
server). One dependency does what `SessionDep` + `scoped()` do for the other handlers: a request slot first
(503 with Retry-After when none frees in time), then the caller (a known API key is checked again by the
first statement, as in `app.accounts.service.check_api_key_in`), then the scope (403).

A read may see each statement's own snapshot; handlers marked this way read in one statement or in
statements whose answers stay coherent on their own (a list's year, then its page).

On SQLite, or when the application's session is replaced (`app.db.get_session` overridden, as the tests
do), the function runs on that synchronous session in a thread.
"""

import functools
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app import deps
from app.accounts.permissions import Principal
from app.config import get_settings
from app.db import get_read_sessionmaker, get_session, request_slots
from app.errors import Unauthorized

T = TypeVar("T")


class Reader:
    """The caller of a read-only request and the session its reads run on."""

    __slots__ = ("_async", "_sync", "principal")

    def __init__(
        self,
        principal: Principal,
        *,
        async_session: AsyncSession | None = None,
        session: Session | None = None,
    ):
        self.principal = principal
        self._async = async_session
        self._sync = session

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`fn(session, *args, **kwargs)` on the request's session."""
        if self._async is not None:
            return await self._async.run_sync(fn, *args, **kwargs)
        return await anyio.to_thread.run_sync(functools.partial(fn, self._sync, *args, **kwargs))


async def _caller(request: Request, session: Session, run: Callable) -> Principal:
    principal = getattr(request.state, "principal", None)
    if principal is None:
        principal = deps._known_key(request, session)  # checked by the first statement
    if principal is None:
        principal = await run(functools.partial(deps._principal, request))  # a key not yet seen, a cookie
    if principal is None:
        raise Unauthorized()
    return principal


_reading_cache: dict[str, Any] = {}


def reading(scope: str):
    """`reader: Annotated[Reader, reading("enterprises:read")]`: the request slot, the caller and the scope."""
    if scope in _reading_cache:
        return _reading_cache[scope]

    async def dep(request: Request) -> AsyncIterator[Reader]:
        override = request.app.dependency_overrides.get(get_session)
        maker = None if override is not None else get_read_sessionmaker()
        if maker is None:
            async for reader in _on_a_thread(request, scope, override):
                yield reader
            return
        slots = request_slots()
        await slots.acquire(get_settings().request_queue_timeout_s)
        try:
            session = maker()
            try:
                sync = session.sync_session
                principal = await _caller(request, sync, session.run_sync)
                principal.require(scope)
                yield Reader(principal, async_session=session)
            finally:
                with anyio.CancelScope(shield=True):
                    await session.close()
        finally:
            slots.release()

    _reading_cache[scope] = Depends(dep, scope="function")
    return _reading_cache[scope]


async def _on_a_thread(request: Request, scope: str, override) -> AsyncIterator[Reader]:
    """SQLite, or a replaced session: the synchronous unit of work of every other request."""
    sessions: Any = override() if override is not None else get_session()
    if hasattr(sessions, "__anext__"):
        session = await sessions.__anext__()
    else:
        session = next(sessions)
    try:

        async def run(fn):
            return await anyio.to_thread.run_sync(fn, session)

        principal = await _caller(request, session, run)
        principal.require(scope)
        yield Reader(principal, session=session)
    finally:
        if hasattr(sessions, "aclose"):
            await sessions.aclose()
        else:
            sessions.close()
