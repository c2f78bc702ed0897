"""Keep-alive connections spread over the uvicorn workers.

`uvicorn --workers N` has every worker accept from one listening socket, and a worker that wakes takes every
connection waiting: a client that opens its pool of keep-alive connections at once (the platform's HTTP client, a
proxy) often has them all on one worker, which then serves every request on one core while the others idle —
for as long as the connections live. So each worker counts the connections it served in the last few seconds and
publishes the count in a small file beside its siblings' (one directory per supervisor, on /dev/shm when there
is one); a worker holding two or more connections more than the least busy sibling answers the next requests with
`Connection: close` (HTTP/1.1: the client opens a new connection for its next request, and the worker that is
idle — blocked on the socket, not busy on the CPU — accepts it first) until the counts are within one.

Nothing changes for a single process (no sibling: `uvicorn` without `--workers`, the tests), nor when the
connection is not known by the client's port (behind a proxy that forwards the client's address, port 0).
"""

import multiprocessing
import os
import shutil
import tempfile
import time
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CHECK_S = 0.1  # how often a worker publishes its count and reads its siblings'
SEEN_S = 2.0  # a connection counts while it sent a request this recently


def _shared_dir() -> Path | None:
    """The directory the workers of this supervisor share, or None when this process is not one of several."""
    if multiprocessing.parent_process() is None:
        return None  # not a worker process started by uvicorn's supervisor
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    d = base / f"yumiao-workers-{os.getppid()}"
    try:
        d.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return None
    for old in base.glob(
        "yumiao-workers-*"
    ):  # those of supervisors that have stopped (workers end without atexit)
        try:
            os.kill(int(old.name.rsplit("-", 1)[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(old, ignore_errors=True)
        except (ValueError, OSError):
            continue
    return d


class ConnectionBalanceMiddleware:
    """Pure ASGI middleware (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: dict[tuple, float] = {}
        self.next_check = 0.0
        self.to_close = 0
        self.dir = _shared_dir()
        self.own: Path | None = None
        if self.dir is not None:
            self.own = self.dir / str(os.getpid())
            self._publish(0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.own is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        now = time.monotonic()
        if client and client[1]:
            client = tuple(client)
            self.seen[client] = now
        else:
            client = None
        if now >= self.next_check:
            self._check(now)
        if self.to_close and client is not None:
            self.to_close -= 1
            del self.seen[client]

            async def send_closing(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
                await send(message)

            await self.app(scope, receive, send_closing)
            return
        await self.app(scope, receive, send)

    def _publish(self, count: int) -> None:
        if self.own is None:
            return
        try:
            self.own.write_text(str(count))
        except OSError:
            self.own = None  # no shared directory after all: serve as a single process

    def _check(self, now: float) -> None:
        self.next_check = now + CHECK_S
        old = now - SEEN_S
        for k in [k for k, t in self.seen.items() if t < old]:
            del self.seen[k]
        mine = len(self.seen)
        self._publish(mine)
        if self.own is None or self.dir is None:
            return
        others = []
        try:
            for f in self.dir.iterdir():
                if f.name == self.own.name:
                    continue
                try:
                    os.kill(int(f.name), 0)  # a sibling still running
                    others.append(int(f.read_text() or 0))
                except (ValueError, ProcessLookupError, FileNotFoundError):
                    f.unlink(missing_ok=True)
                except OSError:
                    continue
        except OSError:
            return
        excess = mine - min(others) if others else 0
        self.to_close = excess // 2 if excess >= 2 else 0
