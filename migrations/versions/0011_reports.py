"""reports: agent shifts and call ratings, for the operations reports

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 17:00:00

有效工时利用率 = (工作时长 − 示忙时长) / 排班时长 needs each agent's scheduled, signed-in and
busy-flagged time per day; they come from the workforce schedule and the ACD, imported.
满意度 = 满意数 / 评定成功数 needs the customers' ratings of calls, from the survey after
the call, imported by call key.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import campaigns.storage.orm


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'agent_shifts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('scheduled_seconds', sa.Integer(), nullable=False),
        sa.Column('work_seconds', sa.Integer(), nullable=False),
        sa.Column('busy_seconds', sa.Integer(), nullable=False),
        sa.Column(
            'imported_at', campaigns.storage.orm.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ['agent_id'], ['agents.id'], name=op.f('fk_agent_shifts_agent_id_agents')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_shifts')),
        sa.UniqueConstraint('agent_id', 'day', name=op.f('uq_agent_shifts_agent_id_day')),
    )


    op.create_table(
        'call_ratings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('attempt_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('satisfied', sa.Boolean(), nullable=True),
        sa.Column(
            'imported_at', campaigns.storage.orm.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ['attempt_id'], ['call_attempts.id'], name=op.f('fk_call_ratings_attempt_id_call_attempts')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_call_ratings')),
        sa.UniqueConstraint('attempt_id', name=op.f('uq_call_ratings_attempt_id')),
    )


def downgrade() -> None:
    op.drop_table('call_ratings')
    op.drop_table('agent_shifts')
