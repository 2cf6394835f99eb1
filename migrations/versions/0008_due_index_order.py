"""due index in the claim's order: (campaign, state, next attempt, id)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 17:00:00

A dialing claim takes the due contacts of a campaign in (next_attempt_at, id) order. With
id in the index, PostgreSQL reads the claimed rows straight from it and stops at the
limit, instead of sorting every due contact of the campaign on each claim.
"""
from collections.abc import Sequence

from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_contacts_due', table_name='contacts')
    op.create_index(
        'ix_contacts_due', 'contacts', ['campaign_id', 'state', 'next_attempt_at', 'id']
    )


def downgrade() -> None:
    op.drop_index('ix_contacts_due', table_name='contacts')
    op.create_index('ix_contacts_due', 'contacts', ['campaign_id', 'state', 'next_attempt_at'])
