"""Keep-alive connections spread over the workers (app/balance.py)."""

import asyncio
import os
import subprocess
import time

from app import balance


async def _ok(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _request(mw, port: int) -> list[tuple[bytes, bytes]]:
    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "client": ("127.0.0.1", port), "headers": []}
    asyncio.run(mw(scope, None, send))
    return sent[0]["headers"]


def test_a_worker_with_more_connections_than_its_sibling_closes_the_excess(tmp_path, monkeypatch):
    monkeypatch.setattr(balance, "_shared_dir", lambda: tmp_path)
    sibling = subprocess.Popen(["sleep", "30"])  # a sibling worker that is running and serves nothing
    try:
        (tmp_path / str(sibling.pid)).write_text("0")
        mw = balance.ConnectionBalanceMiddleware(_ok)
        assert (tmp_path / str(os.getpid())).read_text() == "0"
        for port in range(40000, 40006):  # six connections on this worker
            assert (b"connection", b"close") not in _request(mw, port)
        mw.next_check = 0  # the next request checks the counts
        closed = [port for port in range(40000, 40006) if (b"connection", b"close") in _request(mw, port)]
        assert len(closed) == 3  # six here, none there: three move
        assert (tmp_path / str(os.getpid())).read_text() == "6"
        time.sleep(0.01)
        mw.next_check = 0
        (tmp_path / str(sibling.pid)).write_text("3")  # they did
        assert all((b"connection", b"close") not in _request(mw, p) for p in range(40000, 40003))
    finally:
        sibling.kill()
        sibling.wait()


def test_a_sibling_that_is_gone_is_forgotten_and_a_single_process_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(balance, "_shared_dir", lambda: tmp_path)
    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / str(gone.pid)).write_text("0")
    mw = balance.ConnectionBalanceMiddleware(_ok)
    for port in range(40000, 40006):
        _request(mw, port)
    mw.next_check = 0
    assert all((b"connection", b"close") not in _request(mw, p) for p in range(40000, 40006))
    assert not (tmp_path / str(gone.pid)).exists()
    monkeypatch.undo()
    assert balance._shared_dir() is None  # the tests' process is no worker of a supervisor
    assert balance.ConnectionBalanceMiddleware(_ok).own is None
