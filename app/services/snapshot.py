"""The offline snapshot a gate caches: enough to deny what must be denied.

It lists every pass by id with its current serial, status, category,
validity and a may-not-go-out flag (no names, no quarantine dates: a stolen gate
laptop leaks no residents and no health data), plus the
retired key ids and the category rules. About 60 bytes a pass: 7,000 passes
are under half a megabyte, and the ETag makes an unchanged poll free.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app

from gatepass.quarantine import in_quarantine
from gatepass.wire import pack_pass_row

from ..extensions import db
from ..models import GateDevice, Pass, Person
from .keys import gate_key_fields
from .rules import category_rules


def gate_snapshot(device: GateDevice) -> dict:
    """The snapshot for ``device``'s gate. Of a holder's health it carries only what the
    gate's rule needs, "may not go out" (health data stays on the server: PIPL), computed
    from ``Person.quarantine_until`` here; the date itself never leaves."""
    now = datetime.now(timezone.utc)
    rows = db.session.execute(db.select(
        Pass.id, Pass.serial, Pass.status, Pass.category, Pass.valid_from, Pass.valid_until,
        Person.quarantine_until).outerjoin(Person, Pass.person_id == Person.id)
    ).all()
    passes = {str(pid): pack_pass_row(*row, no_exit=in_quarantine(until, now))
              for pid, *row, until in rows}
    rules = {c: {"hours": r.hours_text(), "gates": sorted(r.gates),
                 "anti_passback": r.anti_passback,
                 "temperature_required": r.temperature_required} for c, r in category_rules().items()}
    return {
        "gate": device.gate.name,
        # retired_kids, community_kids (OTHER_COMMUNITY), online_only_kids (sub-district)
        **gate_key_fields(device.gate.community_id),
        # id -> list in wire.SNAPSHOT_PASS_FIELDS order
        "passes": passes,
        "rules": rules,
        "dynamic_max_age": current_app.config["DYNAMIC_TOKEN_MAX_AGE"],
        "fever_threshold": current_app.config["FEVER_THRESHOLD"],
    }
