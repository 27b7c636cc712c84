"""The envelopes a receiver gets, rendered around the event's pre-encoded data.

The event's ``data`` is encoded once at ingest (``jsjson.dumps``); an envelope
is built by joining pre-encoded parts, so a body costs one string join. ``raw`` is no
envelope at all: the body is the event's data as encoded at ingest, as Svix sends a
message's payload (the event's id and type travel in headers only, and a test event is
its empty data, unmarked).
"""

from __future__ import annotations

from typing import Literal

from hookline.domain.jsjson import encode_string
from hookline.ids import format_ms

EnvelopeKind = Literal["standard", "typed", "dated", "raw"]
ENVELOPES: tuple[str, ...] = ("standard", "typed", "dated", "raw")


def render(
    kind: str,
    *,
    event_id: str,
    event_type: str,
    workspace_id: str,
    created_at_ms: int,
    data_json: str,
    test: bool = False,
) -> bytes:
    if kind == "raw":
        return data_json.encode()
    created = encode_string(format_ms(created_at_ms) or "")
    if kind == "typed":
        head = (
            f'{{"id":{encode_string(event_id)},"type":{encode_string(event_type)},'
            f'"workspaceId":{encode_string(workspace_id)},"createdAt":{created},"data":'
        )
    elif kind == "dated":
        head = f'{{"date":{created},"event":{encode_string(event_type)},"data":'
    else:
        head = (
            f'{{"id":{encode_string(event_id)},"type":{encode_string(event_type)},'
            f'"timestamp":{created},"data":'
        )
    tail = ',"test":true}' if test else "}"
    return (head + data_json + tail).encode()
