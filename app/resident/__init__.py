"""The resident's pass on a phone, reached by a personal signed link."""
from datetime import datetime, timezone

from flask import Blueprint, abort, current_app, jsonify, render_template, url_for

from ..extensions import db
from gatepass import qrimage
from gatepass.status import PassStatus
from ..services import issuing
from ..health import episodes as health_svc
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
    """The code and what the page says about it. ``quarantine``: the holder is in home
    quarantine, so the page says 居家隔离中，请勿外出 where it would say 有效 (the gate refuses
    them going out); ``max_age``: after that long without a refresh the code is refused."""
    status, usable = _status(p)
    token = issuing.dynamic_token(p) if usable else None
    return {"svg": qrimage.svg(token) if token else None, "status": status,
            "quarantine": bool(p.person and health_svc.open_episode(p.person)),
            "refresh": current_app.config["DYNAMIC_TOKEN_REFRESH"],
            "max_age": current_app.config["DYNAMIC_TOKEN_MAX_AGE"],
            "drawn_at": datetime.now(timezone.utc).isoformat()}


def render_pass(p, link: str | None, template: str = "resident/pass.html", qr_url: str = "",
                **context):
    """The pass page of ``p``; with no personal ``link``, one member's page of a family link
    (its code from ``qr_url``; the report form stays on the member's own link)."""
    resp = current_app.make_response(render_template(
        template, p=p, link=link, qr=_qr_payload(p), notices=notices_for(p),
        qr_url=qr_url or url_for("resident.pass_qr", link=link),
        quarantine=health.panel(p) if link else None, ended=health.ended(p), **context))
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


@bp.get("/<link>")
def pass_page(link: str):
    return render_pass(_pass_or_404(link), link)


def qr_response(p):
    """The fresh code as JSON, never cached."""
    db.session.rollback()
    resp = jsonify(_qr_payload(p))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/<link>/qr.json")
def pass_qr(link: str):
    return qr_response(_pass_or_404(link))


from . import selfservice  # noqa: E402,F401  (the poster's self-service page, /p/find)
from ..health.views import resident as health  # noqa: E402  (the quarantine report form on the pass page)
from . import household  # noqa: E402,F401  (the family link: one phone for a household)
