"""The office's view of a household's family link: see it, copy it, reset it (a lost phone)."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from . import bp
from .forms import ActionForm
from ..auth import roles_required
from ..config import public_base_url
from ..extensions import db
from ..models import Household
from ..services import households
from gatepass.roles import Role


@bp.get("/households/<int:household_id>/link")
@roles_required(Role.OFFICE)
def household_link(household_id: int):
    h = db.get_or_404(Household, household_id)
    return render_template("office/household_link.html", h=h, members=households.members(h),
                           link=households.link_for(h, public_base_url()), form=ActionForm())


@bp.post("/households/<int:household_id>/link/reset")
@roles_required(Role.OFFICE)
def household_link_reset(household_id: int):
    h = households.reset_link(db.get_or_404(Household, household_id))
    db.session.commit()
    flash(_("旧的全家通行证链接已失效，请把新链接发给这一户"), "ok")
    return redirect(url_for(".household_link", household_id=h.id))
