"""jobs.upload_sha256: the upload's fingerprint (a reused Idempotency-Key must bring the same file; the
history finds a file's earlier analyses by it)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: jobs stored before have no hash, and a replay of their key compares the rest only.
    op.add_column("jobs", sa.Column("upload_sha256", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_jobs_owner_upload_sha256"), "jobs", ["owner", "upload_sha256"])


def downgrade() -> None:
    op.drop_index(op.f("ix_jobs_owner_upload_sha256"), table_name="jobs")
    with op.batch_alter_table("jobs") as batch:  # SQLite drops a column by rebuilding the table
        batch.drop_column("upload_sha256")
