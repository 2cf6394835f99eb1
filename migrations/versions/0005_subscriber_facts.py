"""subscriber facts for set-based cleaning

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-25 11:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import campaigns.storage.orm

revision: str = '0005'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'subscriber_facts',
        sa.Column('msisdn', sa.String(length=20), nullable=False),
        sa.Column(
            'status',
            sa.Enum('ACTIVE', 'SUSPENDED', 'CANCELLED', name='subscriberstatus', native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column('segment', sa.String(length=64), nullable=True),
        sa.Column('branch_id', sa.Integer(), nullable=True),
        sa.Column('services', sa.Text(), nullable=True),
        sa.Column('last_contact', campaigns.storage.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column('follow_up', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('msisdn', name=op.f('pk_subscriber_facts')),
    )
    # Filled by 0012, which rebuilds this table keyed by the number's integer form (the
    # refresh in campaigns.storage.facts writes that shape).


def downgrade() -> None:
    op.drop_table('subscriber_facts')
