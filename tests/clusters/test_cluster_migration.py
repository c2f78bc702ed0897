"""The migration that makes 特色产业集群 an entity carries over clusters recorded as a firm's honour."""

from sqlalchemy import create_engine, text

from alembic import command
from app.cli import alembic_config


def test_cluster_honours_already_stored_become_one_cluster_each(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "1501")  # the revision before 1001
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(
            text(
                "INSERT INTO enterprise (id, uscc, name, township, size, ownership, above_scale, version, created_at, updated_at)"
                " VALUES (1, '91371525MA3C000001', '冠县甲轴承有限公司', 'qingquan', 'small', 'private', 0, 1,"
                " '2023-01-01', '2023-01-01')"
            )
        )
        c.execute(
            text(
                "INSERT INTO honour (id, enterprise_id, code, level, outcome, honour_date, created_at) VALUES"
                " (7, 1, 'cluster', 'city', 'new', '2023-06-01', '2023-06-01'),"
                " (8, 1, 'cluster', 'provincial', 'rejected', '2023-07-01', '2023-07-01'),"
                " (9, 1, 'high_tech', 'national', 'new', '2023-07-01', '2023-07-01')"
            )
        )
    command.upgrade(cfg, "head")
    with eng.connect() as c:
        clusters = c.execute(
            text(
                "SELECT name, level, recognised_date, lead_enterprise_id, recipient_enterprise_id, honour_id"
                " FROM industry_cluster"
            )
        ).all()
        members = c.execute(text("SELECT cluster_id, enterprise_id FROM industry_cluster_member")).all()
    eng.dispose()
    assert [(n, lv, str(d), lead, rec, h) for n, lv, d, lead, rec, h in clusters] == [
        ("冠县甲轴承有限公司 特色产业集群（由认定记录 7 转入）", "city", "2023-06-01", 1, 1, 7)
    ]
    assert len(members) == 1 and members[0][1] == 1
