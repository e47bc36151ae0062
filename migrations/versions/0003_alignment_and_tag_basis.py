"""listening_sessions.alignment (per-wearer statistics used) and track_tags.basis

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("listening_sessions") as batch:
        # The wearer alignment the session's windows were classified with (JSON), or null.
        batch.add_column(sa.Column("alignment", sa.JSON(), nullable=True))
    with op.batch_alter_table("track_tags") as batch:
        # What a tag rests on: "self" | "calibrated" | "generic" | "synthetic" | "voice".
        batch.add_column(
            sa.Column("basis", sa.String(16), nullable=False, server_default="generic")
        )


def downgrade() -> None:
    with op.batch_alter_table("track_tags") as batch:
        batch.drop_column("basis")
    with op.batch_alter_table("listening_sessions") as batch:
        batch.drop_column("alignment")
