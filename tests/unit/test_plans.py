"""The deployment's plans (HOOKLINE_PLANS, HOOKLINE_DEFAULT_PLAN) are checked at start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from hookline.cli import main
from hookline.settings import Settings


@pytest.mark.parametrize(
    ("plans", "problem"),
    [
        ({}, "names at least one plan"),
        ({"free": {"maxWebhooks": "ten"}}, "plan 'free' is {\"maxWebhooks\""),
        ({"free": {"maxWebhooks": -1}}, "plan 'free' is"),
        ({"free": {"maxWebhooks": True}}, "plan 'free' is"),
        ({"free": {"maxWebhooks": 10, "maxEvents": 5}}, "plan 'free' is"),
        ({"pro": {"maxWebhooks": None}}, "HOOKLINE_DEFAULT_PLAN 'free' is not one of"),
    ],
)
def test_serve_refuses_plans_it_could_not_apply(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, plans: dict[str, object], problem: str
) -> None:
    monkeypatch.setenv("HOOKLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOOKLINE_PLANS", json.dumps(plans))
    with pytest.raises(ValidationError):
        Settings()
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1, result.output
    assert "invalid settings" in result.output and problem in result.output
    assert "Traceback" not in result.output


def test_plans_and_the_default_plan_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    plans = {"solo": {"maxWebhooks": 1}, "team": {"maxWebhooks": 0}, "pro": {}}
    monkeypatch.setenv("HOOKLINE_PLANS", json.dumps(plans))
    monkeypatch.setenv("HOOKLINE_DEFAULT_PLAN", "solo")
    settings = Settings()
    assert settings.plans == plans and settings.default_plan == "solo"
