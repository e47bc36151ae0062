"""music_tags (Last.fm tags per track and the music position from them) and music_fits

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "music_tags",
        sa.Column("track_id", sa.Integer(), sa.ForeignKey("tracks.id"), primary_key=True),
        # "track" (the track's own tags), "artist" (its artist's) or "none"
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),  # [[name, count], ...], strongest first
        sa.Column("lookup_artist", sa.String(512), nullable=False, server_default=""),
        sa.Column("lookup_title", sa.String(512), nullable=False, server_default=""),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        # The crowd's position from the mood tags (p high, 0-1); null when no mood tag.
        sa.Column("crowd_valence", sa.Float(), nullable=True),
        sa.Column("crowd_arousal", sa.Float(), nullable=True),
        sa.Column("crowd_confidence", sa.Float(), nullable=True),
        sa.Column("n_mood_tags", sa.Integer(), nullable=False, server_default="0"),
        # The position used: fitted to the listener by `emotune music fit`, else the crowd's.
        sa.Column("valence", sa.Float(), nullable=True),
        sa.Column("arousal", sa.Float(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("fitted", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "music_fits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("fitted_at", sa.DateTime(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),  # per dimension: offset, slope
        sa.Column("metrics", sa.JSON(), nullable=False),  # leave-one-track-out figures
        sa.Column("n_tracks", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("music_fits")
    op.drop_table("music_tags")
