"""Which communities a request, a gate device or a command may read and write: the scope.

Many communities share one database (``app.models.communities``). Isolation must not depend
on every query remembering a filter, so it is enforced underneath the queries:

- every ORM SELECT, UPDATE and DELETE gets ``community_id IN (scope)`` for every model that
  mixes in ``CommunityOwned`` (``with_loader_criteria``; SQLite and PostgreSQL alike);
- a flush fills ``community_id`` of new rows from the scope's write community and refuses
  a new or changed row of a community outside the scope (``OutsideScope``);
- on PostgreSQL each transaction starts with ``set_config('app.community_ids', ..., true)``
  and row-level security (``app.rls``) hides and refuses other communities' rows even from
  raw SQL; the setting ends with the transaction, so a transaction-mode pooler is safe.

The scope lives in a context variable: a request sets it in ``before_request`` (the user,
the device token, or the public page's own community), a command through
``app.commands.scope.community_option``, code that must see more through ``use_scope`` or
``system_scope``. With no scope set (tests, a shell, a job not yet scoped), everything is
visible and new rows go to the only community; with several they must name one.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterable, Iterator

from flask import g, has_app_context, has_request_context, request, session
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, with_loader_criteria

from gatepass.roles import Role
from .extensions import db
from .models.base import CommunityOwned
from .models.communities import Community, CommunityKind, user_communities

#: Session key of the community a district user drilled into (``/district/c/<code>/``).
DRILL_SESSION_KEY = "community_id"


@dataclass(frozen=True)
class Scope:
    """The communities that may be read (``community_ids``) and the one new rows go to."""

    community_ids: frozenset[int]
    write_id: int | None = None
    #: Every community, also ones created later (``system_scope``): no filter is added.
    everything: bool = False

    def allows(self, community_id: int | None) -> bool:
        return self.everything or community_id in self.community_ids

    @property
    def key(self) -> tuple:
        """Hashable, for per-scope caches."""
        return ("*",) if self.everything else tuple(sorted(self.community_ids))


class OutsideScope(RuntimeError):
    """A row was to be written into a community the current scope does not include."""


EMPTY = Scope(frozenset(), None)
_scope: ContextVar[Scope | None] = ContextVar("gatepass_scope", default=None)


# -- reading and setting the scope ---------------------------------------------------------

def current_scope() -> Scope:
    """The scope in force; with none set, every community (writing into the only one)."""
    scope = _scope.get()
    if scope is None or (scope.everything and scope.write_id is None):
        return Scope(frozenset(_all_ids()), _sole_community_id(db.session), everything=True)
    return scope


def current_community() -> Community | None:
    """The community new rows are written into, or None (several, and none chosen)."""
    write_id = current_scope().write_id
    return db.session.get(Community, write_id) if write_id is not None else None


@contextmanager
def use_scope(ids: Iterable[int], write_id: int | None = None) -> Iterator[Scope]:
    """Run the block inside a scope of ``ids`` (``write_id``: where new rows go)."""
    ids = frozenset(ids)
    if write_id is not None and write_id not in ids:
        ids = ids | {write_id}
    with _scoped(Scope(ids, write_id)) as scope:
        yield scope


@contextmanager
def system_scope(write_id: int | None = None) -> Iterator[Scope]:
    """Every community, for maintenance that spans them (purges, migrations' data steps,
    finding the row a public link names before narrowing to its community)."""
    with _scoped(Scope(frozenset(), write_id, everything=True)) as scope:
        yield scope


def narrow_to(community_id: int) -> None:
    """From here on, this request sees only ``community_id``: a public page that found its
    row (a pass link, a poster, a certificate) in system scope narrows to that row's community.
    Outside a request (a command, a test) the caller's scope is left as it is."""
    scope = _scope.get()
    if not has_request_context() or "tenancy_token" not in g or scope is None \
            or not scope.everything:
        return  # not a request, or narrowed already: a second link cannot widen or move it
    _scope.set(Scope(frozenset({community_id}), community_id))
    _sync_transaction()


