"""Every community's key ring, reloaded when its directory changes.

Each community signs its passes with its own ring, so a stolen gate laptop of one community
mints nothing another community's gate accepts. The first (default, migrated) community
keeps ``KEYS_DIR`` itself, so a deployment from before communities is unchanged; every other
community, and a sub-district's pseudo-community, has ``KEYS_DIR/<code>/``. A key id is
unique across all rings: at a gate it names the community that signed.

Every scan and every phone page needs a ring, so rings are cached: a request costs one
``stat`` of the directory (its mtime changes whenever ``keys create|rotate|retire`` writes a
file, since they replace files atomically), and the full per-file fingerprint is re-read at
most every ``RECHECK`` seconds to catch an edit in place. A retired key is therefore denied
by every worker at its next request. Which community is which (codes, sub-districts) is
re-read from the database at most every ``RECHECK`` seconds too.
"""
from __future__ import annotations

import fcntl
import os
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from gatepass.tokens import KID_PATTERN, Key, KeyRing

RECHECK = 2.0  # seconds
_SAFE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,19}$")

_lock = threading.Lock()
_cache: dict[str, tuple[int, tuple, float, KeyRing]] = {}


def _fingerprint(directory: Path) -> tuple:
    if not directory.is_dir():
        return ()
    return tuple(sorted((f.name, f.stat().st_mtime_ns) for f in directory.glob("*.key")))


def _dir_mtime(directory: Path) -> int:
    try:
        return os.stat(directory).st_mtime_ns
    except FileNotFoundError:
        return 0


def load_ring(path: Path) -> KeyRing:
    """The ring in ``path``, from the cache while its files are unchanged."""
    key = str(path)
    mtime, now = _dir_mtime(path), time.monotonic()
    hit = _cache.get(key)
    if hit and hit[0] == mtime and now - hit[2] < RECHECK:
        return hit[3]
    with _lock:
        fp = _fingerprint(path)
        hit = _cache.get(key)
        if hit and hit[0] == mtime and hit[1] == fp:
            _cache[key] = (mtime, fp, now, hit[3])
            return hit[3]
        ring = KeyRing.load(path)
        _cache[key] = (mtime, fp, now, ring)
        return ring


# -- which directory is whose ---------------------------------------------------------


@dataclass(frozen=True)
class RingOwner:
    """A community as the key rings see it (read once per RECHECK, not per scan)."""

    id: int
    code: str
    kind: str
    subdistrict: str


def keys_root() -> Path:
    return Path(current_app.config["KEYS_DIR"])


@dataclass(frozen=True)
class _Owners:
    """Every community, with what a scan asks of them worked out once per RECHECK (a
    sub-district of 200 communities: no loop over them per scan)."""

    default: int | None
    by_id: dict[int, RingOwner]
    dirs: dict[int, Path]  # community id -> its ring's directory
    district_of: dict[int, RingOwner]  # community id -> its sub-district's pseudo-community


_NO_OWNERS = _Owners(None, {}, {}, {})


def _owner_table() -> _Owners:
    """Every community as the rings see it, cached per app for RECHECK seconds."""
    cache = current_app.extensions.setdefault("gatepass.ring_owners", {})
    hit = cache.get("owners")
    now = time.monotonic()
    if hit and now - hit[0] < RECHECK:
        return hit[1]
    from ..extensions import db
    from ..models.communities import Community
    try:
        rows = db.session.execute(db.select(Community.id, Community.code, Community.kind,
                                            Community.subdistrict)
                                  .order_by(Community.id)).all()
    except SQLAlchemyError:  # no schema yet (`keys create` before `init-db`): one ring
        db.session.rollback()
        return _NO_OWNERS
    by_id = {r.id: RingOwner(r.id, r.code, r.kind, r.subdistrict or "") for r in rows}
    default = next((o.id for o in by_id.values() if o.kind == "community"), None)
    root = keys_root()
    dirs = {o.id: root if o.id == default else root / o.code
            for o in by_id.values() if o.id == default or _SAFE_CODE.match(o.code)}
    pseudo = {o.subdistrict: o for o in reversed(by_id.values())
              if o.kind == "subdistrict" and o.subdistrict}
    district_of = {o.id: pseudo[o.subdistrict] for o in by_id.values()
                   if o.kind == "community" and o.subdistrict in pseudo}
    table = _Owners(default, by_id, dirs, district_of)
    cache["owners"] = (now, table)
    return table


