"""The sub-district's own passes (街道通行证): a minimal page for the ``district`` role.

A cadre sent to staff checkpoints, or a crew serving several communities, gets one pass that
every gate of the sub-district accepts (``app.services.subdistrict_passes``). Only a
sub-district user issues them: a community's admin is admitted everywhere else, but not here,
because these passes open other communities' gates. The page lists them with each card's QR,
to print from the browser; revoking and reissuing use the same services as any pass.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from . import bp
from .forms import ActionForm
from ..extensions import db
from ..models import Pass, Person
from ..services import issuing
from ..services import subdistrict_passes as service
from gatepass import qrimage
from gatepass.roles import Role


def _district_only():
    """The sub-district's pseudo-community of the logged-in district user (403 otherwise)."""
    if current_user.role != Role.DISTRICT or not current_user.subdistrict:
        abort(403)
    return service.subdistrict_community(current_user.subdistrict)


@bp.route("/subdistrict-passes", methods=["GET", "POST"])
@login_required
def subdistrict_passes():
    district = _district_only()
    form = ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        p = service.issue_subdistrict_pass(
            current_user.subdistrict, request.form.get("name", ""),
            phone=request.form.get("phone", "").strip() or None,
            category=request.form.get("category", "staff"),
            employer=request.form.get("employer", "").strip()[:60],
            days=request.form.get("days", service.DEFAULT_DAYS, type=int) or 0)
        issuing.static_token(p)  # the ring's first key, with this commit
        code = p.code  # read before the commit: a pseudo-community made by this request is
        db.session.commit()  # outside the scope the request started with (RLS would hide it)
        flash(_("已签发街道通行证 %(code)s", code=code))
        return redirect(url_for("office.subdistrict_passes"))
    passes = [] if district is None else db.session.scalars(
        db.select(Pass).join(Person, Pass.person_id == Person.id)
        .where(Pass.community_id == district.id).order_by(Pass.id.desc())).all()
    return render_template("office/subdistrict_passes.html", form=form, passes=passes,
                           categories=service.CATEGORIES,
                           default_days=service.DEFAULT_DAYS, max_days=service.MAX_DAYS,
                           now=datetime.now(timezone.utc))


@bp.get("/subdistrict-passes/<int:pass_id>/qr.svg")
@login_required
def subdistrict_pass_qr(pass_id: int):
    district = _district_only()
    p = db.session.get(Pass, pass_id)
    if district is None or p is None or p.community_id != district.id:
        abort(404)
    return Response(qrimage.svg(issuing.static_token(p)), mimetype="image/svg+xml",
                    headers={"Cache-Control": "no-store"})
