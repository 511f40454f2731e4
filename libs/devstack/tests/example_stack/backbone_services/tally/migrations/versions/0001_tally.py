"""thing and effect, and the backbone tables

Revision ID: 0001
"""

from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    from tally_app.main import metadata

    from verbinding_common.db import backbone_metadata

    backbone_metadata.create_all(bind=op.get_bind())
    metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    pass
