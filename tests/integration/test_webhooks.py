"""Webhooks: subscriptions over the API; the worker signs, retries with backoff, logs, and gives up."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.accounts.permissions import SYSTEM
from app.db import utcnow
from app.enterprises import service as enterprise_service
from app.enterprises.schemas import HonourIn
from app.integration import webhooks
from app.integration.models import WebhookDelivery
from tests.conftest import bearer
from tests.integration.conftest import all_scopes_key, create_enterprise


class Receiver:
    """A loopback HTTP server thread that records every POST and answers with the next queued status."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def loopback_allowed(monkeypatch):
    """The test receiver listens on 127.0.0.1, which webhooks may reach only when allowed."""
    from app.config import get_settings

    monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", "127.0.0.1")


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def key(committed):
    with committed() as s:
        k = all_scopes_key(s)
        s.commit()
    return k


def _subscribe(client, key, url, **kw):
    r = client.post("/api/v1/webhooks", headers=bearer(key), json={"name": "政策通", "url": url, **kw})
    assert r.status_code == 201, r.text
    return r.json()


def _honour(committed, ent, code="specialized_sme", level="provincial", day="2023-05-10"):
    with committed() as s:
        enterprise_service.add_honour(
            s, actor=SYSTEM, enterprise_id=ent.id, honour=HonourIn(code=code, level=level, honour_date=day)
        )
        s.commit()


def _pass(committed, **kw):
    with httpx.Client(timeout=5) as http:
        return webhooks.run_once(committed, http=http, **kw)


def _until_sent(committed, receiver, n=1, **kw):
    """Run passes until n requests arrived (the change-feed horizon may hold a fresh commit back briefly)."""
    import time

    deadline = time.monotonic() + 15
    while len(receiver.requests) < n and time.monotonic() < deadline:
        _pass(committed, **kw)
        time.sleep(0.1)
    return receiver.requests


def test_changes_are_posted_signed_in_order_and_logged(app, committed, key, receiver):
    with TestClient(app) as client:
        sub = _subscribe(client, key, receiver.url, entity_types=["honour"])
        assert sub["secret"].startswith("whsec_") and sub["entity_types"] == ["honour"]
        assert "secret" not in client.get(f"/api/v1/webhooks/{sub['id']}", headers=bearer(key)).json()
        with committed() as s:
            ent = create_enterprise(s)
            s.commit()
        _honour(committed, ent)
        (req,) = _until_sent(committed, receiver)
        h = req["headers"]
        assert webhooks.verify(sub["secret"], h["X-Yumiao-Timestamp"], req["body"], h["X-Yumiao-Signature"])
        assert not webhooks.verify(
            "whsec_wrong", h["X-Yumiao-Timestamp"], req["body"], h["X-Yumiao-Signature"]
        )
        assert h["X-Yumiao-Event"] == "changes" and h["Content-Type"] == "application/json"
        payload = json.loads(req["body"])
        assert payload["webhook_id"] == sub["id"] and str(payload["delivery_id"]) == h["X-Yumiao-Delivery"]
        assert [c["entity_type"] for c in payload["changes"]] == [
            "honour"
        ]  # the enterprise's create is filtered out
        assert payload["changes"][0]["uscc"] == ent.uscc
        # The feed cursor in the payload continues the feed from there.
        after = client.get(
            "/api/v1/changes",
            headers=bearer(key),
            params={"cursor": payload["next_cursor"], "entity_type": "honour"},
        ).json()
        assert after["items"] == []
        log = client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=bearer(key)).json()
        (d,) = log["items"]
        assert d["status"] == "delivered" and d["attempts"] == 1 and d["last_status_code"] == 200
        assert d["change_count"] == 1 and d["first_entry_id"] == payload["changes"][0]["id"]
        # Nothing new: no second request.
        _pass(committed)
        assert len(receiver.requests) == 1


def test_failures_are_retried_with_backoff_then_given_up(app, committed, key, receiver):
    with TestClient(app) as client:
        sub = _subscribe(client, key, receiver.url)
    with committed() as s:
        ent = create_enterprise(s)
        s.commit()
    receiver.statuses = [500, 503]
    _until_sent(committed, receiver, base_delay=60)
    with committed() as s:
        d = s.scalar(select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub["id"]))
        assert (d.status, d.attempts, d.last_status_code) == ("pending", 1, 500)
        wait = d.next_attempt_at - utcnow()
        assert timedelta(seconds=55) < wait <= timedelta(seconds=60)
    _pass(committed, base_delay=60)  # not due yet
    assert len(receiver.requests) == 1
    later = utcnow() + timedelta(seconds=61)
    _pass(committed, base_delay=60, now=later)
    with committed() as s:
        d = s.get(WebhookDelivery, d.id)
        assert (d.status, d.attempts, d.last_status_code) == ("pending", 2, 503)
        assert timedelta(seconds=115) < d.next_attempt_at - later <= timedelta(seconds=120)  # doubled
    _pass(committed, base_delay=60, now=later + timedelta(seconds=121))
    with committed() as s:
        d = s.get(WebhookDelivery, d.id)
        assert (d.status, d.attempts, d.delivered_at is not None) == ("delivered", 3, True)
    # The same batch was sent each time, with a fresh signature.
    bodies = {r["body"] for r in receiver.requests}
    assert len(bodies) == 1 and len(receiver.requests) == 3
    assert json.loads(receiver.requests[0]["body"])["changes"][-1]["enterprise_id"] == ent.id


