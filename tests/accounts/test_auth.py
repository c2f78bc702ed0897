"""Log-in, sessions, throttling, CSRF and API keys."""

import re

from sqlalchemy import select, text

from app.accounts.models import ApiKey, User
from tests.conftest import PASSWORD, bearer, csrf_of, login, login_token


def test_password_is_stored_as_argon2id(db, make):
    u = make.user()
    stored = db.scalar(select(User.password_hash).where(User.id == u.id))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_login_sets_a_hardened_session_cookie(client, make):
    u = make.user()
    r = client.post(
        "/login",
        data={"csrf_token": login_token(client), "username": u.username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert client.get("/enterprises").status_code == 200


def test_wrong_password_is_refused_in_chinese(client, make):
    u = make.user()
    r = client.post(
        "/login", data={"csrf_token": login_token(client), "username": u.username, "password": "nope-nope"}
    )
    assert r.status_code == 401 and "用户名或密码错误" in r.text


def test_pages_redirect_to_login_when_logged_out(client):
    r = client.get("/enterprises", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_open_redirect_after_login_is_refused(client, make):
    u = make.user()
    r = client.post(
        "/login",
        data={
            "csrf_token": login_token(client),
            "username": u.username,
            "password": PASSWORD,
            "next": "//evil.example",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


def test_login_throttled_per_account(client, make):
    u = make.user()
    for _ in range(5):
        assert (
            client.post(
                "/login",
                data={"csrf_token": login_token(client), "username": u.username, "password": "wrong-pass"},
            ).status_code
            == 401
        )
    r = client.post(
        "/login", data={"csrf_token": login_token(client), "username": u.username, "password": PASSWORD}
    )
    assert r.status_code == 429 and "登录失败次数过多" in r.text and int(r.headers["retry-after"]) > 0


def test_login_throttled_per_address_across_accounts(client, make):
    user = make.user()
    for i in range(20):  # 20 different accounts, each below its own limit of 5
        client.post(
            "/login",
            data={"csrf_token": login_token(client), "username": f"guess-{i}", "password": "wrong-pass"},
        )
    r = client.post(
        "/login", data={"csrf_token": login_token(client), "username": user.username, "password": PASSWORD}
    )
    assert r.status_code == 429


def test_logout_ends_the_session(client, make):
    u = make.user()
    token = login(client, u)
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/enterprises", follow_redirects=False).status_code == 303


def test_state_changing_form_without_csrf_token_is_refused(client, make, db):
    u = make.user()
    ent = make.enterprise()
    login(client, u)
    r = client.post(f"/enterprises/{ent.id}/delete", data={"version": ent.version})
    assert r.status_code == 403 and "CSRF" in r.text
    r = client.post(f"/enterprises/{ent.id}/delete", data={"version": ent.version, "csrf_token": "forged"})
    assert r.status_code == 403
    assert db.execute(text("select deleted_at from enterprise where id=:i"), {"i": ent.id}).scalar() is None


def test_htmx_request_carries_csrf_header_and_passes(client, make):
    u = make.user()
    ent = make.enterprise()
    token = login(client, u)
    r = client.post(
        f"/enterprises/{ent.id}/delete", data={"version": ent.version}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code in (200, 303)


def test_api_with_session_cookie_needs_csrf_header_for_writes(client, make):
    u = make.user()
    ent = make.enterprise()
    token = login(client, u)
    r = client.patch(
        f"/api/v1/enterprises/{ent.id}", json={"name": "新名称有限公司"}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 403
    r = client.patch(
        f"/api/v1/enterprises/{ent.id}",
        json={"name": "新名称有限公司"},
        headers={"If-Match": '"1"', "X-CSRF-Token": token},
    )
    assert r.status_code == 200


def test_api_key_is_stored_hashed_and_scopes_enforced(client, make, db):
    key = make.api_key(scopes=["enterprises:read"])
    stored = db.scalars(select(ApiKey.key_hash)).all()
    assert key not in stored and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in stored)
    assert client.get("/api/v1/enterprises", headers=bearer(key)).status_code == 200
    r = client.post("/api/v1/enterprises", headers=bearer(key), json={})
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    assert "enterprises:write" in r.json()["detail"]


def test_unknown_api_key_is_401_problem(client):
    r = client.get("/api/v1/enterprises", headers=bearer("ym_nope"))
    assert r.status_code == 401 and r.json()["status"] == 401


def test_cli_create_api_key_prints_key_alone_on_last_line(database_url, committed):
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "create-api-key",
            "--name",
            "liaocheng",
            "--scopes",
            "enterprises:read,awards:read",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    last = out.strip().splitlines()[-1]
    assert re.fullmatch(r"ym_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", last)
    with committed() as s:
        rec = s.scalar(select(ApiKey).where(ApiKey.name == "liaocheng"))
        assert rec.scopes == "enterprises:read,awards:read"
    bad = subprocess.run(
        [sys.executable, "-m", "app.cli", "create-api-key", "--name", "x", "--scopes", "enterprises:raed"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "未知权限范围" in bad.stderr


def test_csrf_of_helper_reads_token(client, make):
    login(client, make.user())
    assert len(csrf_of(client)) > 20


def test_login_form_without_its_csrf_token_is_refused(client, make):
    u = make.user()
    r = client.post("/login", data={"username": u.username, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403 and "CSRF" in r.text
    client.get("/login")
    r = client.post(
        "/login",
        data={"username": u.username, "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert client.get("/enterprises", follow_redirects=False).status_code == 303  # not logged in


def test_cross_site_state_changing_requests_are_refused(client, make, db):
    u = make.user()
    ent = make.enterprise()
    token = login(client, u)
    form = {"version": ent.version, "csrf_token": token}
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}, {"Origin": "null"}):
        r = client.post(f"/enterprises/{ent.id}/delete", data=form, headers=headers)
        assert r.status_code == 403 and "跨站请求被拒绝" in r.text, headers
    r = client.post(
        "/login",
        data={"username": u.username, "password": PASSWORD, "csrf_token": login_token(client)},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    assert db.execute(text("select deleted_at from enterprise where id=:i"), {"i": ent.id}).scalar() is None
    # The same request from the system's own pages goes through.
    r = client.post(
        f"/enterprises/{ent.id}/delete",
        data=form,
        follow_redirects=False,
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )
    assert r.status_code in (200, 303), r.text[:300]
