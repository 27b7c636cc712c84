from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from hookline.cli import main
from hookline.domain.portal_offer import PortalOffer
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
    assert settings.retry_policy.to_json() == {"schedule": [0, 0.5]}


def test_config_command_masks_secrets(monkeypatch) -> None:
    monkeypatch.setenv("HOOKLINE_ADMIN_KEY", "super-secret-admin-key")
    monkeypatch.setenv("HOOKLINE_SMTP_URL", "smtp://user:hunter2@mail.example:25")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0, result.output
    assert "super-secret-admin-key" not in result.output
    assert "hunter2" not in result.output
    shown = json.loads(result.stdout)
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
    assert json.loads(result.stdout)["database_url"] == "postgresql://hook:***@db.example:5432/hook"


def test_config_prints_what_the_settings_resolve_to(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOOKLINE_RETRY_POLICY", '{"exponential": {"initial": 1, "retries": 3}}')
    effective = json.loads(CliRunner().invoke(main, ["config"]).stdout)["effective"]
    assert effective["mode"] == "production"
    assert effective["database"] == str(tmp_path / ".hookline" / "hookline.db")
    assert effective["admin_key"].startswith("none yet")
    assert effective["retry_policy"]["schedule"] == [0, 1, 2, 4]
    assert effective["retry_policy"]["timeout"] == 10

    (tmp_path / ".hookline").mkdir()
    (tmp_path / ".hookline" / "admin.key").write_text("hk_admin_secret-value\n")
    monkeypatch.setenv("HOOKLINE_DEV", "true")
    output = CliRunner().invoke(main, ["config"]).stdout
    assert "secret-value" not in output
    effective = json.loads(output)["effective"]
    assert effective["admin_key"].startswith("*** (in ")
    assert effective["mode"].startswith("dev")


def test_send_says_to_add_a_scheme_to_a_bare_url() -> None:
    result = CliRunner().invoke(
        main, ["send", "-w", "acme", "-t", "a.b", "--url", "localhost:8000", "--key", "hk_x"]
    )
    assert result.exit_code != 0
    assert "has no scheme: write it as http://localhost:8000" in result.output


@pytest.mark.parametrize(
    ("policy", "problem"),
    [
        ('{"exponential": {"initial": 1e300}}', "exponential.initial must be a number from 0"),
        ('{"timeout": 0}', "timeout must be between 0 and 60 seconds"),
        ('{"jitter": NaN}', "jitter must be between 0 and 1"),
        ('{"schedule": [0, 1e400]}', "schedule must be 1 to 50 delays in seconds"),
        ('{"retries": 3}', "retries is not a known field"),
    ],
)
def test_serve_refuses_an_invalid_deployment_retry_policy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, policy: str, problem: str
) -> None:
    monkeypatch.setenv("HOOKLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOOKLINE_RETRY_POLICY", policy)
    with pytest.raises(ValidationError, match="HOOKLINE_RETRY_POLICY"):
        Settings()
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1, result.output
    assert "invalid settings" in result.output
    assert f"HOOKLINE_RETRY_POLICY.{problem}" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "hookline.db").exists()  # stopped before opening anything


def test_a_valid_deployment_retry_policy_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = {"exponential": {"initial": 0.5, "factor": 10, "retries": 49, "max": 604800}}
    monkeypatch.setenv("HOOKLINE_RETRY_POLICY", json.dumps(policy))
    assert Settings().retry_policy.to_json() == policy


@pytest.mark.parametrize("share", ["0", "-0.5", "1.5", "nan"])
def test_serve_refuses_a_workspace_share_outside_its_range(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, share: str
) -> None:
    monkeypatch.setenv("HOOKLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOOKLINE_WORKSPACE_SHARE", share)
    with pytest.raises(ValidationError, match="HOOKLINE_WORKSPACE_SHARE must be above 0"):
        Settings()
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1, result.output
    assert "invalid settings" in result.output
    assert "HOOKLINE_WORKSPACE_SHARE must be above 0 and at most 1" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("share", "worker", "slots"), [(None, 128, 96), ("1", 128, 128), ("0.1", 8, 1)]
)
def test_a_workspace_gets_its_share_of_a_workers_slots(
    monkeypatch: pytest.MonkeyPatch, share: str | None, worker: int, slots: int
) -> None:
    if share is not None:
        monkeypatch.setenv("HOOKLINE_WORKSPACE_SHARE", share)
    monkeypatch.setenv("HOOKLINE_WORKER_CONCURRENCY", str(worker))
    assert Settings().workspace_concurrency == slots


@pytest.mark.parametrize("value", ["jaeger", "on", "OTLP "])
def test_serve_refuses_an_unknown_tracing_mode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    monkeypatch.setenv("HOOKLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOOKLINE_TRACING", value)
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1, result.output
    assert "HOOKLINE_TRACING: Input should be 'off' or 'otlp'" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "hookline.db").exists()


def test_tracing_is_off_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOKLINE_TRACING", raising=False)
    monkeypatch.delenv("HOOKLINE_TRACE_PROPAGATION", raising=False)
    settings = Settings()
    assert (settings.tracing, settings.trace_propagation) == ("off", False)
    monkeypatch.setenv("HOOKLINE_TRACING", "otlp")
    monkeypatch.setenv("HOOKLINE_TRACE_PROPAGATION", "true")
    settings = Settings()
    assert (settings.tracing, settings.trace_propagation) == ("otlp", True)


def test_the_deployment_delivery_format_is_checked_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOOKLINE_DELIVERY", '{"signature": "rot13"}')
    with pytest.raises(ValidationError, match=r"HOOKLINE_DELIVERY\.signature must be one of"):
        Settings()
    monkeypatch.setenv("HOOKLINE_DELIVERY", '{"brand": "Acme"}')
    delivery = Settings().delivery
    assert (delivery.brand, delivery.signature) == ("Acme", "standard")


def test_the_portal_offer_is_typed_json_and_checked_at_start(monkeypatch) -> None:
    assert Settings().portal_offer == PortalOffer()
    assert Settings().portal_offer.destinations == ("http",)
    monkeypatch.setenv(
        "HOOKLINE_PORTAL_OFFER",
        '{"auth": false, "filters": false, "headers": false, "rateLimit": false}',
    )
    shown = json.loads(CliRunner().invoke(main, ["config"]).stdout)
    assert shown["portal_offer"] == {
        "destinations": ["http"],
        "auth": False,
        "filters": False,
        "headers": False,
        "rateLimit": False,
    }
    monkeypatch.setenv("HOOKLINE_PORTAL_OFFER", '{"destinations": ["nats", "http"]}')
    assert Settings().portal_offer.queues == ("nats",)
    for bad in ('{"destinations": ["ftp"]}', '{"headers": "yes"}', '{"colour": 1}', "[]"):
        monkeypatch.setenv("HOOKLINE_PORTAL_OFFER", bad)
        result = CliRunner().invoke(main, ["config"])
        assert result.exit_code != 0 and "HOOKLINE_PORTAL_OFFER" in result.output, bad
