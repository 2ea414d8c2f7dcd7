"""Scattered compounds and the phone spot-check page."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...office import bp
from ...office.forms import ActionForm
from ...auth import roles_required
from ...extensions import db
from ..models import Place
from .. import places
from gatepass.wire import parse_time

CHECKERS = ("office", "guard", "health")


@bp.route("/places", methods=["GET", "POST"])
@roles_required(*CHECKERS)
def places_page():
    if request.method == "POST":
        if current_user.role not in ("admin", "office") or not ActionForm().validate_on_submit():
            abort(403 if ActionForm().validate_on_submit() else 400)
        place_id = request.form.get("place_id", type=int)
        if place_id:
            p = db.get_or_404(Place, place_id)
            hours = request.form.get("every", type=int)
            if hours and 1 <= hours <= 168:
                p.check_every_hours = hours
            if "active" in request.form:
                p.active = request.form.get("active") == "1"
        else:
            places.add_place(request.form.get("name", ""), request.form.get("address", ""),
                             request.form.get("every", 4, type=int) or 0)
        db.session.commit()
        flash(_("已保存"), "ok")
        return redirect(url_for(".places_page"))
    now = datetime.now(timezone.utc)
    return render_template("office/places.html", rows=places.schedule(now), now=now,
                           checks=places.recent_checks(30), form=ActionForm())


@bp.get("/spot")
@roles_required(*CHECKERS)
def spot_page():
    rows = places.schedule()
    return render_template("office/spot.html", rows=rows)


@bp.post("/spot/checks")
@roles_required(*CHECKERS)
def spot_check():
    """JSON from the phone: {nonce, place_id, at, text?, note?} -> the verdict."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise places.PlaceError("BAD_BODY", "请求内容须为 JSON 对象", "body must be a JSON object")
    nonce, place_id, text = data.get("nonce"), data.get("place_id"), data.get("text") or ""
    if not isinstance(nonce, str) or not 1 <= len(nonce) <= 64:
        raise places.PlaceError("BAD_NONCE", "缺少 nonce", "nonce must be a string of 1-64 characters")
    if isinstance(place_id, str) and place_id.isdigit():
        place_id = int(place_id)
    if isinstance(place_id, bool) or not isinstance(place_id, int):
        raise places.PlaceError("NO_PLACE", "请选择地点", "place_id must be an integer")
    if not isinstance(text, str) or len(text) > 4096:
        raise places.PlaceError("BAD_TEXT", "扫码内容不正确", "text must be a string")
    try:
        at = parse_time(data["at"]) if isinstance(data.get("at"), str) else datetime.now(timezone.utc)
    except ValueError:
        raise places.PlaceError("BAD_TIME", "时间格式不正确", "at is not ISO-8601") from None
    note = data.get("note") if isinstance(data.get("note"), str) else ""
    check, created = places.record_check(places.CheckRequest(nonce, place_id, at, text, note),
                                         current_user.id)
    return jsonify(check.response | {"created": created})
