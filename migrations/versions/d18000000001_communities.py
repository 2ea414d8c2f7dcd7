"""communities: many communities in one database, community_id on every community table, RLS

The existing database becomes one community (code from COMMUNITY_CODE, default c1; name from
COMMUNITY_NAME; sub-district from SUBDISTRICT_NAME): every row of every community table and
every user belongs to it. Per-community unique constraints gain community_id. On PostgreSQL
every community table gets ENABLE + FORCE ROW LEVEL SECURITY and the policy of app/rls.py
(the statements are written out here: a migration must not change when the code does).

Revision ID: d18000000001
Revises: c17000000001
Create Date: 2026-12-02 13:14:29

"""
import os
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa
import app.models.base


# revision identifiers, used by Alembic.
revision = 'd18000000001'
down_revision = 'c17000000001'
branch_labels = None
depends_on = None

#: table -> [(old unique constraint, new name, new columns)]
UNIQUES = {
    'audit_entries': [], 'category_rules': [], 'duty_sessions': [], 'enrolment_codes': [],
    'errands': [], 'gate_devices': [], 'handovers': [], 'health_alerts': [],
    'health_certificates': [], 'home_checks': [], 'notices': [], 'passes': [],
    'quarantine_episodes': [], 'registrations': [], 'temperature_reports': [],
    'buildings': [('uq_buildings_name', 'uq_buildings_community_name', ['name'])],
    'gates': [('uq_gates_name', 'uq_gates_community_name', ['name'])],
    'people': [('uq_people_phone', 'uq_people_community_phone', ['phone'])],
    'vehicles': [('uq_vehicles_plate', 'uq_vehicles_community_plate', ['plate'])],
    'places': [('uq_places_name', 'uq_places_community_name', ['name'])],
    'households': [('uq_households_building_id', 'uq_households_community_home',
                    ['building_id', 'unit', 'room'])],
    'scans': [('uq_scans_device_nonce', 'uq_scans_community_device_nonce', ['device_id', 'nonce'])],
    'gate_events': [('uq_gate_events_device_id', 'uq_gate_events_community_device_nonce',
                     ['device_id', 'nonce']),
                    ('uq_gate_events_user_id', 'uq_gate_events_community_user_nonce',
                     ['user_id', 'nonce'])],
    'guards': [('uq_guards_pin_hash', 'uq_guards_community_pin', ['pin_hash']),
               ('uq_guards_user_id', 'uq_guards_community_user', ['user_id'])],
    'shift_patterns': [('uq_shift_patterns_gate_id', 'uq_shift_patterns_community_gate', ['gate_id'])],
    'shifts': [('uq_shifts_gate_id', 'uq_shifts_community_gate_start', ['gate_id', 'starts_at'])],
    'shift_assignments': [('uq_shift_assignments_shift_id', 'uq_shift_assignments_community_shift_guard',
                           ['shift_id', 'guard_id'])],
    'spot_checks': [('uq_spot_checks_user_id', 'uq_spot_checks_community_user_nonce',
                     ['user_id', 'nonce'])],
}
#: Rows without a community may exist here (a sub-district action).
OPTIONAL = {'audit_entries'}

# An uncorrelated sub-select: computed once per statement, not once per row (app/rls.py).
IN_SCOPE = ("community_id = ANY ((SELECT string_to_array(current_setting('app.community_ids', "
            "true), ',')::bigint[])::bigint[])")


def _default_community() -> dict:
    try:
        from flask import current_app
        name = current_app.config.get("COMMUNITY_NAME")
    except RuntimeError:  # alembic run outside Flask
        name = None
    return {"code": os.environ.get("COMMUNITY_CODE") or "c1",
            "name": name or os.environ.get("COMMUNITY_NAME") or "幸福里社区",
            "subdistrict": os.environ.get("SUBDISTRICT_NAME") or "",
            "kind": "community", "created_at": datetime.now(timezone.utc)}


