"""Outbox attempts: when a send first went out (so a retry can ask the platform whether it landed), and which
claim a worker holds (so a worker whose lease lapsed cannot send what another worker has claimed since)

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claim', sa.String(length=32), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('claim')
        batch_op.drop_column('attempted_at')
