"""licence, building permit and parking violation records

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 04:19:47.956756
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "building_permits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("permit_no", sa.String(length=40), nullable=False),
        sa.Column("owner_civil_id", sa.String(length=9), nullable=False),
        sa.Column("owner_name_en", sa.String(length=200), nullable=True),
        sa.Column("owner_name_ar", sa.String(length=200), nullable=True),
        sa.Column("plot_no", sa.String(length=40), nullable=False),
        sa.Column("wilayat", sa.String(length=40), nullable=False),
        sa.Column("load_kva", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("electricity_request_no", sa.String(length=40), nullable=True),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("correlationid", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("electricity_request_no"),
        sa.UniqueConstraint("permit_no"),
    )
    with op.batch_alter_table("building_permits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_building_permits_status"), ["status"], unique=False)

    op.create_table(
        "parking_violations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("violation_no", sa.String(length=40), nullable=False),
        sa.Column("plate_number", sa.String(length=5), nullable=False),
        sa.Column("plate_code", sa.String(length=2), nullable=False),
        sa.Column("amount", sa.String(length=20), nullable=False),
        sa.Column("payment_reference", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("correlationid", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("violation_no"),
    )
    with op.batch_alter_table("parking_violations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_parking_violations_status"), ["status"], unique=False)

    op.create_table(
        "trade_licences",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("licence_no", sa.String(length=40), nullable=False),
        sa.Column("cr_no", sa.String(length=20), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("name_ar", sa.String(length=300), nullable=False),
        sa.Column("activities", sa.JSON(), nullable=False),
        sa.Column("premises", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=True),
        sa.Column("last_checks", sa.JSON(), nullable=False),
        sa.Column("correlationid", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("licence_no"),
    )
    with op.batch_alter_table("trade_licences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trade_licences_cr_no"), ["cr_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_trade_licences_status"), ["status"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("trade_licences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trade_licences_status"))
        batch_op.drop_index(batch_op.f("ix_trade_licences_cr_no"))

    op.drop_table("trade_licences")
    with op.batch_alter_table("parking_violations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parking_violations_status"))

    op.drop_table("parking_violations")
    with op.batch_alter_table("building_permits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_building_permits_status"))

    op.drop_table("building_permits")
