"""Schemathesis against the live app on PostgreSQL, every check on: no 500, every response as the
OpenAPI document says, bad input refused, good input accepted.

Run alone with more examples:  YUMIAO_FUZZ_EXAMPLES=100 .venv/bin/pytest tests/integration/test_schemathesis.py
The settings the checks use are in tests/integration/schemathesis.toml (with the reason for each).
"""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import all_scopes_key, create_enterprise

HERE = Path(__file__).parent
CLI = Path(sys.executable).with_name("schemathesis")
EXAMPLES = os.environ.get("YUMIAO_FUZZ_EXAMPLES", "15")
SEED = os.environ.get("YUMIAO_FUZZ_SEED", "20230323")


@pytest.mark.skipif(not CLI.exists(), reason="schemathesis is not installed (pip install -e '.[test]')")
def test_schemathesis_finds_nothing(live_app, committed, tmp_path):
    live_server, log = live_app
    with committed() as s:
        key = all_scopes_key(s, name="schemathesis")
        for i in range(3):
            create_enterprise(
                s,
                industry="C3311",
                township="qingquan",
                figures=[{"year": 2023, "revenue_yuan": 16_500_000 + i, "main_revenue_yuan": 16_500_000 + i}],
                honours=[{"code": "specialized_sme", "level": "city", "honour_date": "2023-05-10"}],
            )
        s.commit()
    # Build the OpenAPI document once before schemathesis asks for it with its own short timeout.
    assert httpx.get(f"{live_server}/api/v1/openapi.json", timeout=120).status_code == 200
    cmd = [
        str(CLI),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{live_server}/api/v1/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {key}",
        "--max-examples",
        EXAMPLES,
        "--seed",
        SEED,
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--output-truncate",
        "true",
    ]
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=1200, cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"}
    )
    out = done.stdout + done.stderr
    server_errors = [
        line
        for line in log.read_text(errors="replace").splitlines()
        if "Traceback" in line or " 500 " in line
    ]
    assert done.returncode == 0, out[-12000:] + "\n\nserver log:\n" + "\n".join(server_errors[-20:])
    summary = out.strip().splitlines()[-1]  # "=== No issues found in 40s ===" or "=== 3 warnings in 40s ==="
    assert "failure" not in summary and "error" not in summary, out[-12000:]
