"""One JSON line per request on stderr: what an operator greps when a user reports a failure."""

import json

from app import logging as request_log
from tests.conftest import bearer


def test_each_request_writes_one_json_line_naming_method_path_status_and_caller(client, make, capsys):
    key = make.api_key(scopes=("enterprises:read",), name="政策通")
    ent = make.enterprise()
    before = request_log._json_lines
    request_log.configure(True)
    try:
        capsys.readouterr()
        r = client.get(f"/api/v1/enterprises/{ent.id}", headers=bearer(key))
        missing = client.get("/api/v1/enterprises/2147483000", headers=bearer(key))
        err = capsys.readouterr().err
    finally:
        request_log.configure(before)
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "request"]
    assert [(x["method"], x["path"], x["status"]) for x in requests] == [
        ("GET", f"/api/v1/enterprises/{ent.id}", 200),
        ("GET", "/api/v1/enterprises/2147483000", 404),
    ]
    assert requests[0]["actor"] == "api:政策通" and requests[0]["level"] == "info"
    assert requests[0]["request_id"] == r.headers["x-request-id"]
    assert requests[1]["request_id"] == missing.headers["x-request-id"]
    assert requests[0]["timestamp"].endswith("Z") and requests[0]["duration_ms"] >= 0
