"""Teams conversation references: where the bot can post proactively (alerts, updates to reporters)

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('teams_address',
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('service_url', sa.String(length=300), nullable=False),
    sa.Column('tenant_id', sa.String(length=100), nullable=False),
    sa.Column('conversation_id', sa.String(length=300), nullable=False),
    sa.Column('member_id', sa.String(length=200), nullable=False),
    sa.Column('bot_id', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('teams_address')
