"""Aspect categories: each stored aspect mention gets its category (issue 27); NULL for mentions analysed
before categories existed, which reports leave out of the category drivers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review_aspects") as batch:
        batch.add_column(sa.Column("category", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_aspects") as batch:
        batch.drop_column("category")
