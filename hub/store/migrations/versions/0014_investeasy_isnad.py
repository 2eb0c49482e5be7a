"""Invest Easy applications; Isnad tenders and their status changes (the last relayed
sequence per tender)

Revision ID: 0014
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "investeasy_applications",
        sa.Column("application_ref", sa.String(length=40), nullable=False),
        sa.Column("cr_no", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("decision", sa.String(length=30), nullable=False),
        sa.Column("licence_no", sa.String(length=40), nullable=True),
        sa.Column("fee_omr", sa.Numeric(precision=10, scale=3), nullable=True),
        sa.Column("callback", sa.JSON(), nullable=False),
        sa.Column("receipt", sa.String(length=60), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("correlationid", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("application_ref"),
    )
    op.create_index("ix_investeasy_applications_cr_no", "investeasy_applications", ["cr_no"])
    op.create_table(
        "isnad_tenders",
        sa.Column("tender_no", sa.String(length=40), nullable=False),
        sa.Column("tender_ref", sa.String(length=40), nullable=True),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("min_chamber_grade", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Column("correlationid", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tender_no"),
        sa.UniqueConstraint("tender_ref"),
    )
    op.create_table(
        "isnad_tender_changes",
        sa.Column("tender_no", sa.String(length=40), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("relay", sa.JSON(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("relayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tender_no", "sequence"),
    )


def downgrade() -> None:
    op.drop_table("isnad_tender_changes")
    op.drop_table("isnad_tenders")
    op.drop_index("ix_investeasy_applications_cr_no", table_name="investeasy_applications")
    op.drop_table("investeasy_applications")
