"""dashboard: the funnel stage each contact reached, agent hours by hour, display names

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 10:00:00

contact_reach keeps, per contact and phase, the furthest funnel stage reached (1 dialled,
2 connected, 3 account holder verified, 4 pitched, 5 success), so the campaign page counts
contacts per stage without reading every attempt. It is filled here from the attempts that
exist; each dialing slice then recomputes it for its own attempts.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PITCHED = "'SUCCESS','REFUSED','CALLBACK','DNC_REQUEST','HUNG_UP','COMPLAINT'"
_CONNECTED = "'MACHINE','ABANDONED','NOT_ACCOUNT_HOLDER','WRONG_NUMBER','INELIGIBLE'"
STAGE = (
    "CASE WHEN disposition = 'SUCCESS' THEN 5 "
    f"WHEN disposition IN ({_PITCHED}) THEN 4 "
    "WHEN disposition = 'INELIGIBLE' THEN 3 "
    f"WHEN disposition IN ({_CONNECTED}) THEN 2 "
    "WHEN counts_as_attempt THEN 1 ELSE 0 END"
)


def upgrade() -> None:
    op.create_table(
        'contact_reach',
        sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('phase', sa.Enum('TRIAL', 'LIVE', name='phase', native_enum=False, create_constraint=False, length=32), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('stage', sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_contact_reach_campaign_id_campaigns')),
        sa.PrimaryKeyConstraint('contact_id', 'phase', name=op.f('pk_contact_reach')),
    )
    op.create_index('ix_contact_reach_campaign', 'contact_reach', ['campaign_id', 'phase', 'stage'])
    op.create_index('ix_agent_hourly_hour', 'agent_hourly', ['hour'])
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('display_name', sa.String(length=100), nullable=True))
    op.execute(
        "INSERT INTO contact_reach (contact_id, phase, campaign_id, stage) "
        f"SELECT contact_id, phase, campaign_id, max({STAGE}) FROM call_attempts "
        "WHERE status = 'ENDED' AND disposition IS NOT NULL "
        f"GROUP BY contact_id, phase, campaign_id HAVING max({STAGE}) > 0"
    )


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('display_name')
    op.drop_index('ix_agent_hourly_hour', table_name='agent_hourly')
    op.drop_index('ix_contact_reach_campaign', table_name='contact_reach')
    op.drop_table('contact_reach')
