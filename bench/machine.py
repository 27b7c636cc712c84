"""Facts about the machine and the software under test, for the report."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import sys
import time
from importlib import metadata
from typing import Any

from bench.procs import ROOT


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git() -> str:
    def run(*args: str) -> str:
        out = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT, timeout=30)
        return out.stdout.strip()

    commit = run("rev-parse", "--short", "HEAD") or "unknown"
    dirty = run("status", "--porcelain", "--", "hookline")
    return commit + (" + uncommitted changes in hookline/" if dirty else "")


def _postgres() -> str:
    try:
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or f"unavailable ({out.stderr.strip()[:80]})"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"


def _redis() -> str:
    try:
        out = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "INFO", "server"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        for line in out.stdout.splitlines():
            if line.startswith("redis_version:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    return "unavailable"


def busy_fraction(seconds: float = 2.0) -> float:
    """Share of all cores busy over ``seconds`` (from /proc/stat), before the bench starts."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as fh:
            parts = [int(x) for x in fh.readline().split()[1:]]
        idle = parts[3] + parts[4]
        return sum(parts) - idle, sum(parts)

    b0, t0 = sample()
    time.sleep(seconds)
    b1, t1 = sample()
    return (b1 - b0) / max(1, t1 - t0)


def facts() -> dict[str, Any]:
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": round(mem_gib, 1),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "aiohttp": _version("aiohttp"),
        "uvloop": _version("uvloop"),
        "uvicorn": _version("uvicorn"),
        "fastapi": _version("fastapi"),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _postgres(),
        "redis": _redis(),
        "django": _version("django"),
        "django_webhook": _version("django-webhook"),
        "django_outbound_webhooks": _version("django-outbound-webhooks"),
        "django_domain_events": _version("django-domain-events"),
        "httpx2": _version("httpx2"),
        "celery": _version("celery"),
        "asyncpg": _version("asyncpg"),
        "py_spy": _version("py-spy"),
        "hookline": _git(),
        "loadavg_start": os.getloadavg(),
        "busy_before_start": busy_fraction(),
    }
