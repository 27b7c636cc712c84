"""Structured logging: plain text by default, one JSON object per line with --log-format json.

A record may carry ``extra={"fields": {...}}``: in JSON they become keys of the line.
In JSON mode everything the server prints is such a line: its log records, the lines it
prints whatever the log level (``announce``: the banner, a generated admin key), the
reason it cannot start (``fatal``), warnings and an uncaught exception's traceback.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from hookline.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def json_line(
    message: str,
    *,
    level: str = "info",
    logger: str = "hookline",
    at: float | None = None,
    fields: Mapping[str, Any] | None = None,
) -> str:
    """One log line as JSON: time, level, logger, message, then ``fields``."""
    when = datetime.now(UTC) if at is None else datetime.fromtimestamp(at, tz=UTC)
    entry = {
        "time": when.isoformat(timespec="milliseconds"),
        "level": level,
        "logger": logger,
        "message": message,
        **(fields or {}),
    }
    return json.dumps(entry)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        extra = dict(fields) if isinstance(fields, dict) else {}
        if record.exc_info:
            extra["exception"] = self.formatException(record.exc_info)
        return json_line(
            record.getMessage(),
            level=record.levelname.lower(),
            logger=record.name,
            at=record.created,
            fields=extra,
        )


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
        sys.excepthook = _log_uncaught
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    logging.captureWarnings(True)  # a library's warning is a log line too, not bare text


def announce(settings: Settings, message: str, **fields: str) -> None:
    """Print a line on stdout whatever the log level (the banner, a generated key): as it is,
    each field's value indented on a line of its own, or in JSON mode one JSON object."""
    if settings.log_format == "json":
        print(json_line(message, fields=fields), flush=True)
        return
    print("\n".join([message, *(f"    {value}" for value in fields.values())]), flush=True)


def fatal(log_format: str, message: str) -> None:
    """Say on stderr why the server cannot start: as it is, or as a JSON error line."""
    if log_format == "json":
        message = json_line(message, level="error")
    print(message, file=sys.stderr, flush=True)


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    text = "".join(traceback.format_exception(kind, exc, tb)).rstrip()
    line = json_line(f"{kind.__name__}: {exc}", level="critical", fields={"exception": text})
    print(line, file=sys.stderr, flush=True)
