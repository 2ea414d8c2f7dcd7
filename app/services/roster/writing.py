"""Writing checked roster records: all rows in one transaction, or none.

Matching makes re-importing the same sheet an update, never a second copy:
people by phone, else by name within the household; vehicles by plate. A blank
cell keeps what is stored.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from ...extensions import db
from ...models import Building, Household, Person, Vehicle
from gatepass.categories import VehicleKind
from gatepass.status import PassStatus
from ...common.audit import record_action
from ..issuing import issue_passes_to_new_holders
from .checking import Record, RowError, check
from .reading import RosterFileError, parse


@dataclass
class Summary:
    buildings_created: list[str] = field(default_factory=list)
    households_created: int = 0
    people_created: int = 0
    people_updated: int = 0
    people_unchanged: int = 0
    vehicles_created: int = 0
    vehicles_updated: int = 0
    vehicles_unchanged: int = 0
    passes_issued: int = 0
    passes_recategorised: int = 0


@dataclass
class ImportResult:
    rows: int
    errors: list[RowError]
    ignored_columns: list[str]
    summary: Summary | None
    dry_run: bool


def _set(obj, **values) -> bool:
    """Set the values that are given (not None) and differ; whether anything changed."""
    changed = False
    for key, value in values.items():
        if value is not None and getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _load(model, ids: list[int], *options) -> dict:
    """Stored rows by id, a few hundred per query rather than one query per row."""
    out = {}
    for i in range(0, len(ids), 500):
        out.update((o.id, o) for o in db.session.scalars(
            db.select(model).where(model.id.in_(ids[i:i + 500])).options(*options)))
    return out


class _Homes:
    """Buildings and households by name, made on first use and counted in the summary."""

    def __init__(self, new_buildings, s: Summary):
        self.s = s
        self.buildings = {b.name: b for b in db.session.scalars(db.select(Building))}
        for name in new_buildings:
            self.buildings[name] = Building(name=name)
            db.session.add(self.buildings[name])
            s.buildings_created.append(name)
        self.households = {(h.building.name, h.unit, h.room): h for h in db.session.scalars(
            db.select(Household).options(joinedload(Household.building)))}

    def household(self, address) -> Household | None:
        if address is None:
            return None
        if address not in self.households:
            building, unit, room = address
            self.households[address] = Household(building=self.buildings[building], unit=unit,
                                                 room=room)
            db.session.add(self.households[address])
            self.s.households_created += 1
        return self.households[address]


def _write_people(records: list[Record], homes: _Homes, s: Summary, new_holders: list
                  ) -> dict[int, Person]:
    """People by line; a changed category moves the person's live passes along."""
    people: dict[int, Person] = {}
    stored = _load(Person, [r.match_id for r in records if r.match_id],
                   selectinload(Person.passes), selectinload(Person.household))
    for r in records:
        if r.match_id:
            p = stored[r.match_id]
            old_category = p.category
            changed = _set(p, name=r.name, phone=r.phone, category=r.category,
                           id_card_masked=r.id_card, employer=r.employer, is_returnee=r.returnee,
                           household=homes.household(r.address))
            s.people_updated += changed
            s.people_unchanged += not changed
            if p.category != old_category:
                for ps in p.passes:
                    if ps.status != PassStatus.REVOKED:
                        ps.category = p.category
                        s.passes_recategorised += 1
        else:
            p = Person(name=r.name, phone=r.phone, category=r.category or "resident",
                       id_card_masked=r.id_card or "", employer=r.employer or "",
                       is_returnee=bool(r.returnee), household=homes.household(r.address))
            db.session.add(p)
            new_holders.append(p)
            s.people_created += 1
        people[r.line] = p
    return people


def _write_vehicles(records: list[Record], people: dict[int, Person], homes: _Homes,
                    s: Summary, new_holders: list) -> None:
    """Vehicles with their owner: the person on the same line, else the one with that phone."""
    stored = _load(Vehicle, [r.match_id for r in records if r.match_id],
                   selectinload(Vehicle.household), selectinload(Vehicle.owner))
    owners = {p.phone: p for p in db.session.scalars(db.select(Person).where(
        Person.phone.in_({r.owner_phone for r in records if r.owner_phone})))}
    for r in records:
        owner = people.get(r.owner_line) if r.owner_line else owners.get(r.owner_phone)
        home = homes.household(r.address) or (owner.household if owner else None)
        if r.match_id:
            changed = _set(stored[r.match_id], kind=r.vehicle_kind, household=home, owner=owner)
            s.vehicles_updated += changed
            s.vehicles_unchanged += not changed
        else:
            v = Vehicle(plate=r.plate, household=home, owner=owner,
                        kind=r.vehicle_kind or (VehicleKind.OWN if home or owner
                                                  else VehicleKind.OUTSIDE).value)
            db.session.add(v)
            new_holders.append(v)
            s.vehicles_created += 1


def apply(records: list[Record], new_buildings, issue_passes: bool = True) -> Summary:
    """Write checked records into the session (the caller commits or rolls back)."""
    s = Summary()
    homes = _Homes(new_buildings, s)
    new_holders: list = []
    people = _write_people([r for r in records if r.kind == "person"], homes, s, new_holders)
    db.session.flush()
    _write_vehicles([r for r in records if r.kind == "vehicle"], people, homes, s, new_holders)
    db.session.flush()
    if issue_passes:
        s.passes_issued = len(issue_passes_to_new_holders(new_holders))
        db.session.flush()
    return s


def _audit(result: ImportResult, filename: str) -> None:
    """The import in the audit trail, in its own transaction: all rows and the entry, or none."""
    s = result.summary
    record_action("roster.import", Path(filename or "").name[:60],
                  detail=f"rows={result.rows} people+{s.people_created}~{s.people_updated} "
                         f"vehicles+{s.vehicles_created}~{s.vehicles_updated} "
                         f"passes+{s.passes_issued}")


def import_roster(data: bytes, filename: str, *, dry_run: bool = False,
                  create_buildings: bool = False, issue_passes: bool = True) -> ImportResult:
    """Check the whole file, then write every row in one transaction, or nothing.

    A dry run writes, counts and rolls back, so its summary is exactly what a
    real import would do. Raises RosterFileError when the file is unreadable.
    """
    sheet = parse(data, filename)
    records, errors, new_buildings = check(sheet, create_buildings)
    result = ImportResult(rows=len(sheet.rows), errors=errors,
                          ignored_columns=sheet.ignored_columns, summary=None, dry_run=dry_run)
    if errors:
        return result
    try:
        result.summary = apply(records, new_buildings, issue_passes)
        if dry_run:
            db.session.rollback()
        else:
            _audit(result, filename)
            db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise RosterFileError("IMPORT_REFUSED",
                              "数据库拒绝了本次导入（可能有人同时修改了名册），未写入任何数据，请重试",
                              "the database refused the import (a concurrent change?); "
                              "nothing was written, try again") from None
    return result
