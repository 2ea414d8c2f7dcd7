"""The gate logbook for the office: filters, CSV/XLSX export."""
from __future__ import annotations

from flask import Response, render_template, request

from ...office import bp
from ...office.views import PAGE, READERS, _page
from ...auth import roles_required
from ...config import community_tz
from ...extensions import db
from ...i18n import lang
from ...models import Gate
from ..models import Guard
from ...services import exports
from .. import logbook
from ...common.streaming import stream_in_scope
from gatepass.logbook import EVENT_KINDS

MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@bp.get("/logbook")
@roles_required(*READERS)
def logbook_page():
    stmt, f = logbook.event_query(request.args)
    page = db.paginate(stmt, page=_page(), per_page=PAGE, error_out=False)
    gates = db.session.scalars(db.select(Gate).order_by(Gate.id)).all()
    guards = db.session.scalars(db.select(Guard).order_by(Guard.name)).all()
    return render_template("office/logbook.html", page=page, f=f, gates=gates, guards=guards,
                           kinds=EVENT_KINDS, gate_names={g.id: g.name for g in gates})


def _attachment(ext: str) -> dict:
    name = exports.export_name("logbook", ext)
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@bp.get("/logbook/export.csv")
@roles_required(*READERS)
def logbook_csv():
    stmt, _f = logbook.event_query(request.args)
    rows = logbook.event_rows(stmt, community_tz(), lang())
    return Response(stream_in_scope(exports.iter_csv(logbook.HEADERS[lang()], rows)),
                    mimetype=MIMETYPES["csv"], headers=_attachment("csv"))


@bp.get("/logbook/export.xlsx")
@roles_required(*READERS)
def logbook_xlsx():
    stmt, _f = logbook.event_query(request.args)
    rows = logbook.event_rows(stmt, community_tz(), lang(), local_text=False)
    data = exports.table_xlsx(logbook.HEADERS[lang()], rows,
                              title="门岗登记" if lang() == "zh" else "logbook",
                              widths=[20, 8, 10, 50, 30, 12], formats={0: "yyyy-mm-dd hh:mm:ss"})
    return Response(data, mimetype=MIMETYPES["xlsx"], headers=_attachment("xlsx"))
