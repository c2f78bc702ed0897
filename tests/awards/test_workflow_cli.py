"""`yumiao compute-awards --year`: a year's recorded events get their lines, once, with real commits."""

from datetime import date

from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from app.awards.models import AwardLine, Fund
from app.cli import app as cli
from app.enterprises.models import Honour


def test_compute_awards_for_a_year(committed):
    from tests.conftest import Factory

    with committed() as s:
        ent = Factory(s).enterprise()
        # Honours loaded in bulk (as the demo data and imports are) have no award lines yet.
        s.execute(
            insert(Honour),
            [
                {
                    "enterprise_id": ent.id,
                    "code": "specialized_sme",
                    "level": "provincial",
                    "outcome": "new",
                    "honour_date": date(2023, 6, 1),
                },
                {
                    "enterprise_id": ent.id,
                    "code": "gazelle",
                    "level": "provincial",
                    "outcome": "new",
                    "honour_date": date(2022, 6, 1),
                },
            ],
        )
        s.commit()
    runner = CliRunner()
    first = runner.invoke(cli, ["compute-awards", "--year", "2023"])
    assert first.exit_code == 0, first.output
    assert "2023 年：1 个事件" in first.output and "新生成 2 笔" in first.output
    assert "县级 15.00 万元" in first.output and "市级 30.00 万元" in first.output
    again = runner.invoke(cli, ["compute-awards", "--year", "2023"])
    assert "新生成 0 笔，已有 2 笔" in again.output
    with committed() as s:
        assert s.scalar(select(func.count()).select_from(AwardLine)) == 2  # the 2022 honour is not in 2023
        codes = set(s.scalars(select(Fund.code)))
        assert {"gz2022-9.fund.county", "gzb2023-7.fund.county"} <= codes
