"""Admin commands: `yumiao migrate | seed-demo | create-user | create-api-key | revoke-api-key | grant-app-role | serve | import-enterprises | quickstart`."""

import os
import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="育苗（冠县中小企业梯度培育系统）管理命令",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / "var"  # what `make run` (quickstart) generates: var/secret_key and var/yumiao.db


@app.callback()
def _local_settings() -> None:
    """After `make run`, every command finds the generated secret and the SQLite file without any export;
    YUMIAO_SECRET_KEY and YUMIAO_DATABASE_URL, when set, always win. Then the domains are wired."""
    key_file = LOCAL / "secret_key"
    if not os.environ.get("YUMIAO_SECRET_KEY") and key_file.exists():
        os.environ["YUMIAO_SECRET_KEY"] = key_file.read_text().strip()
    if not os.environ.get("YUMIAO_DATABASE_URL") and (LOCAL / "yumiao.db").exists():
        os.environ["YUMIAO_DATABASE_URL"] = f"sqlite:///{LOCAL / 'yumiao.db'}"
    from app import wiring

    wiring.connect()  # every command's writes raise the same domain events as the web service's


def alembic_config(database_url: str | None = None):
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    if database_url:
        cfg.attributes["database_url"] = database_url
    return cfg


def run_migrations(database_url: str | None = None) -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), "head")  # one line of migrations: fails if it forks
    sync_shipped_policies(database_url)


def sync_shipped_policies(database_url: str | None = None) -> list[str]:
    """Publish each shipped policy file whose text is not in the database yet (unless the document was edited there)."""
    from sqlalchemy.orm import Session

    from app.config import get_settings, normalise_database_url
    from app.db import make_engine
    from app.policies.store import sync_shipped

    engine = make_engine(normalise_database_url(database_url or get_settings().database_url))
    try:
        with Session(engine) as session:
            done = sync_shipped(session)
            session.commit()
    finally:
        engine.dispose()
    return done


@app.command()
def migrate() -> None:
    """把数据库迁移到最新版本（alembic upgrade head），并发布安装包中更新过的政策文件（未在系统中编辑过的）；
    设置了 YUMIAO_APP_DB_ROLE 时随后为应用角色授权。"""
    from app.config import get_settings

    settings = get_settings()
    run_migrations(settings.migration_database_url)
    typer.echo("数据库已迁移到最新版本")
    if settings.app_db_role and not settings.is_sqlite:
        grant_app_role(settings.app_db_role)


@app.command("grant-app-role")
def grant_app_role(role: Annotated[str, typer.Argument(help="应用登录所用的数据库角色（须已存在）")]) -> None:
    """为应用角色授予恰好所需的权限（读写数据行；审计表只能查询和追加；不能 TRUNCATE、禁用触发器或改表）。以表的所有者身份运行。"""
    from sqlalchemy import create_engine

    from app.config import get_settings
    from app.dbrole import grant_app_role as grant

    settings = get_settings()
    engine = create_engine(settings.migration_database_url or settings.database_url)
    try:
        with engine.begin() as conn:
            grant(conn, role)
    finally:
        engine.dispose()
    typer.echo(f"已为数据库角色 {role} 授予应用所需的权限")


def _session():
    from app.db import get_sessionmaker

    return get_sessionmaker()()


@app.command("create-user")
def create_user(
    username: Annotated[str, typer.Option(help="用户名")],
    role: Annotated[
        str, typer.Option(help="county_admin | county_viewer | township_staff | department_staff")
    ],
    township: Annotated[str | None, typer.Option(help="乡镇代码（乡镇工作人员必填）")] = None,
    department: Annotated[
        str | None, typer.Option(help="县直部门（县直部门工作人员必填），如 县工业和信息化局")
    ] = None,
    password: Annotated[str | None, typer.Option(help="密码；不填则交互输入")] = None,
    display_name: Annotated[str | None, typer.Option(help="显示名")] = None,
) -> None:
    """创建用户。"""
    from app.accounts import service as accounts
    from app.errors import ValidationFailed

    if password is None:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt=True)
    with _session() as s:
        try:
            accounts.create_user(
                s,
                username=username,
                password=password,
                role=role,
                township=township,
                display_name=display_name,
                department=department,
            )
        except ValidationFailed as e:
            for err in e.errors:
                typer.echo(f"错误：{err.field}：{err.message}", err=True)
            raise typer.Exit(2) from None
        s.commit()
    typer.echo(f"已创建用户 {username}（{role}）")


