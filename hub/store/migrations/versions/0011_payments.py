"""payments and the provider notifications accepted for them

Revision ID: 0011
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("payment_id", sa.String(length=60), nullable=True),
        sa.Column("service", sa.String(length=30), nullable=False),
        sa.Column("case_key", sa.String(length=60), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payer_reference", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("payment_url", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refund_id", sa.String(length=60), nullable=True),
        sa.Column("case_data", sa.JSON(), nullable=False),
        sa.Column("correlationid", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payment_id"),
        sa.UniqueConstraint("reference"),
    )
    op.create_index("ix_payments_case_key", "payments", ["case_key"])
    op.create_index("ix_payments_status", "payments", ["status"])
    op.create_table(
        "payment_notices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("notice_id", sa.String(length=100), nullable=False),
        sa.Column("payment_id", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_payment_notices_once", "payment_notices", ["provider", "notice_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_payment_notices_once", table_name="payment_notices")
    op.drop_table("payment_notices")
    op.drop_index("ix_payments_status", table_name="payments")
    op.drop_index("ix_payments_case_key", table_name="payments")
    op.drop_table("payments")
