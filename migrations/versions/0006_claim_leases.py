"""claim leases: a claimed contact names its worker and how long the claim holds

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-25 16:00:00

Two workers dialling one campaign no longer release each other's claims: a worker releases
its own, and those whose lease ran out. Rows claimed before this revision have no lease and
count as expired.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import campaigns.storage.orm


revision: str = '0006'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                'claimed_until', campaigns.storage.orm.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('claimed_by')
