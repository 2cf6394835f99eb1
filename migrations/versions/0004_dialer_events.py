"""dialer events: attempts written before the call is placed, then completed

Revision ID: 0004
Revises: 0005
Create Date: 2026-11-25 14:00:00

An attempt row now exists from the moment a call is originated (status DIALLED, no
disposition, no end) and is completed from the dialer's events (status ENDED). It also
records when an agent was bridged and the network's cause of a failure.
(0005 landed first; this revision follows it.)
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import campaigns.storage.orm


revision: str = '0004'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('call_attempts', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('status', sa.String(length=12), server_default='ENDED', nullable=False)
        )
        batch_op.add_column(
            sa.Column('bridged_at', campaigns.storage.orm.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column('cause', sa.String(length=80), nullable=True))
        batch_op.alter_column('disposition', existing_type=sa.VARCHAR(length=32), nullable=True)
        batch_op.alter_column(
            'ended_at',
            existing_type=campaigns.storage.orm.UTCDateTime(timezone=True),
            nullable=True,
        )


def downgrade() -> None:
    # Attempts still in progress have no outcome to keep under the old, stricter schema.
    op.execute("DELETE FROM call_attempts WHERE status <> 'ENDED'")
    with op.batch_alter_table('call_attempts', schema=None) as batch_op:
        batch_op.alter_column(
            'ended_at',
            existing_type=campaigns.storage.orm.UTCDateTime(timezone=True),
            nullable=False,
        )
        batch_op.alter_column('disposition', existing_type=sa.VARCHAR(length=32), nullable=False)
        batch_op.drop_column('cause')
        batch_op.drop_column('bridged_at')
        batch_op.drop_column('status')
