"""Webhooks post only to public addresses (unless allowed), and stop when their API key is revoked."""

import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.accounts.models import ApiKey
from app.config import get_settings
from app.integration import ssrf, webhooks
from app.integration.models import WebhookSubscription
from tests.conftest import ROOT, bearer, login
from tests.integration.conftest import all_scopes_key, create_enterprise
from tests.integration.test_webhooks import Receiver, _honour, _pass, _until_sent

INTERNAL = [
    "http://127.0.0.1/hook",
    "http://127.1/hook",
    "http://2130706433/hook",
    "http://0x7f000001/hook",
    "http://017700000001/hook",
    "http://localhost:8000/hook",
    "http://api.localhost/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://10.1.2.3/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.10/hook",
    "http://100.64.0.1/hook",
    "http://0.0.0.0/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
]


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_destinations_are_refused_naming_the_url(client, make, url):
    key = make.api_key(scopes=("webhooks:write", "changes:read"))
    r = client.post("/api/v1/webhooks", headers=bearer(key), json={"name": "内网", "url": url})
    assert r.status_code == 422, r.text
    err = r.json()["errors"][0]
    assert err["field"] == "url" and "不能推送到" in err["message"], err


def test_a_public_address_is_accepted_and_an_allow_list_admits_an_internal_one(client, make, monkeypatch):
    key = make.api_key(scopes=("webhooks:write", "changes:read"))
    assert ssrf.host_problem("93.184.215.14") is None
    r = client.post(
        "/api/v1/webhooks", headers=bearer(key), json={"name": "公网", "url": "https://93.184.215.14/hook"}
    )
    assert r.status_code == 201, r.text
    monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", "10.20.0.0/16, hooks.county.internal")
    assert ssrf.host_problem("10.20.3.4") is None
    assert ssrf.host_problem("10.21.3.4") is not None
    assert ssrf.host_problem("hooks.county.internal") is None
    assert ssrf.host_problem("other.county.internal") is not None


def test_the_address_is_checked_again_at_delivery(app, committed, monkeypatch):
    """Allowed when made, no longer allowed when the worker posts (a name re-pointed, an allow-list
    narrowed): the delivery is refused and logged, the receiver gets nothing."""
    receiver = Receiver()
    try:
        monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", "127.0.0.1")
        with committed() as s:
            key = all_scopes_key(s)
            ent = create_enterprise(s)
            s.commit()
        with TestClient(app) as client:
            r = client.post("/api/v1/webhooks", headers=bearer(key), json={"name": "x", "url": receiver.url})
            assert r.status_code == 201
            sub_id = r.json()["id"]
        monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", "")
        _honour(committed, ent)
        for _ in range(20):
            _pass(committed)
        assert receiver.requests == []
        with TestClient(app) as client:
            log = client.get(f"/api/v1/webhooks/{sub_id}/deliveries", headers=bearer(key)).json()["items"]
        assert log and "refused" in log[0]["last_error"] and "本机回环地址" in log[0]["last_error"]
    finally:
        receiver.close()


def _hooked_key(app, committed, receiver, monkeypatch):
    monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", "127.0.0.1")
    with committed() as s:
        key = all_scopes_key(s)
        ent = create_enterprise(s)
        s.commit()
    with TestClient(app) as client:
        r = client.post("/api/v1/webhooks", headers=bearer(key), json={"name": "政策通", "url": receiver.url})
        assert r.status_code == 201
    _honour(committed, ent)
    assert len(_until_sent(committed, receiver)) == 1
    return key, ent, r.json()["id"]


def test_revoking_a_key_on_the_admin_page_stops_its_webhooks(app, committed, monkeypatch):
    receiver = Receiver()
    try:
        key, ent, sub_id = _hooked_key(app, committed, receiver, monkeypatch)
        with committed() as s:
            from tests.conftest import Factory

            admin = Factory(s).user()
            s.commit()
            key_id = s.scalar(select(ApiKey.id).where(ApiKey.prefix == key.split("_")[1]))
        with TestClient(app) as client:
            token = login(client, admin)
            page = client.get("/admin/api-keys")
            assert page.status_code == 200 and f"/admin/api-keys/{key_id}/revoke" in page.text
            r = client.post(
                f"/admin/api-keys/{key_id}/revoke", data={"csrf_token": token}, follow_redirects=False
            )
            assert r.status_code == 303
            assert "已吊销" in client.get("/admin/api-keys").text
            assert client.get("/api/v1/changes", headers=bearer(key)).status_code == 401
        _honour(committed, ent, code="innovative_sme", level="provincial", day="2023-06-01")
        for _ in range(10):
            _pass(committed)
        assert len(receiver.requests) == 1  # nothing after the revocation
        with committed() as s:
            assert s.get(WebhookSubscription, sub_id).active is False
    finally:
        receiver.close()


def test_township_staff_cannot_revoke_keys(client, make):
    login(client, make.user(role="township_staff", township="qingquan"))
    assert client.get("/admin/api-keys").status_code == 403


def test_yumiao_revoke_api_key_command(app, committed, monkeypatch, database_url):
    receiver = Receiver()
    try:
        key, ent, sub_id = _hooked_key(app, committed, receiver, monkeypatch)
        with committed() as s:
            name = s.scalar(select(ApiKey.name).where(ApiKey.prefix == key.split("_")[1]))
        out = subprocess.run(
            [sys.executable, "-m", "app.cli", "revoke-api-key", "--name", name],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert "已吊销" in out.stdout and "webhook 已停止推送" in out.stdout
        _honour(committed, ent, code="innovative_sme", level="provincial", day="2023-06-01")
        for _ in range(10):
            webhooks.run_once(committed, http=__import__("httpx").Client(timeout=5))
        assert len(receiver.requests) == 1
        missing = subprocess.run(
            [sys.executable, "-m", "app.cli", "revoke-api-key", "--name", "no-such-key"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert missing.returncode == 2 and "未找到该 API 密钥" in missing.stderr
    finally:
        receiver.close()