@app.command("create-api-key")
def create_api_key(
    name: Annotated[str, typer.Option(help="密钥名称，如 liaocheng-policy-platform")],
    scopes: Annotated[str, typer.Option(help="逗号分隔的权限范围，如 enterprises:read,awards:read")],
) -> None:
    """创建 API 密钥。密钥只显示一次，单独打印在最后一行；库中只存其哈希。"""
    from app.accounts import service as accounts
    from app.errors import ValidationFailed

    scope_list = [s.strip() for s in scopes.split(",") if s.strip()]
    with _session() as s:
        try:
            key, record = accounts.create_api_key(s, name=name, scopes=scope_list)
        except ValidationFailed as e:
            for err in e.errors:
                typer.echo(f"错误：{err.field}：{err.message}", err=True)
            raise typer.Exit(2) from None
        s.commit()
    typer.echo(f"已创建 API 密钥“{name}”，权限范围：{','.join(scope_list)}。请妥善保存，它不会再次显示：")
    typer.echo(key)


@app.command("revoke-api-key")
def revoke_api_key(name: Annotated[str, typer.Option(help="要吊销的密钥名称")]) -> None:
    """吊销 API 密钥：此后该密钥的请求一律 401，它登记的 webhook 停止推送。"""
    from app.accounts import service as accounts
    from app.accounts.permissions import SYSTEM
    from app.errors import AppError

    with _session() as s:
        try:
            record = accounts.revoke_api_key(s, actor=SYSTEM, name=name)
        except AppError as e:
            typer.echo(f"错误：{e.detail}", err=True)
            raise typer.Exit(2) from None
        s.commit()
        typer.echo(
            f"已吊销 API 密钥“{record.name}”（{record.prefix}，吊销于 {record.revoked_at:%Y-%m-%d %H:%M} UTC）；"
            "它登记的 webhook 已停止推送"
        )


@app.command("seed-demo")
def seed_demo(
    enterprises: Annotated[int, typer.Option(help="生成的企业数")] = 3000,
    seed: Annotated[int, typer.Option(help="随机种子")] = 20230323,
) -> None:
    """载入演示数据：一个县的企业（19 个乡镇，含年度数据和认定）与演示账号。数据库非空时不重复载入。"""
    from sqlalchemy import func, select

    from app.demo import seed as demo_seed
    from app.enterprises.models import Enterprise

    with _session() as s:
        if s.scalar(select(func.count()).select_from(Enterprise)):
            typer.echo("数据库中已有企业，跳过演示数据")
            return
        n = demo_seed.load(s, enterprises, seed=seed)
        _demo_extras(s)
        s.commit()
    typer.echo(f"已载入演示数据：{n} 家企业")


def _demo_extras(session) -> None:
    """Each domain's demo data on top of the generated enterprises."""
    from app.awards import demo as awards_demo
    from app.evaluation import demo as evaluation_demo
    from app.pools import demo as pools_demo
    from app.registers import demo as registers_demo
    from app.reports import demo as reports_demo
    from app.support import demo as support_demo
    from app.targets import demo as targets_demo

    for mod in (
        pools_demo,
        awards_demo,
        targets_demo,
        reports_demo,
        support_demo,
        registers_demo,
        evaluation_demo,
    ):
        mod.seed(session)


@app.command("import-enterprises")
def import_enterprises(path: Annotated[Path, typer.Argument(help=".xlsx 文件路径")]) -> None:
    """从 Excel 导入企业（全部成功或全部不写入）。"""
    from app.accounts.permissions import SYSTEM
    from app.enterprises import excel
    from app.errors import ValidationFailed

    data = path.read_bytes()
    with _session() as s:
        try:
            result = excel.import_enterprises(s, actor=SYSTEM, data=data)
        except ValidationFailed as e:
            typer.echo(e.detail, err=True)
            for err in e.errors:
                typer.echo(f"  {err.message}", err=True)
            raise typer.Exit(2) from None
        s.commit()
    typer.echo(f"导入成功：{result.created} 家企业，{result.figures} 条年度数据")


