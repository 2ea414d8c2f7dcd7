"""Public pages, no login: the arrival's registration form (from the gate poster) and its
status, and the health certificate check (from the certificate's QR).

Phone-sized, plain HTML forms that work without JavaScript (WeChat's built-in
browser included); nothing here shows more than a masked name.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from ..config import community_tz
from ..extensions import csrf, db
from ..i18n import lang
from ..health import certificates, registrations as regs
from gatepass.quarantine import TravelMode

bp = Blueprint("public", __name__)
#: The status token of the entry this browser submitted: only that entry may be updated.
MINE_COOKIE = "gatepass_registration"


def _no_store(resp):
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def _household_id(f) -> int:
    """The home picked on the form: one select (old pages) or building, unit and room in
    three (the picker works without JavaScript: the three are resolved here)."""
    chosen = f.get("household_id", 0, type=int) or 0
    if chosen:
        return chosen
    picked = (f.get("building", ""), f.get("unit", ""), f.get("room", ""))
    for building, homes in regs.households_by_building():
        if building == picked[0]:
            return next((h.id for h in homes if (h.unit, h.room) == picked[1:]), 0)
    return 0


def _form_values() -> regs.Arrival:
    f = request.form
    try:
        arrived = date.fromisoformat(f.get("arrived_on", ""))
    except ValueError:
        arrived = date.min
    return regs.Arrival(
        name=f.get("name", "").strip(), phone=f.get("phone", "").strip().replace(" ", ""),
        id_card=f.get("id_card", "").strip().upper().replace(" ", ""), origin=f.get("origin", ""),
        arrived_on=arrived, travel_mode=f.get("travel_mode", ""),
        travel_number=f.get("travel_number", ""), household_id=_household_id(f),
        reason=f.get("reason", ""), symptoms=f.getlist("symptoms"))


@dataclass
class HomePick:
    """The form's three home lists: {building: {unit: [rooms]}} for the script that narrows
    them, every unit and every room for a phone without JavaScript, and the home picked."""

    tree: dict
    units: list
    rooms: list
    picked: tuple | None


def _home_pick(household_id: int) -> HomePick:
    from ..services.printing import natural_key
    tree, picked = {}, None
    for building, homes in regs.households_by_building():
        units = tree.setdefault(building, {})
        for h in homes:
            units.setdefault(h.unit, []).append(h.room)
            if h.id == household_id:
                picked = (building, h.unit, h.room)
    units = sorted({u for b in tree.values() for u in b}, key=natural_key)
    rooms = sorted({r for b in tree.values() for rs in b.values() for r in rs}, key=natural_key)
    return HomePick(tree, units, rooms, picked)


def _render(gate, token, values=None, errors=None, status=200):
    today = datetime.now(community_tz()).date()
    html = render_template("public/register.html", gate=gate, token=token, form=FlaskForm(),
                           v=values, errors=errors or {}, today=today, modes=list(TravelMode),
                           pick=_home_pick(values.household_id if values else 0),
                           symptoms=regs.SYMPTOMS, en=lang() == "en")
    return _no_store(current_app.make_response((html, status)))


@bp.route("/register/<token>", methods=["GET", "POST"])
@csrf.exempt  # checked in the view: a lost session cookie re-shows the form with what was typed
def register(token: str):
    gate = regs.gate_for_poster(token)
    if gate is None:
        abort(404)
    if request.method == "GET":
        return _render(gate, token)
    address = request.remote_addr or ""
    if regs.rate_limited(address):
        db.session.rollback()
        busy = ("提交次数过多，请一小时后再试或联系门岗",
                "too many submissions: try again in an hour or ask the guard")
        return _render(gate, token, _form_values(), {"_": busy}, 429)
    regs.count_hit(address)
    form, values = FlaskForm(), _form_values()
    errors = regs.check(values, datetime.now(community_tz()).date())
    if not form.validate_on_submit():
        errors["_"] = ("页面已过期：您填写的内容已保留，请再按一次“提交登记”",
                       "the page expired: what you typed is kept, press Submit again")
    if request.form.get("consent") != "yes":
        errors["consent"] = ("须同意处理健康信息才能登记", "you must agree to the processing of health data")
    if errors:
        db.session.commit()  # the rate-limit hit counts even for a refused form
        return _render(gate, token, values, errors, 400)
    mine = regs.registration_for_status(request.cookies.get(MINE_COOKIE, ""))
    reg = regs.submit(values, gate, address, mine=mine)
    db.session.commit()
    token = regs.status_token(reg)
    resp = redirect(url_for(".registration_status", token=token))
    resp.set_cookie(MINE_COOKIE, token, max_age=30 * 86400, path="/register", httponly=True,
                    samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return resp


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for it on every page; without it every page logged a 404."""
    resp = current_app.send_static_file("favicon.ico")
    resp.cache_control.max_age = 7 * 86400
    resp.cache_control.public = True
    return resp


@bp.get("/register/status/<token>")
def registration_status(token: str):
    reg = regs.registration_for_status(token)
    if reg is None:
        abort(404)
    html = render_template("public/status.html", reg=reg, link=regs.status_link(reg),
                           status_url=request.url)
    return _no_store(current_app.make_response(html))


@bp.get("/verify/<path:token>")
def verify(token: str):
    """Public: is this certificate genuine and still valid? Masked name and dates only."""
    cert = certificates.for_token(token)
    html = render_template("public/verify.html", cert=cert,
                           period=certificates.period_text(cert) if cert else "",
                           now=datetime.now(timezone.utc))
    return _no_store(current_app.make_response((html, 200 if cert else 404)))
