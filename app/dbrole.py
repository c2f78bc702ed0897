"""The database role the application runs as: it owns nothing, so it cannot TRUNCATE the audit
trail, disable its triggers or change the schema.

Two roles (see docs/OPERATIONS.md "Database roles"):

* the owner (YUMIAO_MIGRATION_DATABASE_URL) owns the tables and runs `yumiao migrate`;
* the application (YUMIAO_DATABASE_URL) logs in as YUMIAO_APP_DB_ROLE with only what it needs:
  read and write rows (no TRUNCATE, no REFERENCES, no TRIGGER), use the sequences, and on the
  audit trail only SELECT and INSERT — never UPDATE or DELETE.

`yumiao migrate` grants these rights after every upgrade when YUMIAO_APP_DB_ROLE is set (new tables
included); `yumiao grant-app-role ROLE` does it on its own.
"""

import re

from sqlalchemy import text
from sqlalchemy.engine import Connection

APPEND_ONLY = ("audit_entry",)  # rows are added, never changed or removed
READ_ONLY = ("alembic_version",)


def _ident(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"数据库角色名“{name}”无效：只能用小写字母、数字和下划线")
    return f'"{name}"'


def grant_app_role(conn: Connection, role: str) -> None:
    """Give `role` (which must exist) exactly the application's rights on this database. Run as the owner."""
    r = _ident(role)
    db = conn.execute(text("SELECT current_database()")).scalar()
    tables = [
        t
        for (t,) in conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        )
    ]
    for stmt in (
        f'GRANT CONNECT, TEMPORARY ON DATABASE "{db}" TO {r}',
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA public TO {r}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",
    ):
        conn.execute(text(stmt))
    for t in tables:
        if t in APPEND_ONLY:
            rights = "SELECT, INSERT"
        elif t in READ_ONLY:
            rights = "SELECT"
        else:
            rights = "SELECT, INSERT, UPDATE, DELETE"
        conn.execute(text(f'GRANT {rights} ON TABLE public."{t}" TO {r}'))
