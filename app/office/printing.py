"""/office/print: the office downloads pass cards as a PDF to print.

The same selection as ``flask passes print``; no filter means every active
pass. A full community (~7,000 cards) renders in about ten seconds, so the
download is made in the request.
"""
from __future__ import annotations

import io
from datetime import datetime

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import Optional as Opt

from . import bp
from .forms import ActionForm
from ..auth import roles_required
from ..config import community_tz
from ..extensions import db
from ..i18n import category_label
from ..models import Building, Pass
from gatepass.addresses import natural_key
from gatepass.categories import CATEGORIES
from gatepass.roles import Role
from gatepass.status import PassStatus
from ..services import printing
from ..services.dashboard import parse_day


class PrintForm(FlaskForm):
    building = SelectField("building", choices=[], default="")
    category = SelectField("category", choices=[], default="")
    since = DateField("since", validators=[Opt()])


def _pdf(job, name: str = "passes"):
    today = datetime.now(community_tz()).strftime("%Y%m%d")
    resp = send_file(io.BytesIO(job.pdf), mimetype="application/pdf", as_attachment=True,
                     download_name=f"{name}-{today}.pdf", max_age=0)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/reprint", methods=["GET", "POST"])
@roles_required("office")
def reprint():
    """After a key rotation: the printed cards still carrying an old key, and their PDF."""
    sel = printing.Selection(reprint=True)
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            abort(400)
        try:
            job = printing.print_passes(sel)
        except printing.SelectionError:
            flash(_("没有需要重新打印的卡片"), "ok")
            return redirect(url_for(".reprint"))
        db.session.commit()
        return _pdf(job, "reprint")
    from ..services.keys import signing_ring
    passes = printing.select_passes(sel)
    return render_template("office/reprint.html", passes=passes, form=ActionForm(),
                           current_kid=signing_ring().current.kid)


@bp.route("/print", methods=["GET", "POST"])
@roles_required(Role.OFFICE)
def print_passes():
    form = PrintForm()
    names = db.session.scalars(db.select(Building.name)).all()
    form.building.choices = [("", _("全部楼栋"))] + [
        (n, n) for n in sorted(names, key=natural_key)]
    form.category.choices = [("", _("全部类别"))] + [(c, category_label(c)) for c in CATEGORIES]
    if request.method == "GET" and request.args.get("since"):  # from the roster import's result
        form.since.data = parse_day(request.args["since"], community_tz())
    if form.validate_on_submit():
        sel = printing.Selection(building=form.building.data or None,
                                 category=form.category.data or None, since=form.since.data)
        if sel.empty:
            sel = printing.Selection(all=True)
        try:
            job = printing.print_passes(sel)
            db.session.commit()  # which key each card carries, and the audit entry
        except printing.SelectionError:
            flash(_("没有符合条件的有效通行证"), "error")
        else:
            return _pdf(job)
    active = db.session.scalar(db.select(db.func.count(Pass.id)).where(Pass.status == PassStatus.ACTIVE))
    return render_template("office/print.html", form=form, active=active)