@app.command("compute-awards")
def compute_awards(year: Annotated[int, typer.Option(help="事件年度，如 2023")]) -> None:
    """为该年已记录的事件（含认定）按政策生成尚未生成的待审核奖补；可重复运行，不会重复生成。"""
    from app.accounts.permissions import SYSTEM
    from app.awards import funds, proposals
    from app.money import wan_2dp
    from app.policies.schema import FUNDER_NAMES

    with _session() as s:
        funds.ensure_policy_funds(s, SYSTEM)
        out = proposals.compute_year(s, actor=SYSTEM, year=year)
        s.commit()
    by_funder = "，".join(
        f"{FUNDER_NAMES[f]} {wan_2dp(v)} 万元" for f, v in sorted(out.total_by_funder.items())
    )
    typer.echo(
        f"{year} 年：{out.events} 个事件（其中为认定补记 {out.honour_events_created} 个），"
        f"{out.lines} 笔奖补，新生成 {out.created_lines} 笔，已有 {out.existing_lines} 笔"
    )
    typer.echo(f"按上限合计 {wan_2dp(out.total_yuan)} 万元{('：' + by_funder) if by_funder else ''}")


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option()] = 1,
) -> None:
    """启动 Web 服务（uvicorn）。"""
    import uvicorn

    uvicorn.run(
        "app.asgi:app", host=host, port=port, workers=workers, access_log=False, timeout_graceful_shutdown=30
    )


@app.command()
def quickstart(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """本机试用：迁移 SQLite 数据库、载入演示数据、创建演示账号、启动服务并打印登录信息。"""
    var = LOCAL
    var.mkdir(exist_ok=True)
    if not os.environ.get("YUMIAO_SECRET_KEY"):
        key_file = var / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(32))
            key_file.chmod(0o600)
        os.environ["YUMIAO_SECRET_KEY"] = key_file.read_text().strip()
    os.environ.setdefault("YUMIAO_DATABASE_URL", f"sqlite:///{var / 'yumiao.db'}")
    os.environ.setdefault("YUMIAO_LOG_JSON", "false")
    run_migrations()
    seed_demo(enterprises=3000, seed=20230323)
    from sqlalchemy import select

    from app.accounts import service as accounts
    from app.accounts.models import User

    pw_file = var / "demo_password"
    if not pw_file.exists():
        pw_file.write_text(secrets.token_urlsafe(9))
        pw_file.chmod(0o600)
    password = pw_file.read_text().strip()
    with _session() as s:
        for username, role, township in (
            ("admin", "county_admin", None),
            ("viewer", "county_viewer", None),
            ("qingquan", "township_staff", "qingquan"),
        ):
            if not s.scalar(select(User.id).where(User.username == username)):
                accounts.create_user(s, username=username, password=password, role=role, township=township)
        s.commit()
    typer.echo("")
    typer.echo(f"  打开 http://{host}:{port}/")
    typer.echo(f"  登录：admin / {password}（县工信局管理员）；viewer、qingquan（清泉街道）密码相同")
    typer.echo("")
    sys.stdout.flush()
    serve(host=host, port=port, workers=1)


@app.command("deliver-webhooks")
def deliver_webhooks(
    once: Annotated[bool, typer.Option("--once", help="只处理一轮后退出（供定时任务或测试）")] = False,
    interval: Annotated[float, typer.Option(help="两轮之间的间隔（秒）")] = 5.0,
    max_attempts: Annotated[int, typer.Option(help="每批最多尝试次数，之后记为失败")] = 6,
    base_delay: Annotated[
        float, typer.Option(help="首次重试前的等待（秒），之后每次加倍，最长 1 小时")
    ] = 30.0,
    timeout: Annotated[float, typer.Option(help="每次 POST 的超时（秒）")] = 10.0,
) -> None:
    """把变更流推送到已登记的 webhook 地址（HMAC-SHA256 签名，指数退避重试，记录每次投递）。"""
    import time

    import httpx

    from app.db import get_sessionmaker
    from app.integration import webhooks

    with httpx.Client(timeout=timeout, follow_redirects=False) as http:
        while True:
            stats = webhooks.run_once(
                get_sessionmaker(), http=http, max_attempts=max_attempts, base_delay=base_delay
            )
            if stats.enqueued or stats.delivered or stats.retried or stats.failed:
                typer.echo(
                    f"新批次 {stats.enqueued}，送达 {stats.delivered}，待重试 {stats.retried}，失败 {stats.failed}"
                )
            if once:
                return
            time.sleep(interval)


if __name__ == "__main__":
    app()