def test_an_unreachable_receiver_is_failed_after_max_attempts_and_the_feed_moves_on(
    app, committed, key, receiver
):
    receiver.close()  # nothing listens there any more
    with TestClient(app) as client:
        sub = _subscribe(client, key, receiver.url)
    with committed() as s:
        create_enterprise(s)
        s.commit()
    import time

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        stats = _pass(committed, max_attempts=3, base_delay=0)
        if stats.failed:
            break
        time.sleep(0.1)
    with committed() as s:
        (d,) = s.scalars(select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub["id"])).all()
        assert (d.status, d.attempts, d.last_status_code) == ("failed", 3, None)
        assert "ConnectError" in d.last_error
    with committed() as s:
        create_enterprise(s)
        s.commit()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        _pass(committed, max_attempts=3, base_delay=0)
        with committed() as s:
            ds = s.scalars(select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub["id"])).all()
        if len(ds) == 2:
            break
        time.sleep(0.1)
    assert len(ds) == 2 and ds[1].first_entry_id > d.last_entry_id  # the next batch, not the failed one again


def test_cli_worker_runs_one_pass(committed, key, receiver, app):
    from typer.testing import CliRunner

    from app.cli import app as cli

    with committed() as s:
        create_enterprise(s)
        s.commit()
    with TestClient(app) as client:
        _subscribe(client, key, receiver.url, start="beginning")
    import time

    deadline = time.monotonic() + 15
    while not receiver.requests and time.monotonic() < deadline:
        result = CliRunner().invoke(cli, ["deliver-webhooks", "--once"])
        assert result.exit_code == 0, result.output
        time.sleep(0.1)
    assert receiver.requests and "送达 1" in result.output


def test_subscriptions_validate_input_and_belong_to_their_key(app, committed, key, receiver):
    with committed() as s:
        other = all_scopes_key(s)
        from app.accounts import service as accounts

        read_only, _ = accounts.create_api_key(s, name="hooks-no-changes", scopes=["webhooks:write"])
        s.commit()
    with TestClient(app) as client:
        post = lambda body, k=key: client.post("/api/v1/webhooks", headers=bearer(k), json=body)  # noqa: E731
        for body, field in (
            ({"name": "x", "url": "ftp://example.org/x"}, "url"),
            ({"name": "x", "url": "http://user:pw@127.0.0.1/x"}, "url"),
            ({"name": "x", "url": "not a url"}, "url"),
            ({"name": "", "url": receiver.url}, "name"),
            ({"name": "x", "url": receiver.url, "entity_types": ["Bad Type"]}, "entity_types.0"),
            ({"name": "x", "url": receiver.url, "start_after": "garbage"}, "start_after"),
            ({"name": "x", "url": receiver.url, "start": "yesterday"}, "start"),
        ):
            r = post(body)
            assert r.status_code == 422, body
            assert r.json()["errors"][0]["field"] == field, (body, r.json())
        assert post({"name": "x", "url": receiver.url}, read_only).status_code == 403
        mine = _subscribe(client, key, receiver.url)
        assert client.get(f"/api/v1/webhooks/{mine['id']}", headers=bearer(other)).status_code == 404
        listed = client.get("/api/v1/webhooks", headers=bearer(key)).json()
        assert [w["id"] for w in listed["items"]] == [mine["id"]] and listed["next_cursor"] is None
        assert client.get("/api/v1/webhooks", headers=bearer(other)).json()["items"] == []
        assert client.delete(f"/api/v1/webhooks/{mine['id']}", headers=bearer(other)).status_code == 404
        assert client.delete(f"/api/v1/webhooks/{mine['id']}", headers=bearer(key)).status_code == 204
        assert client.get(f"/api/v1/webhooks/{mine['id']}", headers=bearer(key)).status_code == 404


def test_signature_verification_rejects_stale_timestamps():
    body = b'{"a":1}'
    sig = webhooks.sign("whsec_x", 1_700_000_000, body)
    assert webhooks.verify("whsec_x", "1700000000", body, sig, now=1_700_000_100)
    assert not webhooks.verify("whsec_x", "1700000000", body, sig, now=1_700_001_000)
    assert not webhooks.verify("whsec_x", "1700000000", body + b" ", sig, now=1_700_000_100)
    assert not webhooks.verify("whsec_x", "soon", body, sig)


def test_two_workers_at_once_send_each_batch_once(app, committed, key, receiver):
    import time

    with TestClient(app) as client:
        _subscribe(client, key, receiver.url)
    with committed() as s:
        create_enterprise(s)
        s.commit()
    deadline = time.monotonic() + 15
    while not receiver.requests and time.monotonic() < deadline:
        threads = [threading.Thread(target=_pass, args=(committed,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    _pass(committed)
    assert len(receiver.requests) == 1
