"""Fixtures for the awards tests: funds from the policy files, keys with award scopes, helpers."""

import pytest

from app.accounts.permissions import SYSTEM

ALL_AWARDS = (
    "awards:read",
    "awards:write",
    "awards:approve",
    "enterprises:read",
    "enterprises:write",
    "policies:read",
)


@pytest.fixture
def funds(db):
    """The funds the policy files name, by code (the migration seeds them; a committed test may have emptied them)."""
    from sqlalchemy import select

    from app.awards import funds as fund_service
    from app.awards.models import Fund

    fund_service.ensure_policy_funds(db, SYSTEM)
    db.flush()
    return {f.code: f for f in db.scalars(select(Fund))}


@pytest.fixture
def admin_key(make):
    return make.api_key(scopes=ALL_AWARDS)


@pytest.fixture
def reader_key(make):
    return make.api_key(scopes=("awards:read", "enterprises:read", "policies:read"))


def honour(code, level, day, outcome="new"):
    return {"code": code, "level": level, "outcome": outcome, "honour_date": day}


def lines_of(db, enterprise_id):
    from sqlalchemy import select

    from app.awards.models import AwardLine

    return list(
        db.scalars(select(AwardLine).where(AwardLine.enterprise_id == enterprise_id).order_by(AwardLine.id))
    )
