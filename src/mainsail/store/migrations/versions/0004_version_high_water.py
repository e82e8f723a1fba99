"""models.last_version (a deleted version's number is never handed out again);
runs.heartbeat_at (a run whose process stopped on another host is reaped)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 00:10:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("models") as batch:
        batch.add_column(
            sa.Column("last_version", sa.Integer(), server_default="0", nullable=False)
        )
    # The highest number a model ever used is at least its highest surviving version
    # (numbers of versions deleted before this revision are unknowable, and stay lost).
    op.execute(
        "UPDATE models SET last_version = COALESCE("
        "(SELECT MAX(model_versions.version) FROM model_versions "
        "WHERE model_versions.model_id = models.id), 0)"
    )
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("heartbeat_at")
    with op.batch_alter_table("models") as batch:
        batch.drop_column("last_version")
