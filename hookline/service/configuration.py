"""What a deployment's settings amount to, secrets masked: ``hookline config`` prints it for
the local environment, and ``GET /v1/config`` answers it for a running server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hookline.domain.retry import RetryPolicy
from hookline.service.access import Principal
from hookline.settings import Settings


@dataclass(frozen=True, kw_only=True)
class Process:
    """What a running server is: its role and the dispatcher processes it runs beside itself."""

    role: str
    dispatcher_processes: int


def configuration(settings: Settings, process: Process | None = None) -> dict[str, Any]:
    """The settings with secrets masked and, under ``effective``, what they resolve to."""
    shown = settings.masked()
    shown["effective"] = _effective(settings, process)
    return shown


def server_configuration(who: Principal, settings: Settings, process: Process) -> dict[str, Any]:
    """A running server's configuration, for the admin key only."""
    who.require_admin("read the server's configuration")
    return configuration(settings, process)


def _effective(settings: Settings, process: Process | None) -> dict[str, Any]:
    policy = RetryPolicy.resolve(settings.retry_policy)
    key_file = settings.data_dir / "admin.key"
    if process is not None:
        admin_key = "*** (in use)"
    elif settings.admin_key is not None:
        admin_key = "*** (from HOOKLINE_ADMIN_KEY)"
    elif key_file.exists():
        admin_key = f"*** (in {key_file})"
    else:
        admin_key = f"none yet: generated into {key_file} on the first start"
    effective: dict[str, Any] = {
        "source": "this server" if process is not None else "this shell's environment",
        "mode": "dev (http:// and private destinations allowed)" if settings.dev else "production",
        "database": settings.database_display
        if settings.database_url.startswith("postgres")
        else str(settings.sqlite_path.absolute()),
        "admin_key": admin_key,
        "retry_policy": {
            "schedule": list(policy.schedule),
            "retryOn": policy.retry_on if policy.retry_on == "any" else sorted(policy.retry_on),
            "timeout": policy.timeout,
            "followRedirects": policy.follow_redirects,
            "jitter": policy.jitter,
            "onExhausted": policy.on_exhausted,
            "maxRetryAfter": policy.max_retry_after,
        },
    }
    if process is not None:
        effective["role"] = process.role
        effective["dispatcher_processes"] = process.dispatcher_processes
    return effective
