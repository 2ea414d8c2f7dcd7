"""Judging passes at the gate without the service: keys on disk plus a cached snapshot.

The service's snapshot lists every pass (serial, status, category, validity, and
whether its holder may not go out: a flag, never a quarantine date),
the retired key ids and the category rules. It is polled every 30 s and kept
on disk, so a scanner restarted while the network is down still denies a
revoked pass, an old card after a reissue, and every pass of a retired key.

Policy for a pass id the snapshot does not list: the snapshot lists all
passes, so an id above the highest listed one was almost surely issued after
the last sync (new households register all day during a lockdown): it is
allowed on its signature alone, marked offline, and judged again by the
service when the scan is delivered. An id below the highest listed one is
missing because it was deleted: denied as ``UNKNOWN_PASS``. With no snapshot
at all (a first start without network) every well-signed pass is allowed on
its signature, marked as such on the screen.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo

import requests

from gatepass.categories import label
from gatepass.quarantine import FEVER_THRESHOLD
from gatepass.rules import CategoryRule
from gatepass.tokens import KeyRing, OnlineOnly, TokenError, decode
from gatepass.verdict import DEFAULT_MAX_AGE, GateContext, PassState, Verdict, verify
from gatepass.wire import (DEFAULT_TIMEZONE, SNAPSHOT_PATH, TEMPERATURE_MAX, TEMPERATURE_MIN,
                           pass_code, unpack_pass_row)

from .client import Deadline, Link, ServiceClient

SYNC_INTERVAL = 30.0
log = logging.getLogger("scanner.snapshot")


@dataclass
class Snapshot:
    """The service's view of all passes, as last fetched."""

    data: dict
    etag: str = ""
    fetched_at: float = 0.0  # time.time() of the last 200 or 304
    server: str = ""
    max_id: int = field(init=False, default=0)

    def __post_init__(self):
        self.data = _clean_snapshot(self.data)
        ids = [int(k) for k in self.data["passes"] if str(k).isdigit()]
        self.max_id = max(ids, default=0)

    @property
    def gate(self) -> Optional[str]:
        return self.data.get("gate")

    @property
    def dynamic_max_age(self) -> Optional[timedelta]:
        """The service's phone-code lifetime, so gates need no setting of their own."""
        seconds = self.data.get("dynamic_max_age")
        return timedelta(seconds=seconds) if isinstance(seconds, (int, float)) and seconds > 0 else None

    @property
    def fever_threshold(self) -> float:
        """The service's fever threshold (°C), or the project's default."""
        value = self.data.get("fever_threshold")
        if isinstance(value, (int, float)) and not isinstance(value, bool) \
                and TEMPERATURE_MIN <= value <= TEMPERATURE_MAX:
            return float(value)
        return FEVER_THRESHOLD

    @property
    def retired_kids(self) -> set[str]:
        return set(self.data.get("retired_kids") or ())

    @property
    def community_kids(self) -> dict[str, str]:
        """kid -> code of the sub-district's other communities: their passes are
        OTHER_COMMUNITY here (public key ids only; the gate holds no secret of theirs)."""
        return dict(self.data.get("community_kids") or {})

    @property
    def online_only_kids(self) -> set[str]:
        """The sub-district's key ids: its passes are checked by the service only."""
        return set(self.data.get("online_only_kids") or ())

    def state(self, pass_id: int, now: Optional[datetime] = None) -> Optional[PassState]:
        """The pass as the snapshot lists it; ``now`` judges a row cached before the service
        sent the may-not-go-out flag, with a date in its place (see wire.NO_EXIT_MARK)."""
        row = (self.data.get("passes") or {}).get(str(pass_id))
        if not row:
            return None
        f = unpack_pass_row(row, now)
        category = f["category"]
        return PassState(pass_id=pass_id, serial=int(f["serial"]), status=f["status"] or "active",
                         category=category or "other", valid_from=f["valid_from"],
                         valid_until=f["valid_until"], no_exit=f["no_exit"],
                         holder={"category": category, "category_label": label(category or ""),
                                 "code": pass_code(pass_id, f["serial"])})

    def rules(self) -> dict[str, CategoryRule]:
        out = {}
        for category, r in (self.data.get("rules") or {}).items():
            gates = r.get("gates") or []
            try:
                out[category] = CategoryRule.from_strings(
                    category, r.get("hours") or "",
                    ",".join(gates) if isinstance(gates, list) else str(gates),
                    bool(r.get("anti_passback", True)),
                    bool(r.get("temperature_required", False)))
            except ValueError:
                continue  # a rule we cannot read must not stop the gate
        return out


