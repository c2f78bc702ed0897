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
    # Connections per worker process. Request threads are capped below the pool's capacity,
    # so a burst waits for a thread, never for a connection held by a thread that waits too.
    db_pool_size: int = 10
    db_max_overflow: int = 15
    worker_threads: int = 20
    policies_dir: Path = Path(__file__).parent / "policies"

    @field_validator("database_url")
    @classmethod
    def _driver(cls, v: str) -> str:
        return normalise_database_url(v)

    @model_validator(mode="after")
    def _no_placeholder_secret(self) -> "Settings":
        if self.secret_key.strip().lower() in PLACEHOLDER_SECRETS or len(self.secret_key) < 16:
            raise ValueError("YUMIAO_SECRET_KEY must be set to a random string of at least 16 characters")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
