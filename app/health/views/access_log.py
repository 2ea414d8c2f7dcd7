"""Admins: who looked at whose health data (the access log PIPL expects), page and CSV.

Kept apart from the general audit page of office actions: this one lists
only ``kind == "view"`` entries, the views of health data and ID numbers.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from flask import Response, render_template, request

from ...office import bp
from ...auth import roles_required
from ...config import community_tz, filter_id
from ...extensions import db
from ...models import AuditEntry, Person
from ...services import exports
from gatepass.roles import Role

PAGE = 100
HEADERS = ["时间", "用户", "查看内容", "人员", "对象", "说明", "地址"]


def _query(args):
    stmt = db.select(AuditEntry).where(AuditEntry.kind == "view")
    f = {k: (args.get(k) or "").strip() for k in ("user", "person", "since", "until")}
    if f["user"]:
        stmt = stmt.where(AuditEntry.username == f["user"])
    if person_id := filter_id(f["person"]):
        stmt = stmt.where(AuditEntry.person_id == person_id)
    tz = community_tz()
    for key, op in (("since", "ge"), ("until", "lt")):
        try:
            d = date.fromisoformat(f[key]) if f[key] else None
            at = d and datetime.combine(d + timedelta(days=1 if key == "until" else 0), time(0),
                                        tz).astimezone(timezone.utc)
        except (ValueError, OverflowError):  # unreadable, or no UTC day (0001-01-01)
            at = None
        if at:
            stmt = stmt.where(AuditEntry.at >= at if op == "ge" else AuditEntry.at < at)
    return stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()), f


@bp.get("/audit/health")
@roles_required(Role.ADMIN)
def health_audit():
    stmt, f = _query(request.args)
    page = db.paginate(stmt, page=max(1, request.args.get("page", 1, type=int) or 1),
                       per_page=PAGE, error_out=False)
    names = _names({e.person_id for e in page.items if e.person_id})
    return render_template("office/health_audit.html", page=page, f=f, names=names)


def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {p.id: p.masked_name for p in db.session.scalars(db.select(Person).where(Person.id.in_(ids)))}


@bp.get("/audit/health.csv")
@roles_required(Role.ADMIN)
def health_audit_csv():
    stmt, _f = _query(request.args)
    entries = db.session.scalars(stmt).all()
    names, tz = _names({e.person_id for e in entries if e.person_id}), community_tz()
    rows = ([e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), e.username, e.action,
             names.get(e.person_id, "") if e.person_id else "", e.target, e.detail, e.address]
            for e in entries)
    return Response(exports.table_csv(HEADERS, rows), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="{exports.export_name("health-access", "csv")}"'})
