"""hourly rollups of finished attempts, per campaign and per agent

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 17:30:00

The dialing engine adds to these in the transaction that records outcomes; dashboards and
reports read them instead of every attempt. Attempts already finished are rolled up here.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import campaigns.storage.orm


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = campaigns.storage.orm.UTCDateTime(timezone=True)
    op.create_table(
        'attempt_hourly',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('hour', utc, nullable=False),
        sa.Column('phase', sa.Enum('TRIAL', 'LIVE', name='phase', native_enum=False, create_constraint=False, length=32), nullable=False),
        sa.Column('disposition', sa.String(length=32), nullable=False),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('ring_seconds', sa.Float(), nullable=False),
        sa.Column('talk_seconds', sa.Float(), nullable=False),
        sa.Column('wrap_seconds', sa.Float(), nullable=False),
        sa.Column('bridged', sa.Integer(), nullable=False),
        sa.Column('bridged_in_time', sa.Integer(), nullable=False),
        sa.Column('wait_seconds', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_attempt_hourly_campaign_id_campaigns')),
        sa.PrimaryKeyConstraint('campaign_id', 'hour', 'phase', 'disposition', name=op.f('pk_attempt_hourly')),
    )
    op.create_table(
        'agent_hourly',
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('hour', utc, nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('disposition', sa.String(length=32), nullable=False),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.Column('talk_seconds', sa.Float(), nullable=False),
        sa.Column('wrap_seconds', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_hourly_agent_id_agents')),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_agent_hourly_campaign_id_campaigns')),
        sa.PrimaryKeyConstraint('agent_id', 'hour', 'campaign_id', 'disposition', name=op.f('pk_agent_hourly')),
    )
    if op.get_bind().dialect.name == 'postgresql':
        hour = "date_trunc('hour', dialed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
        wait = "extract(epoch FROM bridged_at - answered_at)"
    else:  # SQLite keeps UTC as naive text
        hour = "strftime('%Y-%m-%d %H:00:00.000000', dialed_at)"
        wait = "(julianday(bridged_at) - julianday(answered_at)) * 86400.0"
    finished = "FROM call_attempts WHERE status = 'ENDED' AND disposition IS NOT NULL"
    waited = f"CASE WHEN bridged_at IS NOT NULL AND answered_at IS NOT NULL THEN {wait} END"
    op.execute(
        "INSERT INTO attempt_hourly (campaign_id, hour, phase, disposition, calls, attempts, "
        "ring_seconds, talk_seconds, wrap_seconds, bridged, bridged_in_time, wait_seconds) "
        f"SELECT campaign_id, {hour}, phase, disposition, count(*), "
        "sum(CASE WHEN counts_as_attempt THEN 1 ELSE 0 END), sum(ring_seconds), "
        "sum(talk_seconds), sum(wrap_seconds), count(bridged_at), "
        f"sum(CASE WHEN {waited} <= 15.0 THEN 1 ELSE 0 END), coalesce(sum(CASE WHEN {waited} > 0 "
        f"THEN {waited} ELSE 0 END), 0) {finished} GROUP BY 1, 2, 3, 4"
    )
    op.execute(
        "INSERT INTO agent_hourly (agent_id, hour, campaign_id, disposition, calls, "
        f"talk_seconds, wrap_seconds) SELECT agent_id, {hour}, campaign_id, disposition, "
        f"count(*), sum(talk_seconds), sum(wrap_seconds) {finished} AND agent_id IS NOT NULL "
        "GROUP BY 1, 2, 3, 4"
    )


def downgrade() -> None:
    op.drop_table('agent_hourly')
    op.drop_table('attempt_hourly')
