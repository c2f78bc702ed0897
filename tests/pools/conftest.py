"""Fixtures for the pools tests: firms built with exact figures and honours (count_queries is in tests/conftest.py)."""

import pytest

YEAR = 2023


@pytest.fixture
def firm(make):
    """make a firm: `firm(revenue=…, main_revenue=…, rd=…, honours=[(code, level, outcome, date)], **fields)`.

    A small, 规下 manufacturer (industry C3311) in 清泉街道 with figures for YEAR unless told otherwise.
    """

    def build(*, revenue=None, main_revenue=None, rd=None, year=YEAR, figures=None, honours=(), **kw):
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
        hs = [
            {
                "code": c,
                "level": lv,
                "outcome": o,
                "honour_date": d.isoformat() if hasattr(d, "isoformat") else d,
            }
            for c, lv, o, d in honours
        ]
        return make.enterprise(figures=figures, honours=hs, **fields)

    return build
