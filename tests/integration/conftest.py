"""Fixtures for the 聊城企业政策通 integration tests: committed data, keys with every scope, a firm builder.

The live server and the in-process app of these tests run with a high rate limit, so that fuzzing
and load are not cut short by 429s; the rate-limit tests set their own low limit.
"""

import os
import random

import pytest

os.environ.setdefault("YUMIAO_API_RATE_LIMIT", "1000000/minute")

AS_OF = "2023-06-30"  # both policy documents and the 2023 pools are in force


@pytest.fixture
def firm(make):
    """firm(main_revenue=…, revenue=…, honours=[(code, level, outcome, "2023-05-10")], **fields): a small
    规下 manufacturer (C3311) in 清泉街道 with 2023 figures."""

    def build(*, revenue=None, main_revenue=None, rd=None, year=2023, figures=None, honours=(), **kw):
        fields = {"size": "small", "above_scale": False, "industry": "C3311", **kw}
        if figures is None:
            figures = [
                {
                    "year": year,
                    "revenue_yuan": revenue,
                    "main_revenue_yuan": main_revenue,
                    "rd_spend_yuan": rd,
                }
            ]
        hs = [{"code": c, "level": lv, "outcome": o, "honour_date": d} for c, lv, o, d in honours]
        return make.enterprise(figures=figures, honours=hs, **fields)

    return build


def all_scopes_key(session, name=None) -> str:
    from app.accounts import service as accounts
    from app.accounts.permissions import SCOPES

    key, _ = accounts.create_api_key(session, name=name or f"all-{random.random()}", scopes=list(SCOPES))
    return key


def no_scope_key(session, name=None) -> str:
    """A key with no scope at all (the service refuses to make one, so it is written directly)."""
    import secrets

    from app.accounts.models import ApiKey
    from app.accounts.service import _sha256

    key = f"ym_none_{secrets.token_urlsafe(24)}"
    session.add(
        ApiKey(
            name=name or f"none-{secrets.token_hex(4)}",
            prefix=secrets.token_hex(4),
            key_hash=_sha256(key),
            scopes="",
        )
    )
    session.flush()
    return key


def create_enterprise(session, **kw):
    from app.accounts.permissions import SYSTEM
    from app.enterprises import service
    from app.enterprises.schemas import EnterpriseCreate
    from app.enterprises.uscc import generate

    data = {
        "uscc": generate(random.Random()),
        "name": f"集成测试企业{random.randrange(10**8)}有限公司",
        "township": "qingquan",
        "size": "small",
        **kw,
    }
    return service.create(session, actor=SYSTEM, data=EnterpriseCreate.model_validate(data))


@pytest.fixture(scope="session")
def live_app(server):
    """The live server (tests/conftest.py) with its log: (base URL, log path)."""
    return server.base, server.log_path
