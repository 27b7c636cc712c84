"""The outbox table as an Alembic migration, for applications that manage their schema
with Alembic. Call these from a revision of your own:

    from alembic import op
    from hookline.outbox import alembic as hookline_outbox

    def upgrade() -> None:
        hookline_outbox.upgrade(op)

    def downgrade() -> None:
        hookline_outbox.downgrade(op)

The columns are spelled out here rather than taken from ``outbox_table``: a migration is
a snapshot of the schema at one version and must not change when the library does. A
later version of the table will come as new functions next to these, never as a change
to them. Alembic itself is not imported: ``op`` is your revision's.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

TABLE_NAME = "hookline_outbox"
INDEX_NAME = "hookline_outbox_pending"
_PENDING = "sent_at IS NULL AND refused_at IS NULL"


def upgrade(op: Any) -> None:
    """Create ``hookline_outbox`` and its index of pending rows."""
    op.create_table(
        TABLE_NAME,
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(128), nullable=True),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_by", sa.String(64), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index(
        INDEX_NAME,
        TABLE_NAME,
        ["created_at", "id"],
        postgresql_where=sa.text(_PENDING),
        sqlite_where=sa.text(_PENDING),
    )


def downgrade(op: Any) -> None:
    """Drop ``hookline_outbox``, with every row still in it."""
    op.drop_index(INDEX_NAME, table_name=TABLE_NAME)
    op.drop_table(TABLE_NAME)
