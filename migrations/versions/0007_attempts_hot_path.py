"""attempts hot path: room on each page for the outcome, and no redundant key checks

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 16:30:00

Every attempt row is written once when the call is dialled and updated once with its
outcome. On PostgreSQL the table keeps 55% of each page free (fillfactor 45), so the
outcome fits beside the row and the update is HOT: none of the five indexes is touched.

The foreign keys from call_attempts to campaigns and to agents are dropped: each cost a
trigger and a row lock per attempt (about 10 µs each, a tenth of the statement). The
campaign is implied by the contact, whose key stays; agent ids come from the agents table
when a slice starts, and agents are disabled, never deleted.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('call_attempts', schema=None) as batch_op:
        batch_op.drop_constraint('fk_call_attempts_campaign_id_campaigns', type_='foreignkey')
        batch_op.drop_constraint('fk_call_attempts_agent_id_agents', type_='foreignkey')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE call_attempts SET (fillfactor = 45)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE call_attempts RESET (fillfactor)')
    with op.batch_alter_table('call_attempts', schema=None) as batch_op:
        batch_op.create_foreign_key(
            'fk_call_attempts_agent_id_agents', 'agents', ['agent_id'], ['id']
        )
        batch_op.create_foreign_key(
            'fk_call_attempts_campaign_id_campaigns', 'campaigns', ['campaign_id'], ['id']
        )