def _clean_snapshot(data) -> dict:
    """The snapshot with every field of the type the contract gives it; anything else is
    dropped, so an odd reply (or a damaged cache file) can neither crash the screen nor
    the offline verdict."""
    data = dict(data) if isinstance(data, dict) else {}
    if not isinstance(data.get("gate"), str):
        data["gate"] = None
    passes = data.get("passes")
    data["passes"] = {str(k): v for k, v in passes.items() if isinstance(v, list)} \
        if isinstance(passes, dict) else {}
    kids = data.get("retired_kids")
    data["retired_kids"] = [k for k in kids if isinstance(k, str)] \
        if isinstance(kids, list) else []
    rules = data.get("rules")
    data["rules"] = {c: r for c, r in rules.items() if isinstance(r, dict)} \
        if isinstance(rules, dict) else {}
    owners = data.get("community_kids")
    data["community_kids"] = {k: v for k, v in owners.items()
                              if isinstance(k, str) and isinstance(v, str)} \
        if isinstance(owners, dict) else {}
    kids = data.get("online_only_kids")
    data["online_only_kids"] = [k for k in kids if isinstance(k, str)] \
        if isinstance(kids, list) else []
    return data


class SnapshotStore:
    """The snapshot in memory and on disk (written atomically: temp file, fsync, rename)."""

    def __init__(self, path: str | os.PathLike, server: str):
        self.path = Path(path)
        self.server = server.rstrip("/")
        self._lock = threading.Lock()
        self.current: Optional[Snapshot] = self._load()

    def _load(self) -> Optional[Snapshot]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if raw.get("server") != self.server or not isinstance(raw.get("data"), dict):
            return None  # another service's passes would judge wrongly
        return Snapshot(raw["data"], raw.get("etag", ""), raw.get("fetched_at", 0.0), self.server)

    def replace(self, data: dict, etag: str) -> Snapshot:
        snap = Snapshot(data, etag, time.time(), self.server)
        payload = json.dumps({"server": self.server, "etag": etag, "fetched_at": snap.fetched_at,
                              "data": data}, ensure_ascii=False)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        with self._lock:
            self.current = snap
        return snap

    def touch(self) -> None:
        """A 304: what we have is current."""
        with self._lock:
            if self.current:
                self.current.fetched_at = time.time()

    def age(self) -> Optional[float]:
        snap = self.current
        return None if snap is None else max(0.0, time.time() - snap.fetched_at)


def fetch_snapshot(client: ServiceClient, store: SnapshotStore, link: Link,
                   timeout: float = 10.0) -> bool:
    """One poll; True when the service answered 200 or 304."""
    snap = store.current
    headers = {"If-None-Match": f'"{snap.etag}"'} if snap and snap.etag else {}
    try:
        r = client.get(SNAPSHOT_PATH, timeout=timeout, headers=headers)
    except requests.RequestException as exc:
        link.fail(str(exc) if isinstance(exc, Deadline) else type(exc).__name__)
        return False
    if r.status_code == 304:
        store.touch()
        link.ok()
        return True
    if r.status_code == 200:
        try:
            data = r.json()
        except Exception:  # noqa: BLE001 - not JSON, or nested too deep to parse
            data = None
        if not isinstance(data, dict):
            link.fail("snapshot is not a JSON object")
            return False
        store.replace(data, (r.headers.get("ETag") or "").strip('"'))
        link.ok()
        return True
    if r.status_code >= 500:
        link.server_error(f"snapshot HTTP {r.status_code}")
    else:
        link.fail(f"snapshot HTTP {r.status_code}", auth=r.status_code == 401)
    return False


