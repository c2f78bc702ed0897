"""Settings: secrets have no production default; database URLs as operators write them."""

import pytest
from pydantic import ValidationError

from app.config import Settings


def test_secret_key_is_required(monkeypatch):
    monkeypatch.delenv("YUMIAO_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="secret_key"):
        Settings()


@pytest.mark.parametrize("weak", ["changeme", "secret", "short"])
def test_placeholder_or_short_secret_is_refused(monkeypatch, weak):
    monkeypatch.setenv("YUMIAO_SECRET_KEY", weak)
    with pytest.raises(ValidationError, match="YUMIAO_SECRET_KEY"):
        Settings()


@pytest.mark.parametrize(
    "given, used",
    [
        ("postgresql://u@db.example/yumiao", "postgresql+psycopg://u@db.example/yumiao"),
        ("postgres://u:p@h:5433/y", "postgresql+psycopg://u:p@h:5433/y"),
        ("postgresql+psycopg://u@h/y", "postgresql+psycopg://u@h/y"),
        ("sqlite:///./var/yumiao.db", "sqlite:///./var/yumiao.db"),
    ],
)
def test_database_url_picks_the_driver(monkeypatch, given, used):
    monkeypatch.setenv("YUMIAO_SECRET_KEY", "x" * 32)
    monkeypatch.setenv("YUMIAO_DATABASE_URL", given)
    assert Settings().database_url == used


def test_sqlite_is_the_embedded_default(monkeypatch):
    monkeypatch.setenv("YUMIAO_SECRET_KEY", "x" * 32)
    monkeypatch.delenv("YUMIAO_DATABASE_URL", raising=False)
    s = Settings()
    assert s.is_sqlite and s.database_url.endswith("var/yumiao.db")


def test_api_docs_need_no_internet(client):
    """The intranet has no CDN: the OpenAPI page loads Swagger UI from our own static files."""
    page = client.get("/api/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in page and "cdn." not in page
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
