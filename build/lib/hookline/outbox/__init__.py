"""The transactional outbox: events written in the application's own transaction, relayed
to Hookline after it commits.

The application inserts a row into its outbox table in the same transaction as the
change the event describes, so the event exists if and only if that transaction
commits. A relay (``hookline relay`` for SQLAlchemy, ``manage.py hookline_relay`` for
Django) claims pending rows under a lease, sends them in batches with the row's id as
the event's idempotency key, and marks them sent. Hookline down means the rows wait,
with backoff; a relay that dies leaves its claims to expire; several relays share the
rows, and a row sent twice (a lease that ran out mid-send) is one event, because
Hookline answers a repeated id with the original.
"""

from __future__ import annotations

from hookline.outbox.relay import Backoff, Pending, Relay, Report, Source

__all__ = ["Backoff", "Pending", "Relay", "Report", "Source"]
