"""``hookline --help``: every command and every option says what it is for."""

from __future__ import annotations

import click
from click.testing import CliRunner

from hookline.cli import main


def test_every_command_and_option_has_a_help_text() -> None:
    assert isinstance(main, click.Group)
    missing = [] if main.help else ["hookline"]
    for name, command in main.commands.items():
        if not command.help:
            missing.append(name)
        missing += [
            f"{name} {param.opts[0]}"
            for param in command.params
            if isinstance(param, click.Option) and not param.help
        ]
    assert missing == []


def test_each_help_page_shows_the_option_texts() -> None:
    runner = CliRunner()
    for name in main.commands:
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, result.output
    listen = runner.invoke(main, ["listen", "--help"]).output
    assert "Port to listen on." in listen and "Address to listen on." in listen
    assert "one JSON object a line" in runner.invoke(main, ["serve", "--help"]).output
