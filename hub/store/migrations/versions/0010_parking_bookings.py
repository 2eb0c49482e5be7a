"""SMS parking bookings and the parking SMS each came from

Revision ID: 0010
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parking_bookings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_no", sa.String(length=20), nullable=True),
        sa.Column("plate_number", sa.String(length=5), nullable=False),
        sa.Column("plate_code", sa.String(length=2), nullable=False),
        sa.Column("parking_code", sa.String(length=10), nullable=False),
        sa.Column("telco", sa.String(length=20), nullable=False),
        sa.Column("msisdn", sa.String(length=15), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=10, scale=3), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("correlationid", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_no"),
    )
    op.create_index(
        "ix_parking_bookings_spot",
        "parking_bookings",
        ["plate_number", "plate_code", "parking_code"],
    )
    op.create_index("ix_parking_bookings_ends_at", "parking_bookings", ["ends_at"])
    op.create_table(
        "parking_sms_requests",
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("telco", sa.String(length=20), nullable=False),
        sa.Column("msisdn", sa.String(length=15), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("ticket_no", sa.String(length=20), nullable=True),
        sa.Column("amount", sa.Numeric(precision=10, scale=3), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id"),
    )


def downgrade() -> None:
    op.drop_table("parking_sms_requests")
    op.drop_index("ix_parking_bookings_ends_at", table_name="parking_bookings")
    op.drop_index("ix_parking_bookings_spot", table_name="parking_bookings")
    op.drop_table("parking_bookings")
