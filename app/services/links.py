"""Personal phone links for every resident: a bulk export and a self-service lookup.

The office cannot copy 7,000 links one by one, so it exports them (CSV for an
SMS tool or a chat group) or puts up a poster whose QR opens a page where a
resident gets their own link with their phone number, their room and the
last four characters of their ID number. The lookup is rate-limited per
address and answers every wrong input the same way, so it reveals nothing.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Iterator

from flask import url_for
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Household, Pass, Person
from . import households
from ..common import ratelimit
from ..common.audit import record_action
from ..common.errors import ServiceError
from .exports import iter_csv
from .issuing import resident_link_token

LOOKUP_TRIES, LOOKUP_WINDOW = 5, timedelta(minutes=15)
HEADERS = {"zh": ["姓名", "电话", "住址", "通行证链接", "全家通行证链接"],
           "en": ["name", "phone", "address", "link", "household_link"]}


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


def link_rows(base: str, since: datetime | None = None) -> Iterator[list]:
    """(name, phone, address, link, household link) per active person pass (needs a request
    context). The household (family) link is the same on every member's row: one phone can
    show every member's pass. ``since``: only passes issued from then on (a roster import's
    new cards)."""
    stmt = _active_person_passes()
    if since is not None:
        stmt = stmt.where(Pass.issued_at >= since)
    for p in db.session.scalars(stmt.execution_options(yield_per=1000)):
        home = p.person.household
        yield [p.person.name, p.person.phone or "", p.address, link_for(p, base),
               households.link_for(home, base) if home else ""]


def links_csv(base: str, lang: str = "zh", since: datetime | None = None) -> Iterator[str]:
    return iter_csv(HEADERS[lang], link_rows(base, since))


def export_links(base: str, lang: str = "zh", target: str = "",
                 since: datetime | None = None) -> Iterator[str]:
    """The links CSV, audited (``links.export``) and committed before the first byte leaves:
    the office page streams it and the CLI writes a file, and both must leave a trace even if
    the download is cut off. ``target``: where the CLI wrote it; ``since``: as in link_rows."""
    count = db.select(db.func.count(Pass.id)).where(
        Pass.status == "active", Pass.person_id.is_not(None))
    if since is not None:
        count = count.where(Pass.issued_at >= since)
    detail = f"{db.session.scalar(count)} links"
    record_action("links.export", target[:60],
                  detail=detail + (f" issued since {since.date()}" if since else ""))
    db.session.commit()
    return links_csv(base, lang, since)


def _norm(text: str) -> str:
    return "".join((text or "").split()).upper()


def _home_numbers(text: str) -> tuple[str, ...]:
    """"2-1-101", "2号楼1单元101", "2栋 1 单元 101室" all say (2, 1, 101): the numbers in order,
    leading zeros dropped, so a resident may write the home as they say it."""
    return tuple(n.lstrip("0") or "0" for n in re.findall(r"\d+", text or ""))


def _same_home(typed: str, household) -> bool:
    """The typed home is this household: its room, its full address, or the same numbers."""
    if typed in (_norm(household.room), _norm(household.address)):
        return True
    numbers = _home_numbers(typed)
    return bool(numbers) and numbers == _home_numbers(household.address)


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
    # One phone may be on the rolls of two communities (the page finds in every community).
    for person in db.session.scalars(db.select(Person).where(Person.phone == phone)):
        if person.household is None or not person.id_card_masked or "*" in last4 \
                or person.id_card_masked.upper()[-4:] != last4 \
                or not _same_home(room, person.household):
            continue
        return db.session.scalar(db.select(Pass).where(Pass.person_id == person.id,
                                                       Pass.status == "active"))
    return None
