"""What Linux's /proc says of a process a test started: its children, and whether it runs."""

from __future__ import annotations

from pathlib import Path


def children(pid: int) -> list[int]:
    """The pids of the processes ``pid``'s main thread started that are still its children."""
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def alive(pid: int) -> bool:
    """Whether ``pid`` runs: it exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