def _owners() -> tuple[int | None, dict[int, RingOwner]]:
    """(the default community's id, every community by id)."""
    table = _owner_table()
    return table.default, table.by_id


def owner_of(community_id: int | None) -> RingOwner | None:
    """The community ``community_id`` as the rings see it (None: unknown, or no schema)."""
    return _owners()[1].get(community_id)


def forget_owners() -> None:
    """After a community is created: the next ring lookup reads the communities afresh."""
    current_app.extensions.get("gatepass.ring_owners", {}).pop("owners", None)


def _community_id(community) -> int | None:
    """An id from a Community, an id, or None (the scope's community, else the default)."""
    if community is None:
        from ..tenancy import current_scope
        return current_scope().write_id
    return community if isinstance(community, int) else community.id


def ring_dir(community=None) -> Path:
    """The directory of ``community``'s ring: KEYS_DIR for the default community (and when
    there is none yet), ``KEYS_DIR/<code>/`` for every other."""
    table = _owner_table()
    if not table.by_id:  # no communities (yet): the one ring there is
        return keys_root()
    cid = _community_id(community)
    if cid is None:
        return keys_root()
    if cid not in table.by_id:  # made since the table was read (another process, just now)
        forget_owners()
        table = _owner_table()
        if cid not in table.by_id:  # never another community's ring, the default's included
            raise ValueError(f"no community {cid} to hold a key ring")
    directory = table.dirs.get(cid)
    if directory is None:  # a code is a directory name: never a path
        raise ValueError(f"community code {table.by_id[cid].code!r} cannot name a key "
                         "directory")
    return directory


def key_ring(community=None) -> KeyRing:
    """The ring that signs ``community``'s passes (default: the current scope's community)."""
    return load_ring(ring_dir(community))


def signing_ring(community_id: int | None = None) -> KeyRing:
    """The ring that signs ``community_id``'s passes (default: the scope's community, as
    ``key_ring``). A community added after the first one
    gets its first key on first use (``communities create`` need not be followed by a
    ``keys create``); the default ring, or one whose keys are all retired, is left to the
    operator (``keys create`` / ``keys rotate``), as before communities."""
    directory = ring_dir(community_id)
    ring = load_ring(directory)
    if len(ring) == 0 and directory != keys_root():
        with rings_locked():
            if not len(KeyRing.load(directory)):  # another worker may have just made it
                key = KeyRing.create_key(directory, taken=all_kids())
                from ..common.audit import record_action
                record_action("keys.create", f"key:{key.kid}")  # with the caller's commit
        ring = load_ring(directory)
    return ring


def subdistrict_ring_owner(community_id: int | None) -> RingOwner | None:
    """The pseudo-community of ``community_id``'s sub-district, if there is one (the first
    made, should a sub-district have two)."""
    return _owner_table().district_of.get(community_id)


#: How long the sub-district's map of kids is kept. A kid it does not know yet is looked up
#: afresh (``neighbour_of_kid``), so it may be old: kids are only ever added.
NEIGHBOUR_TTL = 60.0


def _district_kids(subdistrict: str, max_age: float = NEIGHBOUR_TTL) -> dict[str, str]:
    """kid -> code of every key of every community of ``subdistrict``: read once per
    sub-district (not per community: 200 communities' gates share one read) at most every
    ``max_age`` seconds."""
    cache = current_app.extensions.setdefault("gatepass.district_kids", {})
    hit, now = cache.get(subdistrict), time.monotonic()
    if hit and now - hit[0] < max_age:
        return hit[1]
    table = _owner_table()
    kids = {key.kid: other.code for other in table.by_id.values()
            if other.kind == "community" and other.subdistrict == subdistrict
            and other.id in table.dirs
            for key in load_ring(table.dirs[other.id])}
    cache[subdistrict] = (now, kids)
    return kids


def neighbour_kids(community_id: int | None, max_age: float = NEIGHBOUR_TTL
                   ) -> dict[str, str]:
    """kid -> code of every key of the sub-district's other communities (no secrets); the
    same dict object while the sub-district's map is unchanged."""
    own = owner_of(community_id)
    if own is None or not own.subdistrict:
        return {}
    every = _district_kids(own.subdistrict, max_age)
    cache = current_app.extensions.setdefault("gatepass.neighbour_kids", {})
    hit = cache.get(community_id)
    if hit and hit[0] is every:
        return hit[1]
    kids = {kid: code for kid, code in every.items() if code != own.code}
    cache[community_id] = (every, kids)
    return kids


