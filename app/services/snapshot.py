"""The offline snapshot a gate caches: enough to deny what must be denied.

It lists every pass by id with its current serial, status, category,
validity and a may-not-go-out flag (no names, no quarantine dates: a stolen gate
laptop leaks no residents and no health data), plus the
retired key ids and the category rules. About 60 bytes a pass: 7,000 passes
are under half a megabyte, and the ETag makes an unchanged poll free.

The ETag is computed without the body (issue 18: hashing the body of a million passes
took 6 seconds, for a 304 too): from the small parts (gate, key ring, rules, settings),
the passes' (count, max id, max ``updated_at``) and the people in quarantine now. Every
change of a snapshot column sets ``Pass.updated_at`` (its ``onupdate``; a scan's presence
update leaves it alone, presence is not in the snapshot), and the no-exit flag changes only
with the set of people whose ``quarantine_until`` is still ahead, which is hashed as ids.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from flask import current_app
from sqlalchemy import BigInteger, Text, case, extract, func, literal, literal_column, type_coerce

from gatepass.wire import NO_EXIT_MARK, pack_pass_row

from ..extensions import db
from ..models import GateDevice, Pass, Person
from .keys import gate_key_fields
from .rules import category_rules


def _small_parts(device: GateDevice) -> dict:
    """Everything in the snapshot but the passes: a few hundred bytes."""
    rules = {c: {"hours": r.hours_text(), "gates": sorted(r.gates),
                 "anti_passback": r.anti_passback,
                 "temperature_required": r.temperature_required} for c, r in category_rules().items()}
    return {
        "gate": device.gate.name,
        # retired_kids, community_kids (OTHER_COMMUNITY), online_only_kids (sub-district)
        **gate_key_fields(device.gate.community_id),
        "rules": rules,
        "dynamic_max_age": current_app.config["DYNAMIC_TOKEN_MAX_AGE"],
        "fever_threshold": current_app.config["FEVER_THRESHOLD"],
    }


def _quarantined(now: datetime) -> list[int]:
    """Ids of the people who may not go out now (``in_quarantine``: ``now < until``)."""
    return list(db.session.scalars(db.select(Person.id).where(Person.quarantine_until > now)
                                   .order_by(Person.id)))


def snapshot_etag(device: GateDevice, now: datetime | None = None) -> str:
    """The snapshot's ETag from three small queries, never from the body."""
    now = now or datetime.now(timezone.utc)
    count, max_id, changed = db.session.execute(
        db.select(func.count(Pass.id), func.max(Pass.id), func.max(Pass.updated_at))).one()
    version = {"parts": _small_parts(device), "passes": [count, max_id, str(changed)],
               "no_exit": _quarantined(now)}
    text = json.dumps(version, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def gate_snapshot(device: GateDevice, now: datetime | None = None) -> dict:
    """The snapshot for ``device``'s gate, read as plain columns. Of a holder's health it
    carries only what the gate's rule needs, "may not go out" (health data stays on the
    server: PIPL), from ``Person.quarantine_until``; the date itself never leaves."""
    now = now or datetime.now(timezone.utc)
    no_exit = set(_quarantined(now))
    rows = db.session.execute(db.select(
        Pass.id, Pass.serial, Pass.status, Pass.category, Pass.valid_from, Pass.valid_until,
        Pass.person_id)).all()
    passes = {str(pid): pack_pass_row(*row, no_exit=person_id in no_exit)
              for pid, *row, person_id in rows}
    # id -> list in wire.SNAPSHOT_PASS_FIELDS order
    return {**_small_parts(device), "passes": passes}


# -- the body as the API sends it -------------------------------------------------------------

def snapshot_body(device: GateDevice, now: datetime | None = None) -> str:
    """``gate_snapshot`` as JSON text. On PostgreSQL the passes are encoded by the database
    (``_passes_json_pg``): building and encoding 5,000 rows in Python was most of a
    snapshot's time; elsewhere (SQLite) Python encodes ``gate_snapshot``."""
    now = now or datetime.now(timezone.utc)
    if db.session.get_bind().dialect.name != "postgresql":
        return json.dumps(gate_snapshot(device, now), ensure_ascii=False, sort_keys=True,
                          default=str)
    head = json.dumps(_small_parts(device), ensure_ascii=False, sort_keys=True, default=str)
    return head[:-1] + ', "passes": ' + _passes_json_pg(now) + "}"


def _iso_sql(column):
    """``datetime.isoformat()`` of a UTC timestamp, as PostgreSQL text: microseconds only
    when there are any, like Python (``gatepass.wire._iso``)."""
    utc = func.timezone("UTC", column)
    whole_second = func.mod(extract("microseconds", column).cast(BigInteger), 1000000) == 0
    micro = case((whole_second, literal("")), else_=func.to_char(utc, literal(".US")))
    return case((column.is_(None), None), else_=func.to_char(
        utc, literal('YYYY-MM-DD"T"HH24:MI:SS')) + micro + literal("+00:00"))


def _passes_json_pg(now: datetime) -> str:
    """The passes object ``{"id": [serial, status, ...]}`` built by PostgreSQL, in
    ``pack_pass_row``'s order; an ORM statement, so the tenancy scope applies to it."""
    no_exit = case((Person.quarantine_until > now, literal(NO_EXIT_MARK)), else_=None)
    row = func.json_build_array(Pass.serial, Pass.status, Pass.category,
                                _iso_sql(Pass.valid_from), _iso_sql(Pass.valid_until), no_exit)
    pair = func.format(literal('"%s": %s'), Pass.id, type_coerce(row, Text))
    text = db.session.scalar(db.select(
        func.coalesce(func.string_agg(pair, literal_column("', '")), literal("")))
        .select_from(Pass).outerjoin(Person, Pass.person_id == Person.id))
    return "{" + text + "}"
