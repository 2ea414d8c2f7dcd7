"""/office/audit: the admin reads who did what (office actions), and downloads it as CSV.

Office actions only (``kind == "action"``); views of health data are another page's.
"""
from __future__ import annotations

from flask import Response, render_template, request

from . import bp
from ..auth import roles_required
from ..config import community_tz
from ..extensions import db
from ..models import AuditEntry
from ..services import exports
from ..common.streaming import stream_in_scope

PAGE = 50
HEADERS = ["时间", "用户", "操作", "对象", "详情", "地址"]


def _query():
    stmt = db.select(AuditEntry).where(AuditEntry.kind == "action") \
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    action = request.args.get("action", "").strip()
    user = request.args.get("user", "").strip()
    if action:
        stmt = stmt.where(AuditEntry.action.like(f"{action}%"))
    if user:
        stmt = stmt.where(AuditEntry.username == user)
    return stmt, {"action": action, "user": user}


@bp.get("/audit")
@roles_required("admin")
def audit():
    stmt, f = _query()
    page = db.paginate(stmt, page=max(1, request.args.get("page", 1, type=int) or 1),
                       per_page=PAGE, error_out=False)
    return render_template("office/audit.html", page=page, f=f)


@bp.get("/audit/export.csv")
@roles_required("admin")
def audit_csv():
    stmt, _f = _query()
    tz = community_tz()

    def rows():  # runs while the response streams, inside its request context
        for e in db.session.scalars(stmt.execution_options(yield_per=1000)):
            yield [e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), e.username, e.action,
                   e.target, e.detail, e.address]
    return Response(stream_in_scope(exports.iter_csv(HEADERS, rows())),
                    mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="{exports.export_name("audit", "csv")}"',
                             "Cache-Control": "no-store"})
