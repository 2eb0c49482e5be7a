"""agency answers kept for a message's retry

Revision ID: 0008
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agency_answers",
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("agency", sa.String(length=50), nullable=False),
        sa.Column("operation", sa.String(length=100), nullable=False),
        sa.Column("request_digest", sa.String(length=80), nullable=False),
        sa.Column("reply", sa.JSON(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "agency", "operation", "request_digest"),
    )


def downgrade() -> None:
    op.drop_table("agency_answers")