def narrowed_to_row(row):
    """``row`` (found by a signed link), with the request narrowed to its community; None if
    the request is already narrowed to another community."""
    if row is None or getattr(row, "community_id", None) is None:
        return row
    narrow_to(row.community_id)
    scope = _scope.get()
    return row if scope is None or scope.allows(row.community_id) else None


@contextmanager
def _scoped(scope: Scope) -> Iterator[Scope]:
    token = _scope.set(scope)
    _sync_transaction()
    try:
        yield scope
    finally:
        _scope.reset(token)
        _sync_transaction()


# -- who sees what -------------------------------------------------------------------------

def scope_for_user(user) -> Scope:
    """Community staff: their own community and those they also serve (write: their own).
    District: every community of their sub-district, writing sub-district-wide rows, or only
    the one community they drilled into."""
    if user.role == Role.DISTRICT:
        rows = db.session.execute(select(Community.id, Community.kind).where(
            Community.subdistrict == user.subdistrict)).all()
        ids = frozenset(r.id for r in rows)
        picked = session.get(DRILL_SESSION_KEY) if has_request_context() else None
        if picked in ids:
            return Scope(frozenset({picked}), picked)
        pseudo = next((r.id for r in rows if r.kind == CommunityKind.SUBDISTRICT.value), None)
        return Scope(ids, pseudo)
    extra = db.session.scalars(select(user_communities.c.community_id).where(
        user_communities.c.user_id == user.id)).all()
    ids = frozenset({user.community_id, *extra} - {None})
    return Scope(ids, user.community_id)


def scope_for_device(device) -> Scope:
    """A gate device: its gate's community (write) and its sub-district's pseudo-community
    (read: sub-district-wide passes are scanned at every gate)."""
    community_id = device.gate.community_id
    pseudo = subdistrict_pseudo_id(community_id)
    return Scope(frozenset({community_id} | ({pseudo} if pseudo else set())), community_id)


def subdistrict_pseudo_id(community_id: int) -> int | None:
    """The id of the pseudo-community of ``community_id``'s sub-district, if it has one."""
    own = select(Community.subdistrict).where(Community.id == community_id).scalar_subquery()
    return db.session.scalar(select(Community.id).where(
        Community.kind == CommunityKind.SUBDISTRICT.value, Community.subdistrict == own,
        Community.subdistrict != "").limit(1))


def community_by_code(code: str) -> Community | None:
    return db.session.scalar(select(Community).where(Community.code == code))


def default_community() -> Community | None:
    """The first community (the one a single-community database was migrated into)."""
    return db.session.scalar(select(Community).where(
        Community.kind == CommunityKind.COMMUNITY.value).order_by(Community.id).limit(1))


def _all_ids() -> list[int]:
    return list(db.session.scalars(select(Community.id)))


def _sole_community_id(sess: Session) -> int | None:
    """The only community of kind "community", or None when there are several (or none);
    remembered for the session (forgotten when a community is added through it)."""
    if "gatepass.sole_community" not in sess.info:
        with sess.no_autoflush:
            ids = sess.scalars(select(Community.id).where(
                Community.kind == CommunityKind.COMMUNITY.value).limit(2)).all()
        sess.info["gatepass.sole_community"] = ids[0] if len(ids) == 1 else None
    return sess.info["gatepass.sole_community"]


# -- the session hooks ---------------------------------------------------------------------

@event.listens_for(Session, "do_orm_execute")
def _filter_statement(state) -> None:
    """Add ``community_id IN (scope)`` to every ORM statement touching a community table.
    A column refresh of a row already loaded is left alone (it was admitted when loaded)."""
    scope = _scope.get()
    if scope is None or scope.everything or state.is_column_load:
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    ids = tuple(sorted(scope.community_ids))
    state.statement = state.statement.options(with_loader_criteria(
        CommunityOwned, lambda cls: cls.community_id.in_(ids), include_aliases=True))


