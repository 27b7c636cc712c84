from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hookline.cli import main
from hookline.settings import Settings

DOCS = Path(__file__).parents[2] / "docs" / "configuration.md"


def test_every_setting_is_described_and_documented() -> None:
    text = DOCS.read_text()
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no description"
        assert f"`HOOKLINE_{name.upper()}`" in text, f"HOOKLINE_{name.upper()} is not in {DOCS}"


def test_settings_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("HOOKLINE_PORT", "9123")
    monkeypatch.setenv("HOOKLINE_RETRY_POLICY", '{"schedule": [0, 0.5]}')
    settings = Settings()
    assert settings.port == 9123
    assert settings.retry_policy == {"schedule": [0, 0.5]}


def test_config_command_masks_secrets(monkeypatch) -> None:
    monkeypatch.setenv("HOOKLINE_ADMIN_KEY", "super-secret-admin-key")
    monkeypatch.setenv("HOOKLINE_SMTP_URL", "smtp://user:hunter2@mail.example:25")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0, result.output
    assert "super-secret-admin-key" not in result.output
    assert "hunter2" not in result.output
    shown = json.loads(result.output)
    assert shown["admin_key"] == "***"
    assert shown["smtp_url"] == "smtp://***@mail.example:25"


def test_allowed_networks_take_a_comma_list_or_json(monkeypatch) -> None:
    monkeypatch.setenv("HOOKLINE_ALLOWED_NETWORKS", "127.0.0.1/32, 10.1.0.0/16")
    assert Settings().allowed_networks == ["127.0.0.1/32", "10.1.0.0/16"]
    monkeypatch.setenv("HOOKLINE_ALLOWED_NETWORKS", '["192.168.7.0/24"]')
    assert Settings().allowed_networks == ["192.168.7.0/24"]


def test_a_bad_setting_is_a_clear_error_not_a_traceback(monkeypatch) -> None:
    monkeypatch.setenv("HOOKLINE_ALLOWED_NETWORKS", "not-a-network")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code != 0
    assert "invalid settings" in result.output
    assert "Traceback" not in result.output


def test_config_masks_the_database_password(monkeypatch) -> None:
    monkeypatch.setenv("HOOKLINE_DATABASE_URL", "postgresql://hook:s3cret@db.example:5432/hook")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    assert json.loads(result.output)["database_url"] == "postgresql://hook:***@db.example:5432/hook"
