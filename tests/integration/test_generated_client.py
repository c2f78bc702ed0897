"""A typed Python client generated from the served OpenAPI document works against the live app."""

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import create_enterprise

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.mark.skipif(
    not GENERATOR.exists() and not shutil.which("openapi-python-client"),
    reason="openapi-python-client is not installed (pip install -e '.[test]')",
)
def test_generated_client_lists_gets_and_reads_a_404(live_server, committed, tmp_path):
    from app.accounts import service as accounts

    with committed() as s:
        key, _ = accounts.create_api_key(
            s, name="generated-client", scopes=["enterprises:read", "policies:read"]
        )
        ent = create_enterprise(
            s,
            name="生成客户端测试有限公司",
            industry="C3311",
            figures=[{"year": 2023, "main_revenue_yuan": 16_500_000}],
        )
        s.commit()
    config = tmp_path / "config.yaml"
    config.write_text("post_hooks: []\n", encoding="utf-8")
    out = tmp_path / "yumiao_client"
    cmd = [
        str(GENERATOR) if GENERATOR.exists() else "openapi-python-client",
        "generate",
        "--url",
        f"{live_server}/api/v1/openapi.json",
        "--output-path",
        str(out),
        "--meta",
        "none",
        "--config",
        str(config),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Client was generated" in done.stdout + done.stderr or (out / "client.py").exists()

    sys.path.insert(0, str(tmp_path))
    try:
        client_mod = importlib.import_module("yumiao_client")
        listing = importlib.import_module(
            "yumiao_client.api.enterprises_企业.list_enterprises_api_v1_enterprises_get"
        )
        getting = importlib.import_module(
            "yumiao_client.api.enterprises_企业.get_enterprise_api_v1_enterprises_enterprise_id_get"
        )
        eligible = importlib.import_module(
            "yumiao_client.api.integration_政策通对接."
            "eligible_policies_api_v1_enterprises_enterprise_id_eligible_policies_get"
        )
        models = importlib.import_module("yumiao_client.models")

        with client_mod.AuthenticatedClient(base_url=live_server, token=key) as api:
            page = listing.sync(client=api, limit=5)
            assert isinstance(page, models.EnterprisePage)
            assert ent.uscc in [e.uscc for e in page.items]

            one = getting.sync(client=api, enterprise_id=ent.id)
            assert isinstance(one, models.EnterpriseRead) and one.name == "生成客户端测试有限公司"
            assert one.figures[0].main_revenue_yuan == 16_500_000

            missing = getting.sync_detailed(client=api, enterprise_id=999_999)
            assert missing.status_code == 404
            assert isinstance(missing.parsed, models.Problem) and missing.parsed.code == "not_found"
            assert missing.parsed.detail == "未找到该企业"

            import datetime as dt

            policies = eligible.sync(client=api, enterprise_id=ent.id, as_of=dt.date(2023, 6, 30), limit=50)
            assert isinstance(policies, models.EligiblePolicyPage)
            first = next(p for p in policies.items if p.id == "gzb2023-7.county.first_above_scale")
            assert first.missing[0].gap_yuan == 3_500_000
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "yumiao_client" or m.startswith("yumiao_client.")]:
            del sys.modules[name]
