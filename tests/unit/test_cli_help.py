"""``hookline --help``: every command and every option says what it is for."""

from __future__ import annotations

from collections.abc import Iterator

import click
from click.testing import CliRunner

from hookline.cli import main


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The path of every command under ``group``, subcommands of groups included (through
    click's lookup: the top group imports a command's module when asked for it)."""
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None, path
        command = found
    return command


def test_every_command_and_option_has_a_help_text() -> None:
    assert isinstance(main, click.Group)
    missing = [] if main.help else ["hookline"]
    for path in commands(main):
        command, name = command_at(path), " ".join(path)
        if not command.help:
            missing.append(name)
        missing += [
            f"{name} {param.opts[0]}"
            for param in command.params
            if isinstance(param, click.Option) and not param.help
        ]
    assert missing == []


def test_the_client_commands_are_there() -> None:
    found = {" ".join(path) for path in commands(main)}
    assert {
        "send",
        "webhooks list",
        "webhooks show",
        "webhooks create",
        "webhooks pause",
        "webhooks resume",
        "deliveries list",
        "recover",
        "tail",
    } <= found


def test_each_help_page_shows_the_option_texts() -> None:
    runner = CliRunner()
    for path in commands(main):
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, result.output
    listen = runner.invoke(main, ["listen", "--help"]).output
    assert "Port to listen on." in listen and "Address to listen on." in listen
    assert "one JSON object a line" in runner.invoke(main, ["serve", "--help"]).output
    tail = runner.invoke(main, ["tail", "--help"]).output
    assert "--status" in tail and "--max-events" not in tail