def neighbour_of_kid(community_id: int | None, token: str) -> str | None:
    """The neighbour community whose kid ``token`` names, for a token the cached map called
    UNKNOWN_KEY (a neighbour's key made seconds ago): one ``stat`` per neighbour for the
    file ``<kid>.key`` (kids are unique), no directory read, no secret loaded."""
    parts = (token or "").strip().split(".")
    own = owner_of(community_id)
    if len(parts) < 5 or not KID_PATTERN.match(parts[1]) or own is None or not own.subdistrict:
        return None
    table = _owner_table()
    return next((other.code for other in table.by_id.values()
                 if other.kind == "community" and other.subdistrict == own.subdistrict
                 and other.id != own.id and other.id in table.dirs
                 and (table.dirs[other.id] / f"{parts[1]}.key").is_file()), None)


def verifying_ring(community_id: int | None) -> KeyRing:
    """What the service trusts for a scan in ``community_id``: its ring and its
    sub-district's; other communities' kids are named so their passes read OTHER_COMMUNITY.
    Merged once and reused while its parts are the very same cached objects."""
    own = key_ring(community_id)
    district = subdistrict_ring_owner(community_id)
    sd_ring = load_ring(ring_dir(district.id)) if district else None
    foreign = neighbour_kids(community_id)
    cache = current_app.extensions.setdefault("gatepass.verifying_rings", {})
    hit = cache.get(community_id)
    if hit and hit[0] is own and hit[1] is sd_ring and hit[2] is foreign:
        return hit[3]
    merged = KeyRing.merged(own, *([sd_ring] if sd_ring else []), foreign=foreign)
    cache[community_id] = (own, sd_ring, foreign, merged)
    return merged


def gate_key_fields(community_id: int | None) -> dict:
    """The key part of a gate's snapshot: retired kids, other communities' kids, and the
    sub-district's kids (verified online only: their secrets never go to a gate)."""
    own = key_ring(community_id)
    district = subdistrict_ring_owner(community_id)
    sd_ring = load_ring(ring_dir(district.id)) if district else KeyRing()
    return {"retired_kids": sorted(own.retired_kids | sd_ring.retired_kids),
            "community_kids": neighbour_kids(community_id),
            "online_only_kids": sorted(k.kid for k in sd_ring)}


def all_kids() -> set[str]:
    """Every key id in every ring (KEYS_DIR and its sub-directories), from file names."""
    root = keys_root()
    return {f.stem for f in root.glob("*.key")} | {f.stem for f in root.glob("*/*.key")}


def gate_key_entries(community_id: int | None) -> list[dict]:
    """The gate's community's ring in the key-file JSON format, for enrolment: never
    another community's keys, never the sub-district's."""
    return [{"kid": k.kid, "secret": k.secret.hex(), "created": k.created.isoformat(),
             "retired": k.retired.isoformat() if k.retired else None}
            for k in key_ring(community_id)]


# -- changing a ring (the keys CLI): audited here, where the change is made -----------

def _audit(action: str, kid: str) -> None:
    """Key changes go into the audit trail (the database may not exist yet: then skip)."""
    from ..common.audit import record_action
    from ..extensions import db
    try:
        record_action(action, f"key:{kid}")
        db.session.commit()
    except Exception:  # e.g. `keys create` before `init-db`
        db.session.rollback()


@contextmanager
def rings_locked():
    """One writer at a time across every ring, so two new kids never collide (a lock on
    KEYS_DIR itself: no lock file lies among the keys)."""
    root = keys_root()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def create_key(kid: str | None = None, *, rotate: bool = False, community=None) -> Key:
    """A new signing key in ``community``'s ring (default: the scope's); it signs every pass
    of that community from now on (ValueError: bad or taken kid, in any ring).
    ``rotate``: audited as a rotation (older keys still verify until retired)."""
    directory = ring_dir(community)
    with rings_locked():
        key = KeyRing.create_key(directory, kid, taken=all_kids())
    _audit("keys.rotate" if rotate else "keys.create", key.kid)
    return key


def retire_key(kid: str, community=None) -> None:
    """Deny every pass signed with ``kid`` of ``community``'s ring (ValueError: none)."""
    KeyRing.retire_key(ring_dir(community), kid)
    _audit("keys.retire", kid)
