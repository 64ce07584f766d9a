"""Override rules belong to the subtree of the union of the admin who made them (routing_rules.owner_union_id)

Existing rules are given the union of the officer who created them, as the audit trail records it
(``routing_rule.create``); a rule made by a command-line job (the demo data) belongs to the root of
its target union's tree, which is the scope such jobs run with.

Revision ID: 0015_rule_owner
Revises: 0014_chongchuan_320613
Create Date: 2026-12-01 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015_rule_owner'
down_revision: str | Sequence[str] | None = '0014_chongchuan_320613'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _backfill() -> None:
    bind = op.get_bind()
    rules = bind.execute(
        sa.text(
            'SELECT r.id, u.path FROM routing_rules r JOIN unions u ON u.id = r.union_id WHERE r.owner_union_id IS NULL'
        )
    ).all()
    for rule_id, target_path in rules:
        owner = bind.execute(
            sa.text(
                "SELECT o.union_id FROM audit_events e JOIN officers o ON o.id = e.actor_id"
                " WHERE e.action = 'routing_rule.create' AND e.actor_kind = 'officer' AND e.object_id = :rule"
                ' ORDER BY e.id LIMIT 1'
            ),
            {'rule': str(rule_id)},
        ).scalar()
        if owner is None:
            owner = int(target_path.strip('/').split('/')[0])  # the root of the target's tree
        bind.execute(
            sa.text('UPDATE routing_rules SET owner_union_id = :owner WHERE id = :rule'),
            {'owner': owner, 'rule': rule_id},
        )


def upgrade() -> None:
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('owner_union_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True)
        )
    _backfill()
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.alter_column(
            'owner_union_id', existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False
        )
        batch_op.create_index(batch_op.f('ix_routing_rules_owner_union_id'), ['owner_union_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_routing_rules_owner_union_id_unions'), 'unions', ['owner_union_id'], ['id']
        )


def downgrade() -> None:
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_routing_rules_owner_union_id_unions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_routing_rules_owner_union_id'))
        batch_op.drop_column('owner_union_id')
