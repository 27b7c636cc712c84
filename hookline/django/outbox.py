"""Writing outbox rows in the caller's transaction, and the ``Source`` the relay claims from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import connections, router, transaction
from django.db.models import F, Q
from django.utils.functional import Promise
from ulid import ULID

from hookline.django.models import OutboxEvent
from hookline.outbox.payload import encode
from hookline.outbox.relay import Pending

MAX_ERROR = 2000  # characters of a failure kept in last_error


def enqueue(
    type: str,
    data: Mapping[str, Any],
    *,
    workspace: str | None = None,
    using: str | None = None,
) -> str:
    """Insert one outbox row on database ``using`` (default: where OutboxEvent is written),
    inside whatever transaction is open there; its event id."""
    payload = encode(data, default=_lazy_text)
    if not type or len(type) > 128:
        raise ValueError(f"an event type is 1 to 128 characters, not {type!r}")
    now = datetime.now(UTC)
    row = OutboxEvent(
        id=f"evt_{ULID()}",
        workspace_id=workspace,
        event_type=type,
        payload=payload,
        created_at=now,
        next_attempt_at=now,
    )
    row.save(using=using or router.db_for_write(OutboxEvent), force_insert=True)
    return str(row.id)


def _lazy_text(value: Any) -> str:
    """A lazy translation becomes its text, as ``DjangoJSONEncoder`` writes it."""
    if isinstance(value, Promise):
        return str(value)
    raise TypeError(value)


def _pending(now: datetime) -> Q:
    return Q(sent_at__isnull=True, refused_at__isnull=True, next_attempt_at__lte=now) & (
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )


class DjangoSource:
    """The ``hookline_outbox`` table through the ORM, on database ``using``.

    PostgreSQL leases with ``SELECT … FOR UPDATE SKIP LOCKED`` (relays never wait on each
    other); SQLite, which has no row locks, with one ``UPDATE … WHERE id IN (SELECT … LIMIT
    n)`` that its single writer makes atomic. Every later change is fenced by the owner.
    """

    def __init__(self, using: str = "default") -> None:
        self.using = using
        self.rows = OutboxEvent.objects.using(using)

    def claim(self, owner: str, limit: int, until: datetime) -> list[Pending]:
        now = datetime.now(UTC)
        due = self.rows.filter(_pending(now)).order_by("created_at", "id")
        with transaction.atomic(using=self.using):
            if connections[self.using].features.has_select_for_update_skip_locked:
                ids = list(
                    due.select_for_update(skip_locked=True).values_list("id", flat=True)[:limit]
                )
                self.rows.filter(id__in=ids).update(locked_by=owner, locked_until=until)
            else:
                chosen = due.values("id")[:limit]
                self.rows.filter(_pending(now), id__in=chosen).update(
                    locked_by=owner, locked_until=until
                )
        claimed = self.rows.filter(locked_by=owner, locked_until=until, sent_at__isnull=True)
        return [
            Pending(
                id=row.id,
                workspace_id=row.workspace_id,
                type=row.event_type,
                data=row.payload,
                attempts=row.attempts,
            )
            for row in claimed.order_by("created_at", "id")
        ]

    def sent(self, owner: str, ids: Sequence[str], at: datetime) -> None:
        self._mine(owner, ids).update(
            sent_at=at, locked_by=None, locked_until=None, last_error=None
        )

    def retry(self, owner: str, due: Mapping[str, datetime], error: str) -> None:
        with transaction.atomic(using=self.using):
            for row_id, when in due.items():
                self._mine(owner, [row_id]).update(
                    attempts=F("attempts") + 1,
                    next_attempt_at=when,
                    locked_by=None,
                    locked_until=None,
                    last_error=error[:MAX_ERROR],
                )

    def refuse(self, owner: str, errors: Mapping[str, str], at: datetime) -> None:
        with transaction.atomic(using=self.using):
            for row_id, error in errors.items():
                self._mine(owner, [row_id]).update(
                    refused_at=at,
                    attempts=F("attempts") + 1,
                    locked_by=None,
                    locked_until=None,
                    last_error=error[:MAX_ERROR],
                )

    def requeue_refused(self) -> int:
        """Put every refused row back in line (after the cause was fixed); how many."""
        now = datetime.now(UTC)
        count: int = self.rows.filter(refused_at__isnull=False, sent_at__isnull=True).update(
            refused_at=None, next_attempt_at=now, attempts=0
        )
        return count

    def _mine(self, owner: str, ids: Sequence[str]) -> Any:
        return self.rows.filter(id__in=list(ids), locked_by=owner)
