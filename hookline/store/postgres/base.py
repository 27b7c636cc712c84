"""What every group of queries shares: the pool, status expressions, the work notification."""

from __future__ import annotations

from hookline.secrets import SecretBox
from hookline.store.postgres.connection import Connection, Database

# The channel a transaction that creates due work notifies (delivered at commit).
CHANNEL = "hookline_work"

# The status a delivery returns to when it is not finished: held while its webhook is not active.
REQUEUE = (
    "CASE WHEN (SELECT status FROM webhooks w WHERE w.id = deliveries.webhook_id) = 'active' "
    "THEN 'pending' ELSE 'held' END"
)
# The first status of a new delivery, in a query that joins its webhook as ``w``.
INITIAL = "CASE w.status WHEN 'active' THEN 'pending' ELSE 'held' END"
# A webhook taken out of service holds its pending deliveries (the one parameter: its id).
HOLD = "UPDATE deliveries SET status = 'held' WHERE webhook_id = $1 AND status = 'pending'"


class Queries:
    """Base of the query groups ``PostgresStore`` is assembled from.

    Reads go through ``_db.fetch*`` (retried once on a lost connection); writes
    through ``_db.transaction()`` or ``_db.execute`` (never retried).
    ``_box`` seals and opens what is stored encrypted (webhooks' custom headers).
    """

    _db: Database
    _box: SecretBox


async def notify_work(conn: Connection) -> None:
    """Tell every listening process that work may be due (sent when the transaction commits)."""
    await conn.execute(f"NOTIFY {CHANNEL}")
