"""list exclusions: excluded rows leave contacts; subscriber facts keyed by the number's digits

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 19:00:00

A list is mostly rows cleaning excludes. Kept in `contacts` they paid for its four indexes
and its key check row by row; in `list_exclusions` they are written with one BRIN index.
Rows excluded by cleaning (they carry a rule version) move there; rows a dialing worker
excluded later (do-not-call found at dial time) stay in contacts with their attempts.

subscriber_facts is derived from the snapshot tables: it is rebuilt with `num`, the number
as an integer, as its key, which lists are joined on.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import campaigns.storage.orm
from campaigns.storage.facts import refresh_facts

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REASONS = (
    'INVALID_NUMBER', 'SHORT_CODE', 'NOT_MOBILE', 'DUPLICATE', 'UNKNOWN_SUBSCRIBER',
    'SUBSCRIBER_INACTIVE', 'OUT_OF_REGION', 'SEGMENT_FILTER', 'HOLDS_OFFER', 'HOLDS_EXCLUSIVE',
    'DO_NOT_CALL', 'REFUSED_BEFORE', 'IN_OTHER_CAMPAIGN', 'RECENT_CONTACT', 'PRIOR_FOLLOW_UP',
)


def _fact_columns() -> list[sa.Column]:
    """subscriber_facts' columns after its number, the same before and after this revision."""
    return [
        sa.Column(
            'status',
            sa.Enum(
                'ACTIVE', 'SUSPENDED', 'CANCELLED', name='subscriberstatus', native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column('segment', sa.String(length=64), nullable=True),
        sa.Column('branch_id', sa.Integer(), nullable=True),
        sa.Column('services', sa.Text(), nullable=True),
        sa.Column('last_contact', campaigns.storage.orm.UTCDateTime(timezone=True), nullable=True),
        sa.Column('follow_up', sa.Boolean(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        'list_exclusions',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('row_number', sa.Integer(), nullable=False),
        sa.Column('raw_input', sa.String(length=100), nullable=False),
        sa.Column('e164', sa.String(length=20), nullable=True),
        sa.Column('is_mobile', sa.Boolean(), nullable=False),
        sa.Column('attributes', sa.JSON(), nullable=True),
        sa.Column(
            'reason',
            sa.Enum(*_REASONS, name='exclusionreason', native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column('rule_version', sa.String(length=40), nullable=False),
        sa.Column('mask', sa.Integer(), nullable=False),
    )
    op.create_index(
        'ix_list_exclusions_campaign_id',
        'list_exclusions',
        ['campaign_id'],
        postgresql_using='brin',
        postgresql_with={'autosummarize': 'on'},
    )
    # Cleaning's verdicts move over; the mask of a moved row is its first reason's bit.
    bits = ' '.join(f"WHEN '{r}' THEN {1 << i}" for i, r in enumerate(_REASONS))
    moved = (
        "FROM contacts WHERE state = 'EXCLUDED' AND rule_version IS NOT NULL "
        "AND exclusion_reason IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM call_attempts a WHERE a.contact_id = contacts.id)"
    )
    op.execute(
        "INSERT INTO list_exclusions (campaign_id, row_number, raw_input, e164, is_mobile, "
        "attributes, reason, rule_version, mask) SELECT campaign_id, row_number, raw_input, "
        f"e164, is_mobile, attributes, exclusion_reason, rule_version, CASE exclusion_reason "
        f"{bits} ELSE 0 END {moved}"
    )
    op.execute(f"DELETE FROM contacts WHERE id IN (SELECT id {moved})")

    op.drop_table('subscriber_facts')
    op.create_table(
        'subscriber_facts',
        sa.Column('num', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('msisdn', sa.String(length=20), nullable=False),
        *_fact_columns(),
        sa.PrimaryKeyConstraint('num', name=op.f('pk_subscriber_facts')),
    )
    refresh_facts(op.get_bind())


def downgrade() -> None:
    op.drop_table('subscriber_facts')
    op.create_table(
        'subscriber_facts',
        sa.Column('msisdn', sa.String(length=20), nullable=False),
        *_fact_columns(),
        sa.PrimaryKeyConstraint('msisdn', name=op.f('pk_subscriber_facts')),
    )
    op.execute(
        "INSERT INTO contacts (campaign_id, row_number, raw_input, e164, is_mobile, attributes, "
        "state, exclusion_reason, rule_version, is_trial, attempts, disposition_streak) "
        "SELECT campaign_id, row_number, raw_input, e164, is_mobile, attributes, 'EXCLUDED', "
        "reason, rule_version, false, 0, 0 FROM list_exclusions"
    )
    op.drop_index('ix_list_exclusions_campaign_id', table_name='list_exclusions')
    op.drop_table('list_exclusions')
