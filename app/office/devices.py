"""/office/devices: gate laptops (admin only). Create one and show its one-time setup QR,
see what each scanner reports, make a new setup QR, disable, rotate a token; the key
drill's reprint list lives at /office/reprint."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional as Opt

from . import bp
from .forms import ActionForm
from ..config import public_base_url
from ..auth import roles_required
from ..extensions import db
from ..models import GateDevice
from ..services import devices as device_service
from gatepass import qrimage


class NewDeviceForm(FlaskForm):
    gate = StringField("gate", validators=[DataRequired(), Length(max=40)])
    name = StringField("name", validators=[Opt(), Length(max=60)])


def _setup_page(device: GateDevice, text: str, expires):
    resp = current_app.make_response(render_template(
        "office/device_setup.html", device=device, text=text, expires=expires,
        qr_svg=qrimage.svg(text)))
    return resp


@bp.get("/devices")
@roles_required("admin")
def devices():
    rows = db.session.scalars(db.select(GateDevice).order_by(GateDevice.id)).all()
    return render_template("office/devices.html", devices=rows, form=NewDeviceForm(),
                           action=ActionForm())


@bp.post("/devices")
@roles_required("admin")
def create_device():
    form = NewDeviceForm()
    if not form.validate_on_submit():
        flash(_("请填写门岗名称"), "error")
        return redirect(url_for(".devices"))
    device, text, expires = device_service.enrol_new_device(
        form.gate.data.strip(), public_base_url(), (form.name.data or "").strip() or None)
    db.session.commit()
    return _setup_page(device, text, expires)


@bp.post("/devices/<int:device_id>/<action>")
@roles_required("admin")
def device_action(device_id: int, action: str):
    if action not in ("setup", "disable", "enable", "rotate"):
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    device = device_service.get_device(device_id)
    if action == "setup":
        text, expires = device_service.new_enrolment(device, public_base_url())
        db.session.commit()
        return _setup_page(device, text, expires)
    if action == "rotate":
        token = device_service.rotate_token(device)
        db.session.commit()
        return render_template("office/device_token.html", device=device, token=token)
    (device_service.disable if action == "disable" else device_service.enable)(device)
    db.session.commit()
    flash(_("已完成操作"), "ok")
    return redirect(url_for(".devices"))
