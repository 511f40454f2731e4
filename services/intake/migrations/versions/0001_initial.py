"""Initial intake schema: households, persons, interviews with consent, the read audit, and the backbone's
outbox and processed-event tables."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from verbinding_common.migrations import create_backbone_tables_v1, drop_backbone_tables_v1

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('household',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household'))
    )
    op.create_table('read_audit',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('roles', postgresql.ARRAY(sa.String(length=32)), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('route', sa.String(length=255), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_read_audit'))
    )
    op.create_index(op.f('ix_read_audit_person_id'), 'read_audit', ['person_id'], unique=False)
    op.create_table('person',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('coa_registration_number', sa.String(length=20), nullable=False),
    sa.Column('family_name', sa.String(length=200), nullable=False),
    sa.Column('given_names', sa.String(length=200), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=False),
    sa.Column('gender', sa.String(length=8), nullable=False),
    sa.Column('country_of_origin', sa.String(length=3), nullable=False),
    sa.Column('languages', postgresql.ARRAY(sa.Text()), nullable=False),
    sa.Column('reception_centre', sa.String(length=200), nullable=False),
    sa.Column('recognised_on', sa.Date(), nullable=False),
    sa.Column('household_id', sa.Uuid(), nullable=False),
    sa.Column('family_reunification', sa.Boolean(), nullable=False),
    sa.Column('family_reunification_with', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("gender IN ('female', 'male', 'x')", name=op.f('ck_person_gender')),
    sa.CheckConstraint("status IN ('in_intake')", name=op.f('ck_person_status')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_person_household_id_household')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('coa_registration_number', name=op.f('uq_person_coa_registration_number'))
    )
    op.create_index(op.f('ix_person_family_reunification_with'), 'person', ['family_reunification_with'], unique=False)
    op.create_index(op.f('ix_person_household_id'), 'person', ['household_id'], unique=False)
    op.create_table('interview',
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('education_level', sa.String(length=200), nullable=False),
    sa.Column('profession', sa.String(length=200), nullable=True),
    sa.Column('years_of_work_experience', sa.Integer(), nullable=False),
    sa.Column('dutch_level', sa.String(length=2), nullable=False),
    sa.Column('other_languages', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('domains_of_need', postgresql.ARRAY(sa.String(length=32)), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_interview_person_id_person'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_interview'))
    )
    op.create_table('consent',
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=False),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['interview.person_id'], name=op.f('fk_consent_person_id_interview'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'organisation', name=op.f('pk_consent'))
    )
    create_backbone_tables_v1()


def downgrade() -> None:
    drop_backbone_tables_v1()
    op.drop_table('consent')
    op.drop_table('interview')
    op.drop_index(op.f('ix_person_household_id'), table_name='person')
    op.drop_index(op.f('ix_person_family_reunification_with'), table_name='person')
    op.drop_table('person')
    op.drop_index(op.f('ix_read_audit_person_id'), table_name='read_audit')
    op.drop_table('read_audit')
    op.drop_table('household')
