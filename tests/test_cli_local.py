"""After `make run`, the command line finds the generated secret and SQLite file without any export."""

from typer.testing import CliRunner

from app import cli


def test_commands_find_what_make_run_generated(tmp_path, monkeypatch):
    (tmp_path / "secret_key").write_text("generated-secret-0123456789abcdef\n")
    (tmp_path / "yumiao.db").write_bytes(b"")
    monkeypatch.setattr(cli, "LOCAL", tmp_path)
    for name in ("YUMIAO_SECRET_KEY", "YUMIAO_DATABASE_URL"):
        monkeypatch.setenv(name, "recorded")  # so the environment is restored after the test
        monkeypatch.delenv(name)
    assert CliRunner().invoke(cli.app, ["migrate", "--help"]).exit_code == 0
    import os

    assert os.environ["YUMIAO_SECRET_KEY"] == "generated-secret-0123456789abcdef"
    assert os.environ["YUMIAO_DATABASE_URL"] == f"sqlite:///{tmp_path / 'yumiao.db'}"


def test_an_exported_secret_wins(tmp_path, monkeypatch):
    (tmp_path / "secret_key").write_text("generated-secret-0123456789abcdef")
    monkeypatch.setattr(cli, "LOCAL", tmp_path)
    monkeypatch.setenv("YUMIAO_SECRET_KEY", "exported-secret-0123456789abcdef")
    monkeypatch.setenv("YUMIAO_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/x")
    cli._local_settings()
    import os

    assert os.environ["YUMIAO_SECRET_KEY"] == "exported-secret-0123456789abcdef"


def test_make_run_takes_a_port():
    text = (cli.ROOT / "Makefile").read_text()
    assert "PORT ?= 8000" in text and "quickstart --host $(HOST) --port $(PORT)" in text
