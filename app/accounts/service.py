"""Users, log-in sessions, throttling and API keys."""

import hashlib
import secrets
import time
from datetime import timedelta
from typing import NoReturn

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Integer, bindparam, delete, event, exists, func, or_, select, text
from sqlalchemy.orm import Session

from app.accounts.models import ROLES, ApiKey, LoginAttempt, User, UserSession
from app.accounts.permissions import SCOPES, Principal, api_key_principal, user_principal
from app.config import get_settings
from app.db import utcnow
from app.errors import FieldError, Forbidden, NotFound, TooManyRequests, Unauthorized, ValidationFailed
from app.reference import township_names

_hasher = PasswordHash((Argon2Hasher(),))  # argon2id
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_placement(
    role: str, township: str | None, department: str | None, errors: list[FieldError]
) -> None:
    """A township staff member belongs to a township, a department staff member to a 县直部门, county roles to neither."""
    if role not in ROLES:
        errors.append(FieldError("role", f"角色须为 {', '.join(ROLES)} 之一"))
    if role == "township_staff" and township not in township_names():
        errors.append(FieldError("township", "乡镇工作人员须指定有效的乡镇代码"))
    if role != "township_staff" and township:
        errors.append(FieldError("township", "只有乡镇工作人员属于某个乡镇"))
    if role == "department_staff" and not department:
        errors.append(FieldError("department", "部门：县直部门工作人员须填写所属部门（如 县工业和信息化局）"))
    if department and len(department) > 60:
        errors.append(FieldError("department", "部门：不超过 60 字"))
    if role != "department_staff" and department:
        errors.append(FieldError("department", "部门：只有县直部门工作人员属于某个部门"))


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    township: str | None = None,
    display_name: str | None = None,
    department: str | None = None,
) -> User:
    errors = []
    department = (department or "").strip() or None
    _check_placement(role, township, department, errors)
    if len(password) < 8:
        errors.append(FieldError("password", "密码至少 8 位"))
    if session.scalar(select(User.id).where(User.username == username)):
        errors.append(FieldError("username", "用户名已存在"))
    if errors:
        raise ValidationFailed(errors)
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=_hasher.hash(password),
        role=role,
        township=township if role == "township_staff" else None,
        department=department if role == "department_staff" else None,
    )
    session.add(user)
    session.flush()
    return user


def list_users(session: Session, *, actor: Principal) -> list[User]:
    if not actor.is_admin:
        raise Forbidden("只有县级管理员可以管理用户")
    return list(
        session.scalars(select(User).order_by(User.role, User.township, User.department, User.username))
    )


def update_user(
    session: Session,
    *,
    actor: Principal,
    user_id: int,
    role: str,
    township: str | None = None,
    department: str | None = None,
) -> User:
    """Set a user's role and placement (township or 县直部门); audited. Their open log-ins take it at once."""
    if not actor.is_admin:
        raise Forbidden("只有县级管理员可以管理用户")
    user = session.get(User, user_id) if 0 < user_id < 2**31 else None
    if user is None:
        raise NotFound("未找到该用户")
    department = (department or "").strip() or None
    township = township or None
    errors: list[FieldError] = []
    _check_placement(role, township, department, errors)
    if errors:
        raise ValidationFailed(errors)
    before = {"role": user.role, "township": user.township, "department": user.department}
    user.role, user.township, user.department = role, township, department
    after = {"role": user.role, "township": user.township, "department": user.department}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changes:
        from app.audit import service as audit

        session.flush()
        audit.record(
            session,
            actor=actor,
            action="update",
            entity_type="app_user",
            entity_id=user.id,
            changes=changes,
            note=f"用户 {user.username}",
        )
    return user


LOGIN_LOCK_CLASS = 7302  # pg advisory lock namespace of log-in throttling: (class, hashtext(name))