def upgrade():
    _sqlite_foreign_keys_off()
    communities = op.create_table(
        'communities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('subdistrict', sa.String(length=60), server_default='', nullable=False),
        sa.Column('kind', sa.String(length=12), server_default='community', nullable=False),
        sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_communities')),
        sa.UniqueConstraint('code', name=op.f('uq_communities_code')))
    op.create_table(
        'user_communities',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('community_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['community_id'], ['communities.id'], ondelete='CASCADE',
                                name=op.f('fk_user_communities_community_id_communities')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_user_communities_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', 'community_id', name=op.f('pk_user_communities')))
    op.create_index(op.f('ix_user_communities_community_id'), 'user_communities', ['community_id'])
    op.bulk_insert(communities, [_default_community()])
    bind = op.get_bind()
    home = bind.execute(sa.text("SELECT min(id) FROM communities")).scalar_one()

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('community_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('subdistrict', sa.String(length=60), server_default='',
                                      nullable=False))
    op.execute(sa.text("UPDATE users SET community_id = :c").bindparams(c=home))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_community_id'), ['community_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_users_community_id_communities'),
                                    'communities', ['community_id'], ['id'])

    for table, uniques in UNIQUES.items():
        _own(table, uniques, home)
    _category_rules_key()
    if bind.dialect.name == 'postgresql':
        for table in UNIQUES:
            _isolate(table)
    else:
        _sqlite_check_foreign_keys()


def _sqlite_foreign_keys_off() -> None:
    """SQLite rebuilds a table to change its constraints (batch mode); with foreign keys on,
    dropping the old copy of a referenced table fails. The pragma works only outside a
    transaction, so an earlier migration's open one is committed first; the connection's
    foreign keys come back on when it returns to the pool."""
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return
    raw = bind.connection.dbapi_connection
    if raw.in_transaction:
        raw.commit()
    raw.execute("PRAGMA foreign_keys=OFF")

    def back_on(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
    sa.event.listen(bind.engine.pool, "checkin", back_on, once=True)


def _sqlite_check_foreign_keys() -> None:
    broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")


def _own(table: str, uniques: list, home: int) -> None:
    """community_id on ``table``: existing rows to ``home``, then NOT NULL, indexed, FK, and
    the table's unique constraints made per community."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(sa.Column('community_id', sa.Integer(), nullable=True))
    op.execute(sa.text(f'UPDATE "{table}" SET community_id = :c').bindparams(c=home))
    with op.batch_alter_table(table, schema=None) as batch_op:
        if table not in OPTIONAL:
            batch_op.alter_column('community_id', existing_type=sa.Integer(), nullable=False)
        for old, new, columns in uniques:
            batch_op.drop_constraint(old, type_='unique')
            batch_op.create_unique_constraint(new, ['community_id', *columns])
        batch_op.create_index(batch_op.f(f'ix_{table}_community_id'), ['community_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f(f'fk_{table}_community_id_communities'),
                                    'communities', ['community_id'], ['id'])


def _category_rules_key() -> None:
    """A category's rule is per community: the key becomes (community_id, category)."""
    with op.batch_alter_table('category_rules', schema=None) as batch_op:
        batch_op.drop_constraint('pk_category_rules', type_='primary')
        batch_op.create_primary_key('pk_category_rules', ['community_id', 'category'])


def _isolate(table: str) -> None:
    condition = f"community_id IS NULL OR {IN_SCOPE}" if table in OPTIONAL else IN_SCOPE
    op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
    op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
    op.execute(f'CREATE POLICY community_isolation ON "{table}" USING ({condition}) '
               f'WITH CHECK ({condition})')


def downgrade():
    """Back to one community per database: only possible while there is one."""
    bind = op.get_bind()
    count = bind.execute(sa.text("SELECT count(*) FROM communities")).scalar_one()
    if count > 1:
        raise RuntimeError("several communities: move each out to its own database first")
    if bind.dialect.name == 'postgresql':
        for table in UNIQUES:
            op.execute(f'DROP POLICY IF EXISTS community_isolation ON "{table}"')
            op.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
    with op.batch_alter_table('category_rules', schema=None) as batch_op:
        batch_op.drop_constraint('pk_category_rules', type_='primary')
        batch_op.create_primary_key('pk_category_rules', ['category'])
    for table, uniques in UNIQUES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'fk_{table}_community_id_communities', type_='foreignkey')
            batch_op.drop_index(f'ix_{table}_community_id')
            for old, new, columns in uniques:
                batch_op.drop_constraint(new, type_='unique')
                batch_op.create_unique_constraint(old, columns)
            batch_op.drop_column('community_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('fk_users_community_id_communities', type_='foreignkey')
        batch_op.drop_index('ix_users_community_id')
        batch_op.drop_column('subdistrict')
        batch_op.drop_column('community_id')
    op.drop_index('ix_user_communities_community_id', table_name='user_communities')
    op.drop_table('user_communities')
    op.drop_table('communities')
