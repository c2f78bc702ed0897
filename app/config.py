"""One Settings class: every setting comes from the environment (prefix YUMIAO_)."""

from functools import lru_cache
from pathlib import Path

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev"}


def normalise_database_url(url: str) -> str:
    """Accept the URL as operators write it and pick the driver ourselves."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YUMIAO_", extra="ignore")

    database_url: str = "sqlite:///./var/yumiao.db"
    # No default: the quickstart (`make run`) generates one into var/secret_key.
    secret_key: str
    cookie_secure: bool = False
    session_hours: int = 12
    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 20
    login_window_minutes: int = 15
    api_rate_limit: str = "600/minute"
    import_max_bytes: int = 20 * 1024 * 1024
    import_max_rows: int = 50_000
    import_max_uncompressed_bytes: int = 200 * 1024 * 1024
    import_max_ratio: int = 100
    log_json: bool = True
    # Load, per worker process (see docs/OPERATIONS.md "Under load"). At most `request_concurrency`
    # requests hold a database session at once (capped below the connection pool's capacity); the
    # others wait for a slot — holding no connection, no lock and no thread — for at most
    # `request_queue_timeout_s`, then get 503 with Retry-After. Request threads are always more
    # than the slots, so a request that holds a transaction never waits for a thread.
    db_pool_size: int = 10
    db_max_overflow: int = 15
    db_pool_timeout_s: float = 10.0
    db_connect_timeout_s: int = 5
    db_lock_timeout_ms: int = 5_000
    db_statement_timeout_ms: int = 30_000
    db_idle_in_transaction_timeout_ms: int = 60_000
    request_concurrency: int = 20
    request_queue_timeout_s: float = 20.0
    worker_threads: int = 40
    # Database roles (docs/OPERATIONS.md): migrations as the owner, the app as a role that owns nothing.
    migration_database_url: str | None = None  # default: database_url
    app_db_role: str | None = None  # granted the application's rights by `yumiao migrate`
    # Webhook destinations allowed although internal (host names, addresses, networks; comma-separated).
    webhook_allowed_hosts: str = ""
    policies_dir: Path = Path(__file__).parent / "policies"

    @field_validator("database_url", "migration_database_url")
    @classmethod
    def _driver(cls, v: str | None) -> str | None:
        return normalise_database_url(v) if v else v

    @model_validator(mode="after")
    def _no_placeholder_secret(self) -> "Settings":
        if self.secret_key.strip().lower() in PLACEHOLDER_SECRETS or len(self.secret_key) < 16:
            raise ValueError("YUMIAO_SECRET_KEY must be set to a random string of at least 16 characters")
        return self

    @property
    def request_slots(self) -> int:
        """Requests holding a database session at once: never more than the pool can serve, with a
        connection to spare."""
        return max(1, min(self.request_concurrency, self.db_pool_size + self.db_max_overflow - 1))

    @property
    def thread_tokens(self) -> int:
        """Threads for sync routes and dependencies: every admitted request can always get one."""
        return max(self.worker_threads, self.request_slots + 10)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
