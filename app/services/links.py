"""Personal phone links for every resident: a bulk export and a self-service lookup.

The office cannot copy 7,000 links one by one, so it exports them (CSV for an
SMS tool or a chat group) or puts up a poster whose QR opens a page where a
resident gets their own link with their phone number, their room and the
last four characters of their ID number. The lookup is rate-limited per
address and answers every wrong input the same way, so it reveals nothing.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Iterator

from flask import url_for
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Household, Pass, Person
from ..common import ratelimit
from ..common.audit import record_action
from ..common.errors import ServiceError
from .exports import iter_csv
from .issuing import resident_link_token

LOOKUP_TRIES, LOOKUP_WINDOW = 5, timedelta(minutes=15)
HEADERS = {"zh": ["姓名", "电话", "住址", "通行证链接"], "en": ["name", "phone", "address", "link"]}


class TooManyLookups(ServiceError):
    status = 429


def _active_person_passes():
    return (db.select(Pass).where(Pass.status == "active", Pass.person_id.is_not(None))
            .options(joinedload(Pass.person).joinedload(Person.household)
                     .joinedload(Household.building))
            .order_by(Pass.id))


def link_for(p: Pass, base: str) -> str:
    """``base`` is the service's public address, e.g. https://pass.example.org."""
    return base.rstrip("/") + url_for("resident.pass_page", link=resident_link_token(p))


def link_rows(base: str) -> Iterator[list]:
    """(name, phone, address, link) per active person pass (needs a request context)."""
    for p in db.session.scalars(_active_person_passes().execution_options(yield_per=1000)):
        yield [p.person.name, p.person.phone or "", p.address, link_for(p, base)]


def links_csv(base: str, lang: str = "zh") -> Iterator[str]:
    return iter_csv(HEADERS[lang], link_rows(base))


def export_links(base: str, lang: str = "zh", target: str = "") -> Iterator[str]:
    """The links CSV, audited (``links.export``) and committed before the first byte leaves:
    the office page streams it and the CLI writes a file, and both must leave a trace even if
    the download is cut off. ``target``: where the CLI wrote it."""
    n = db.session.scalar(db.select(db.func.count(Pass.id)).where(
        Pass.status == "active", Pass.person_id.is_not(None)))
    record_action("links.export", target[:60], detail=f"{n} links")
    db.session.commit()
    return links_csv(base, lang)


def _norm(text: str) -> str:
    return "".join((text or "").split()).upper()


def too_many_lookups(address: str) -> bool:
    return ratelimit.too_many("lookup", address, LOOKUP_TRIES, LOOKUP_WINDOW)


def find_pass(phone: str, room: str, id_last4: str, address: str) -> Pass | None:
    """The active pass of the person these three answers fit, or None; every attempt
    counts against ``address``'s limit (five per fifteen minutes)."""
    if too_many_lookups(address):
        raise TooManyLookups("TOO_MANY_TRIES", "查询次数过多，请 15 分钟后再试",
                             "too many tries: wait 15 minutes")
    ratelimit.count("lookup", address)
    db.session.commit()
    phone, room, last4 = _norm(phone), _norm(room), _norm(id_last4)
    if not (phone and room and len(last4) == 4):
        return None
    person = db.session.scalar(db.select(Person).where(Person.phone == phone))
    if person is None or person.household is None or not person.id_card_masked:
        return None
    if person.id_card_masked.upper()[-4:] != last4 or "*" in last4:
        return None
    if room not in (_norm(person.household.room), _norm(person.household.address)):
        return None
    return db.session.scalar(db.select(Pass).where(Pass.person_id == person.id,
                                                   Pass.status == "active"))