def reserve_login_attempt(session: Session, *, username: str, address: str) -> None:
    """Count and decide atomically, before any password is checked: the attempt is refused if the
    account or the address already has its limit of failures in the window, else it is recorded
    as a failure at once. The caller commits straight after, so concurrent attempts — in any worker
    process — see it; a successful log-in then clears the account's failures.

    On PostgreSQL two transaction advisory locks (account first, then address — always in that
    order, so two attempts never wait on each other in a cycle) serialize the count-and-insert per
    account and per address; no two attempts can both see "4 of 5"."""
    s = get_settings()
    username, address = username[:64], address[:64]
    if session.get_bind().dialect.name == "postgresql":
        for name in ("user:" + username, "addr:" + address):
            session.execute(
                text("SELECT pg_advisory_xact_lock(:c, hashtext(:n))"), {"c": LOGIN_LOCK_CLASS, "n": name}
            )
    since = utcnow() - timedelta(minutes=s.login_window_minutes)
    by_user = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.username == username, LoginAttempt.at >= since)
    )
    by_addr = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.address == address, LoginAttempt.at >= since)
    )
    if by_user >= s.login_max_failures_per_account or by_addr >= s.login_max_failures_per_address:
        raise TooManyRequests(
            f"登录失败次数过多，请 {s.login_window_minutes} 分钟后再试",
            retry_after=s.login_window_minutes * 60,
        )
    session.add(LoginAttempt(username=username, address=address))
    session.flush()


def authenticate(session: Session, *, username: str, password: str) -> User:
    """Check a password (after `reserve_login_attempt`). On success the account's failures are
    cleared; on failure the reserved attempt stays counted."""
    user = session.scalar(select(User).where(User.username == username, User.is_active.is_(True)))
    if user is None:
        _hasher.verify(password, _DUMMY_HASH)  # same work whether or not the account exists
        raise Unauthorized("用户名或密码错误")
    ok, new_hash = _hasher.verify_and_update(password, user.password_hash)
    if not ok:
        raise Unauthorized("用户名或密码错误")
    if new_hash:
        user.password_hash = new_hash
    session.execute(delete(LoginAttempt).where(LoginAttempt.username == username[:64]))
    return user


def start_session(session: Session, user: User) -> tuple[str, UserSession]:
    token = secrets.token_urlsafe(32)
    us = UserSession(
        token_hash=_sha256(token),
        csrf_token=secrets.token_urlsafe(24),
        user_id=user.id,
        expires_at=utcnow() + timedelta(hours=get_settings().session_hours),
    )
    session.add(us)
    session.flush()
    return token, us


def principal_for_session_token(session: Session, token: str) -> Principal | None:
    row = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _sha256(token), User.is_active.is_(True))
    ).first()
    if row is None:
        return None
    us, user = row
    expires = us.expires_at if us.expires_at.tzinfo else us.expires_at.replace(tzinfo=utcnow().tzinfo)
    if expires < utcnow():
        return None
    return user_principal(user, csrf_token=us.csrf_token)


def end_session(session: Session, token: str) -> None:
    session.execute(delete(UserSession).where(UserSession.token_hash == _sha256(token)))


def create_api_key(session: Session, *, name: str, scopes: list[str]) -> tuple[str, ApiKey]:
    """Returns the key in clear (shown once) and its stored record (hash only)."""
    unknown = [s for s in scopes if s not in SCOPES]
    errors = []
    if unknown:
        errors.append(FieldError("scopes", f"未知权限范围：{', '.join(unknown)}；可选：{', '.join(SCOPES)}"))
    if not scopes:
        errors.append(FieldError("scopes", "至少需要一个权限范围"))
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)):
        errors.append(FieldError("name", "该名称的 API 密钥已存在"))
    if errors:
        raise ValidationFailed(errors)
    prefix = secrets.token_hex(4)
    key = f"ym_{prefix}_{secrets.token_urlsafe(32)}"
    record = ApiKey(name=name, prefix=prefix, key_hash=_sha256(key), scopes=",".join(scopes))
    session.add(record)
    session.flush()
    return key, record


def principal_for_api_key(session: Session, key: str) -> Principal | None:
    # Every request of the API: the three columns, not an entity in the session.
    digest = _sha256(key)
    record = session.execute(
        select(ApiKey.id, ApiKey.name, ApiKey.scopes).where(
            ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)
        )
    ).first()
    if record is None:
        return None
    principal = api_key_principal(record)
    _known_keys.remember(digest, principal)
    return principal


