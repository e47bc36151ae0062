"""self_ratings.valence and .arousal may be null: a listener may rate one dimension only

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("self_ratings") as batch:
        # Null = not rated on that dimension (not a label; the tag keeps the EEG's value).
        batch.alter_column("valence", existing_type=sa.Integer(), nullable=True)
        batch.alter_column("arousal", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # The older schema cannot hold a rating of one dimension: such ratings are dropped
    # rather than given an invented value.
    ratings = sa.table("self_ratings", sa.column("valence"), sa.column("arousal"))
    op.execute(
        ratings.delete().where(sa.or_(ratings.c.valence.is_(None), ratings.c.arousal.is_(None)))
    )
    with op.batch_alter_table("self_ratings") as batch:
        batch.alter_column("valence", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("arousal", existing_type=sa.Integer(), nullable=False)
