"""Work on many rows at once: pass actions on a selection, scan-log downloads.

A lost card is reissued, not reprinted: the serial goes up, so the old card
is refused at the gate as SUPERSEDED. A revoked pass in a selection is
skipped and named, never a reason to fail the whole batch.
"""
from __future__ import annotations

from flask import Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from . import bp
from .forms import ActionForm
from ..services.scanlog import record_health_view, scan_query
from ..auth import roles_required, viewer
from ..security import same_site_path
from ..config import community_tz
from ..extensions import db
from ..i18n import done_label, lang
from ..models import Pass
from ..services import exports, issuing
from ..common.streaming import stream_in_scope
from gatepass.roles import READERS, Role
from gatepass.status import BULK_ACTIONS, PassAction


def _back() -> str:
    """Back to the pass list the selection was made on (its filters and page)."""
    target = same_site_path(request.form.get("next")) or ""
    return target if target.startswith(url_for(".passes")) else url_for(".passes")


@bp.post("/passes/bulk")
@roles_required(Role.OFFICE)
def bulk_passes():
    if not ActionForm().validate_on_submit():
        abort(400)
    if request.form.get("action", "") not in BULK_ACTIONS:
        abort(400)
    action = PassAction(request.form["action"])
    ids = sorted({int(i) for i in request.form.getlist("ids") if i.isdigit()})
    if not ids:
        flash(_("请先勾选通行证"), "error")
        return redirect(_back())
    done, unchanged, skipped = [], [], []
    for p in db.session.scalars(db.select(Pass).where(Pass.id.in_(ids)).order_by(Pass.id)):
        if action.leaves and p.status == action.leaves:  # already there: left alone
            unchanged.append(p.code)
            continue
        try:
            issuing.perform(p, action)
        except issuing.IssuingError:
            skipped.append(p.code)  # revoked: stays revoked
            continue
        done.append(p.code)
    db.session.commit()
    if done:
        flash(_("%(action)s %(n)s 张通行证：%(codes)s", action=done_label(action), n=len(done),
                codes="、".join(done[:20]) + ("…" if len(done) > 20 else "")), "ok")
        if action is PassAction.REISSUE:
            flash(_("请打印新证：旧证在门岗将显示“旧证已失效（已补办新证）”"), "ok")
    if unchanged:
        flash(_("%(n)s 张本来就是该状态，未改动", n=len(unchanged)), "ok")
    if skipped:
        flash(_("跳过 %(n)s 张已作废的通行证：%(codes)s（已作废的通行证不能恢复或补办，请重新签发）",
                n=len(skipped), codes="、".join(skipped)), "error")
    return redirect(_back())


# -- scan log downloads --------------------------------------------------------

def _attachment(ext: str) -> dict:
    return {"Content-Disposition": f'attachment; filename="{exports.export_name("scans", ext)}"',
            "Cache-Control": "no-store"}


def _scan_export(ext: str):
    """The page's query and the reader's view (masked names, no phone search, no health
    data for a guard; no health data for the office); a health reader's export is logged
    as a view of health data, committed before the rows stream."""
    view = viewer()
    stmt, f = scan_query(request.args, view)
    filters = " ".join(f"{k}={v}" for k, v in f.items() if v)
    record_health_view("health.scans_export", view, detail=f"{ext} {filters}".strip())
    db.session.commit()
    return stmt, view


@bp.get("/scans/export.csv")
@roles_required(*READERS)
def export_scans_csv():
    stmt, view = _scan_export("csv")
    rows = exports.scans_csv(stmt, community_tz(), lang(), view)
    return Response(stream_in_scope(rows), mimetype="text/csv; charset=utf-8",
                    headers=_attachment("csv"))


@bp.get("/scans/export.xlsx")
@roles_required(*READERS)
def export_scans_xlsx():
    stmt, view = _scan_export("xlsx")
    data = exports.scans_xlsx(stmt, community_tz(), lang(), view)
    return Response(data, headers=_attachment("xlsx"),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