@event.listens_for(Session, "before_flush")
def _fill_and_check(sess: Session, _context, _instances) -> None:
    """New rows get the scope's write community; rows of other communities are refused."""
    from .models.users import User
    if any(isinstance(o, Community) for o in sess.new):
        sess.info.pop("gatepass.sole_community", None)
    scope = _scope.get()
    for obj in sess.new:
        if isinstance(obj, CommunityOwned) and obj.community_id is None:
            obj.community_id = _write_id(sess, scope, optional=obj.community_optional)
        elif isinstance(obj, User) and obj.community_id is None and obj.role != Role.DISTRICT:
            obj.community_id = _write_id(sess, scope, optional=True)
    if scope is None or scope.everything:
        return
    for obj in (*sess.new, *sess.dirty):
        if isinstance(obj, CommunityOwned) and obj.community_id is not None \
                and not scope.allows(obj.community_id):
            raise OutsideScope(f"{type(obj).__name__} of community {obj.community_id} is "
                               f"outside the scope {sorted(scope.community_ids)}")


def _write_id(sess: Session, scope: Scope | None, optional: bool) -> int | None:
    write_id = scope.write_id if scope is not None else None
    if write_id is None and (scope is None or scope.everything):
        write_id = _sole_community_id(sess)
    if write_id is None and not optional:
        raise OutsideScope("no community to write into: there are several communities and "
                           "none was chosen (--community CODE, or use_scope)")
    return write_id


@event.listens_for(Session, "after_begin")
def _begin_transaction(_sess: Session, _transaction, connection) -> None:
    if connection.dialect.name == "postgresql":
        _set_database_scope(connection, _scope.get())


def _set_database_scope(connection, scope: Scope | None) -> None:
    """Tell PostgreSQL's row-level security the scope, for this transaction only."""
    if scope is None or scope.everything:
        connection.execute(text(
            "SELECT set_config('app.community_ids', (SELECT coalesce(string_agg(id::text, ','), '') "
            "FROM communities), true)"))
    else:
        connection.execute(text("SELECT set_config('app.community_ids', :ids, true)"),
                           {"ids": ",".join(str(i) for i in sorted(scope.community_ids))})


def _sync_transaction() -> None:
    """A scope changed inside an open PostgreSQL transaction: tell the database now."""
    if not has_app_context():
        return
    sess = db.session()
    if sess.get_transaction() is None or db.engine.dialect.name != "postgresql":
        return
    _set_database_scope(sess.connection(), _scope.get())


# -- requests ------------------------------------------------------------------------------

#: Public pages that find their row by a signed token in every community, then narrow to
#: that row's community (``narrow_to``): resident links, the poster's forms, certificates.
RESOLVES_ITS_COMMUNITY = ("resident.", "public.", "api.enroll")


def _scope_for_request() -> Scope:
    from flask_login import current_user
    if request.blueprint == "api" and request.endpoint != "api.enroll":
        return _device_scope()
    if getattr(current_user, "is_authenticated", False):
        return scope_for_user(current_user)
    if request.endpoint and request.endpoint.startswith(RESOLVES_ITS_COMMUNITY):
        return Scope(frozenset(), None, everything=True)
    home = default_community()
    return Scope(frozenset({home.id}), home.id) if home else EMPTY


def _device_scope() -> Scope:
    """The scope of the device whose bearer token the request carries; nothing without one
    (the view answers 401)."""
    from .services.devices import device_for_token
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return EMPTY
    with system_scope():
        device = device_for_token(token.strip())
        return scope_for_device(device) if device is not None else EMPTY


def _start_request() -> None:
    g.tenancy_token = _scope.set(EMPTY)  # nothing is visible while the scope is worked out
    _scope.set(_scope_for_request())
    _sync_transaction()


def _end_request(_exc) -> None:
    token = g.pop("tenancy_token", None)
    if token is not None:
        _scope.reset(token)


def init_app(app) -> None:
    """Scope every request; registered first, so every other hook runs inside the scope."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
    app.teardown_request(_end_request)