class SnapshotSync(threading.Thread):
    def __init__(self, store: SnapshotStore, server: str, device_token: str, link: Link,
                 interval: float = SYNC_INTERVAL, waiting=None):
        super().__init__(name="snapshot", daemon=True)
        self.store, self.link, self.interval, self.waiting = store, link, interval, waiting
        self.server, self.device_token = server, device_token
        self._halt = threading.Event()
        self.synced = threading.Event()  # set after the first successful poll

    def stop(self):
        self._halt.set()

    def run(self):
        client = ServiceClient(self.server, self.device_token, self.waiting)
        while not self._halt.is_set():
            try:
                if fetch_snapshot(client, self.store, self.link):
                    self.synced.set()
            except Exception:  # noqa: BLE001 - a bad snapshot must not end the polling
                log.exception("snapshot poll failed")
            self._halt.wait(self.interval)


class OfflineJudge:
    """verify() with the key files and the cached snapshot behind it."""

    def __init__(self, ring: KeyRing, store: SnapshotStore, gate: Optional[str] = None,
                 tz: str = DEFAULT_TIMEZONE, max_age: timedelta = DEFAULT_MAX_AGE):
        self.keys = list(ring)
        self.base_retired = ring.retired_kids
        self.store, self.gate, self.max_age = store, gate, max_age
        self.tz = ZoneInfo(tz)

    def ring(self) -> KeyRing:
        """The gate's own keys, with what the snapshot says of key ids it holds no secret
        for: retired ones, other communities' (OTHER_COMMUNITY), the sub-district's
        (ONLINE_ONLY)."""
        snap = self.store.current
        extra = set(self.base_retired) | (snap.retired_kids if snap else set())
        if snap is None:
            return KeyRing(self.keys, retired_kids=extra)
        return KeyRing(self.keys, retired_kids=extra, foreign=snap.community_kids,
                       online_only=snap.online_only_kids)

    def signature_holds(self, text: str) -> bool:
        """Whether `text` is a pass signed with one of this gate's keys, or names a
        sub-district key that only the service can check.  The decoder chain asks this of
        a corrected read (`qr-soft`) before the guard sees it."""
        try:
            decode(self.ring(), text)
        except OnlineOnly:
            return True
        except TokenError:
            return False
        return True

    def signature_verified(self, text: str) -> bool:
        """Whether `text` is a pass signed with one of this gate's own keys, checked here:
        what the decoder chain asks of an *unsure* read (a code at the very edge of its
        error correction), where a sub-district key the gate cannot check is not enough."""
        try:
            decode(self.ring(), text)
        except TokenError:
            return False
        return True

    def judge(self, text: str, direction: str, now: datetime | None = None,
              temperature: float | None = None) -> Verdict:
        """The offline verdict; ``temperature`` is the guard's reading for this scan (°C)."""
        now = now or datetime.now(timezone.utc)
        ring = self.ring()
        snap = self.store.current
        try:
            claims = decode(ring, text)
        except TokenError:
            claims = None
        signature_only = False

        def lookup(pass_id: int) -> Optional[PassState]:
            nonlocal signature_only
            if snap is not None:
                state = snap.state(pass_id, now)
                if state is not None or pass_id <= snap.max_id:
                    return state
            # Not listed and newer than the snapshot (or no snapshot): trust the signature.
            signature_only = True
            return PassState(pass_id=pass_id, serial=claims.serial if claims else 0,
                             category="", holder=None)  # no category: no rule applies

        ctx = GateContext(gate=(snap.gate if snap else None) or self.gate, direction=direction,
                          local_tz=self.tz,
                          max_age=(snap.dynamic_max_age if snap else None) or self.max_age,
                          rules=snap.rules() if snap else {}, check_passback=False,
                          temperature=temperature,
                          fever_threshold=snap.fever_threshold if snap else FEVER_THRESHOLD)
        verdict = verify(text, ring, lookup, now, ctx)
        verdict.extra["offline"] = True
        if signature_only and verdict.allowed:
            verdict.extra["signature_only"] = True
            verdict.message = "通过（新证，仅核验签名）"
            verdict.message_en = "Allowed (new pass: signature checked only)"
        return verdict
