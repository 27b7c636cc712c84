"""A producer that keeps posting events, one at a time, while a test breaks things under it."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter

import httpx
from support.server import ADMIN_KEY

# How long the sender waits after a refusal before it sends the next event.
REFUSED_PAUSE = 0.01


class Sender(threading.Thread):
    """Posts events one at a time, as fast as they are answered, until stopped; keeps the ids
    of the accepted ones (202) with when they were accepted, counts the refused ones, and
    counts every answer by status (a transport error by its class name)."""

    def __init__(self, base_url: str, ws: str, *, type: str = "restart.tick", pad: int = 0) -> None:
        super().__init__(name="event-sender", daemon=True)
        self._client = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=5.0
        )
        self._path = f"/v1/workspaces/{ws}/events"
        self._type = type
        self._pad = "x" * pad
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self.accepted: list[tuple[float, str]] = []
        self.refused = 0
        self.answers: Counter[int | str] = Counter()

    def run(self) -> None:
        try:
            for n in itertools.count():
                if self._halt.is_set():
                    return
                data = {"seq": n, "pad": self._pad} if self._pad else {"seq": n}
                event = {"id": f"evt-{n}", "type": self._type, "data": data}
                try:
                    resp = self._client.post(self._path, json=event)
                except httpx.TransportError as exc:
                    resp, answer = None, type(exc).__name__
                else:
                    answer = resp.status_code
                with self._lock:
                    self.answers[answer] += 1
                    if resp is not None and resp.status_code == 202:
                        self.accepted.append((time.monotonic(), event["id"]))
                    else:
                        self.refused += 1
                if answer != 202:
                    self._halt.wait(REFUSED_PAUSE)
        finally:
            self._client.close()

    def accepted_since(self, moment: float) -> int:
        with self._lock:
            return sum(1 for at, _ in self.accepted if at >= moment)

    def refused_count(self) -> int:
        with self._lock:
            return self.refused

    def ids(self) -> set[str]:
        with self._lock:
            return {event_id for _, event_id in self.accepted}

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=15)
        assert not self.is_alive(), "the sender did not stop"
