"""Every list cursor is signed: one the server did not issue is a 422 naming `cursor`, on the API and
on the pages — never a database error."""

import base64
import json

import pytest

from tests.conftest import bearer, login


def _unsigned(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


FORGED = [
    (
        "name",
        "eyJzIjogIm5hbWUiLCAiayI6IDUsICJpIjogNX0",
    ),  # {"s": "name", "k": 5, "i": 5}, as found by the probe
    ("name", _unsigned({"s": "name", "k": ["a", "b"], "i": 1})),
    ("name", _unsigned({"s": "name", "k": {"x": 1}, "i": 1})),
    ("name", _unsigned({"s": "name", "k": "甲", "i": True})),
    ("revenue", _unsigned({"s": "revenue", "k": "lots", "i": 1})),
    ("created_at", _unsigned({"s": "created_at", "k": "yesterday", "i": 1})),
]


@pytest.fixture
def many(make, db):
    for i in range(3):
        make.enterprise(name=f"游标企业{i}有限公司")
    db.flush()


@pytest.mark.parametrize(("sort", "cursor"), FORGED)
def test_forged_cursors_are_422_on_the_api(client, make, many, sort, cursor):
    r = client.get(
        "/api/v1/enterprises", headers=bearer(make.api_key()), params={"sort": sort, "cursor": cursor}
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "cursor"


def test_a_cursor_edited_after_issue_is_422_and_a_real_one_pages(client, make, many):
    key = make.api_key()
    first = client.get(
        "/api/v1/enterprises", headers=bearer(key), params={"limit": 1, "sort": "revenue"}
    ).json()
    cursor = first["next_cursor"]
    assert cursor
    body, sig = cursor[:-16], cursor[-16:]
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data["i"] += 1
    edited = _unsigned(data) + sig
    r = client.get(
        "/api/v1/enterprises", headers=bearer(key), params={"limit": 1, "sort": "revenue", "cursor": edited}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"
    nxt = client.get(
        "/api/v1/enterprises", headers=bearer(key), params={"limit": 1, "sort": "revenue", "cursor": cursor}
    )
    assert nxt.status_code == 200 and nxt.json()["items"][0]["id"] != first["items"][0]["id"]


@pytest.mark.parametrize(("sort", "cursor"), FORGED)
def test_forged_cursors_are_422_on_the_page(client, make, many, sort, cursor):
    login(client, make.user())
    r = client.get("/enterprises", params={"sort": sort, "cursor": cursor})
    assert r.status_code == 422
    assert "分页游标无效" in r.text
