"""The resident's pass on a phone, reached by a personal signed link."""
from datetime import datetime, timezone

from flask import Blueprint, abort, current_app, jsonify, render_template

from ..extensions import db
from gatepass import qrimage
from gatepass.status import PassStatus
from ..services import issuing
from ..duty.notices import notices_for

bp = Blueprint("resident", __name__, url_prefix="/p")


def _pass_or_404(link: str):
    p = issuing.pass_for_link(link)
    if p is None:
        abort(404)
    return p


def _status(p) -> tuple[str, bool]:
    """(plain-words code, usable now) for the page: a PassStatus, or not_yet / expired."""
    now = datetime.now(timezone.utc)
    if p.status != PassStatus.ACTIVE:
        return p.status, False
    if p.valid_from and now < p.valid_from:
        return "not_yet", False
    if p.valid_until and now >= p.valid_until:
        return "expired", False
    return PassStatus.ACTIVE.value, True


def _qr_payload(p) -> dict:
    status, usable = _status(p)
    token = issuing.dynamic_token(p) if usable else None
    return {"svg": qrimage.svg(token) if token else None, "status": status,
            "refresh": current_app.config["DYNAMIC_TOKEN_REFRESH"],
            "drawn_at": datetime.now(timezone.utc).isoformat()}


@bp.get("/<link>")
def pass_page(link: str):
    p = _pass_or_404(link)
    payload = _qr_payload(p)
    resp = current_app.make_response(render_template("resident/pass.html", p=p, link=link,
                                                     qr=payload, notices=notices_for(p),
                                                     quarantine=health.panel(p)))
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


@bp.get("/<link>/qr.json")
def pass_qr(link: str):
    p = _pass_or_404(link)
    db.session.rollback()
    resp = jsonify(_qr_payload(p))
    resp.headers["Cache-Control"] = "no-store"
    return resp


from . import selfservice  # noqa: E402,F401  (the poster's self-service page, /p/find)
from ..health.views import resident as health  # noqa: E402  (the quarantine report form on the pass page)
