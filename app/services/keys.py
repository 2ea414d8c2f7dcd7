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

from gatepass.tokens import Key, KeyRing

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


def _owners() -> tuple[int | None, dict[int, RingOwner]]:
    """(the default community's id, every community by id), cached per app."""
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
        return None, {}
    owners = {r.id: RingOwner(r.id, r.code, r.kind, r.subdistrict or "") for r in rows}
    default = next((o.id for o in owners.values() if o.kind == "community"), None)
    cache["owners"] = (now, (default, owners))
    return default, owners


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
    default, owners = _owners()
    if not owners:  # no communities (yet): the one ring there is
        return keys_root()
    cid = _community_id(community)
    owner = owners.get(cid) if cid is not None else None
    if owner is None or owner.id == default:
        return keys_root()
    if not _SAFE_CODE.match(owner.code):  # a code is a directory name: never a path
        raise ValueError(f"community code {owner.code!r} cannot name a key directory")
    return keys_root() / owner.code


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
        with _rings_locked():
            if not len(KeyRing.load(directory)):  # another worker may have just made it
                key = KeyRing.create_key(directory, taken=all_kids())
                from ..common.audit import record_action
                record_action("keys.create", f"key:{key.kid}")  # with the caller's commit
        ring = load_ring(directory)
    return ring


def subdistrict_ring_owner(community_id: int | None) -> RingOwner | None:
    """The pseudo-community of ``community_id``'s sub-district, if there is one."""
    _default, owners = _owners()
    own = owners.get(community_id)
    if own is None or own.kind != "community" or not own.subdistrict:
        return None
    return next((o for o in owners.values()
                 if o.kind == "subdistrict" and o.subdistrict == own.subdistrict), None)


def neighbour_kids(community_id: int | None) -> dict[str, str]:
    """kid -> code of every key of the sub-district's other communities (no secrets).
    Re-read at most every RECHECK seconds: a sub-district of 200 communities must not cost
    199 directory reads a scan (a neighbour's new kid is UNKNOWN_KEY until then: a deny
    either way)."""
    cache = current_app.extensions.setdefault("gatepass.neighbour_kids", {})
    hit, now = cache.get(community_id), time.monotonic()
    if hit and now - hit[0] < RECHECK:
        return hit[1]
    _default, owners = _owners()
    own = owners.get(community_id)
    kids = {} if own is None or not own.subdistrict else {
        key.kid: other.code for other in owners.values()
        if other.kind == "community" and other.id != own.id
        and other.subdistrict == own.subdistrict
        for key in load_ring(ring_dir(other.id))}
    cache[community_id] = (now, kids)
    return kids


def neighbour_of_kid(community_id: int | None, token: str) -> str | None:
    """The neighbour community whose kid ``token`` names, from the rings re-read now: for a
    token the cached map called UNKNOWN_KEY (a neighbour's key made seconds ago). Unknown
    kids are rare (foreign codes, forgeries), so this slow path costs the queue nothing."""
    parts = (token or "").strip().split(".")
    if len(parts) < 5:
        return None
    current_app.extensions.get("gatepass.neighbour_kids", {}).pop(community_id, None)
    return neighbour_kids(community_id).get(parts[1])


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
def _rings_locked():
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
    with _rings_locked():
        key = KeyRing.create_key(directory, kid, taken=all_kids())
    _audit("keys.rotate" if rotate else "keys.create", key.kid)
    return key


def retire_key(kid: str, community=None) -> None:
    """Deny every pass signed with ``kid`` of ``community``'s ring (ValueError: none)."""
    KeyRing.retire_key(ring_dir(community), kid)
    _audit("keys.retire", kid)
