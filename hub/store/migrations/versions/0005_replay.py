"""replay: the ladder base of each message and the log of operators' replays

Revision ID: 0005
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "messages",
        sa.Column("ladder_base", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_table(
        "message_replays",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("operator", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("previous_status", sa.String(length=20), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_message_replays_message_id"), "message_replays", ["message_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_message_replays_message_id"), table_name="message_replays")
    op.drop_table("message_replays")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("ladder_base")