class KnownKeys:
    """API keys this process has seen valid, by the SHA-256 of the key (never the key): a request with a known
    key is authorised without a trip to a thread, and its key is checked again inside the request's own
    transaction (`check_api_key_in`), on the connection and in the snapshot the request reads and writes with.
    A revoked key is therefore refused by every process at its next request that touches the database; an entry
    also expires after TTL_S, so even a request that reads nothing cannot live on a revoked key for longer.
    A key's name and scopes never change (a key is made and revoked, never edited)."""

    TTL_S = 30.0
    MAX = 4096

    def __init__(self) -> None:
        self.entries: dict[str, tuple[float, Principal]] = {}

    def get(self, key: str) -> Principal | None:
        digest = _sha256(key)
        hit = self.entries.get(digest)
        if hit is None:
            return None
        if hit[0] < time.monotonic():
            self.entries.pop(digest, None)
            return None
        return hit[1]

    def remember(self, digest: str, principal: Principal) -> None:
        if len(self.entries) >= self.MAX:
            self.entries.clear()
        self.entries[digest] = (time.monotonic() + self.TTL_S, principal)

    def forget(self, key_id: int) -> None:
        for digest, (_, p) in list(self.entries.items()):
            if p.id == key_id:
                self.entries.pop(digest, None)


_known_keys = KnownKeys()
known_api_key = _known_keys.get

_CHECK_KEY = text("SELECT 1 FROM api_key WHERE id = :id AND revoked_at IS NULL")
CHECK_KEY_INFO = "check_api_key"


def check_api_key_in(session: Session, principal: Principal) -> None:
    """The request authorised by a known key: its transaction first checks that the key is still valid."""
    session.info[CHECK_KEY_INFO] = principal.id


@event.listens_for(Session, "after_begin")
def _check_key_at_begin(session: Session, transaction, connection) -> None:
    key_id = session.info.pop(CHECK_KEY_INFO, None)
    if key_id is not None and connection.scalar(_CHECK_KEY, {"id": key_id}) is None:
        refuse_key(key_id)


def refuse_key(key_id: int) -> NoReturn:
    _known_keys.forget(key_id)
    raise Unauthorized("API 密钥无效或已吊销")


# The check of `check_api_key_in` as a column of the request's first statement instead of a statement of its
# own (one round trip less): true when no key is to be checked (`check_key_id` NULL) or the key is still valid.
KEY_VALID = or_(
    bindparam("check_key_id", type_=Integer).is_(None),
    exists().where(ApiKey.id == bindparam("check_key_id", type_=Integer), ApiKey.revoked_at.is_(None)),
).label("key_valid")


def take_key_check(session: Session) -> int | None:
    """The key the request's transaction was to check at its start (`check_api_key_in`), taken off the session
    by a caller whose first statement selects `KEY_VALID` with it as `check_key_id` (and must then call
    `key_checked`)."""
    return session.info.pop(CHECK_KEY_INFO, None)


def key_checked(session: Session, key_id: int | None, valid: bool | None) -> None:
    """After a statement with `KEY_VALID`: `valid` is its value, None when it returned no row (the key is then
    checked on its own)."""
    if key_id is None:
        return
    if valid is None:
        valid = session.connection().scalar(_CHECK_KEY, {"id": key_id}) is not None
    if not valid:
        refuse_key(key_id)


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.name)))


def revoke_api_key(
    session: Session, *, actor: Principal, name: str | None = None, key_id: int | None = None
) -> ApiKey:
    """Revoke a key (by name or id): it authenticates nothing from now on, and the webhooks it made
    stop receiving changes. Revoking a revoked key changes nothing."""
    from app.audit import service as audit
    from app.errors import Forbidden, NotFound
    from app.integration import webhooks

    if not actor.is_admin:
        raise Forbidden("只有县级管理员可以吊销 API 密钥")
    stmt = (
        select(ApiKey).where(ApiKey.id == key_id)
        if key_id is not None
        else select(ApiKey).where(ApiKey.name == name)
    )
    record = session.scalar(stmt.with_for_update())
    if record is None:
        raise NotFound("未找到该 API 密钥")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="revoke",
            entity_type="api_key",
            entity_id=record.id,
            changes={"revoked_at": [None, record.revoked_at.isoformat()]},
            note=record.name,
        )
        webhooks.stop_for_revoked_key(session, actor=actor, api_key_id=record.id)
        _known_keys.forget(record.id)
    session.flush()
    return record
