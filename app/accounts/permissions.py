"""Who is acting, and what they may see and change.

A Principal is either a logged-in user (role + township or department) or an API key (scopes).
Township staff see and change only their own township's data; to them another
township's enterprise does not exist (404, never 403, so nothing leaks). County department
staff (县直部门) see and handle only the 服务直通车 problems assigned to their department and
the firms whose current 服务专员 is from it; everything else is a 404 to them too.
"""

from dataclasses import dataclass, field

from app.errors import Forbidden

SCOPES = (
    "enterprises:read",
    "enterprises:write",
    "pools:read",
    "pools:write",
    "targets:read",
    "targets:write",
    "awards:read",
    "awards:write",
    "awards:approve",
    "filings:read",
    "filings:write",
    "policies:read",
    "policies:write",
    "changes:read",
    "platform:write",
    "webhooks:write",
    "support:read",
    "support:write",
    "registers:read",
    "registers:write",
    "evaluation:read",
)

_READ = {s for s in SCOPES if s.endswith(":read")}
ROLE_SCOPES: dict[str, set[str]] = {
    "county_admin": set(SCOPES),
    "county_viewer": set(_READ),
    "township_staff": _READ
    | {"enterprises:write", "pools:write", "filings:write", "support:write", "registers:write"},
    "department_staff": {"enterprises:read", "support:read", "support:write"},
}


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" | "api_key" | "system"
    id: int | None
    name: str
    role: str | None = None
    township: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    csrf_token: str | None = None
    department: str | None = None  # department_staff: their 县直部门

    @property
    def is_county(self) -> bool:
        """County-wide visibility: county roles and API keys (the municipal platform)."""
        return self.township is None and self.department is None

    @property
    def is_admin(self) -> bool:
        return self.role == "county_admin" or (self.kind == "system")

    def has(self, scope: str) -> bool:
        return self.kind == "system" or scope in self.scopes

    def require(self, scope: str) -> None:
        if not self.has(scope):
            from app.accounts.labels import SCOPE_NAMES

            words = f"没有“{SCOPE_NAMES.get(scope, scope)}”的权限"
            err = Forbidden(f"{words}（{scope}）")  # an integrator needs the scope's code …
            err.words, err.code_note = f"{words}，请联系县工信局管理员", scope  # … a person reads the words
            raise err

    def sees_township(self, township: str | None) -> bool:
        return self.is_county or (self.township is not None and township == self.township)

    def township_filter(self) -> str | None:
        """The township every query of this principal must be limited to (None: all)."""
        return self.township


SYSTEM = Principal(kind="system", id=None, name="system", role="county_admin", scopes=frozenset(SCOPES))


def user_principal(user, csrf_token: str | None = None) -> Principal:
    return Principal(
        kind="user",
        id=user.id,
        name=user.username,
        role=user.role,
        township=user.township if user.role == "township_staff" else None,
        department=user.department if user.role == "department_staff" else None,
        scopes=frozenset(ROLE_SCOPES[user.role]),
        csrf_token=csrf_token,
    )


def api_key_principal(key) -> Principal:
    return Principal(
        kind="api_key",
        id=key.id,
        name=f"api:{key.name}",
        role=None,
        township=None,
        scopes=frozenset(s for s in key.scopes.split(",") if s),
    )
