"""The office's pages: overview, people and households, vehicles, passes, scan log,
who is outside, rules and gate devices.

Views are thin: read the request, call a service, render. A refusal from a
service (``ServiceError``) is turned into a flashed message by ``app.errors``;
views do not catch it. Each view names the roles it admits (``Role``).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import or_
from sqlalchemy.orm import defer, joinedload, selectinload

from . import bp
from .forms import ActionForm, RuleForm
from ..auth import roles_required, viewer
from ..common.paging import CappedPage
from ..config import community_tz
from ..extensions import db
from ..models import Building, Gate, GateDevice, Household, Pass, Person, Scan, Vehicle
from gatepass import qrimage
from gatepass.categories import CATEGORIES, PERSON_CATEGORIES
from gatepass.roles import READERS, Role
from gatepass.rules import OUTSIDE_TOO_LONG
from gatepass.status import PAGE_ACTIONS, PassAction, PassStatus
from gatepass.verdict import REASONS
from ..services import dashboard, issuing, printing
from ..services.buildings import building_by_name, building_choices
from ..services.rules import category_rules, set_rule
from ..services.scanlog import record_health_view, scan_query
from ..health.views.office import render_logged

PAGE = 50


def _page() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def _building_filter() -> tuple[int | None, str]:
    """The building asked for: ?building=<id> from the list, or ?building_name= typed where
    there are too many to list (``services.buildings``); and the typed text."""
    typed = request.args.get("building_name", "").strip()
    building = request.args.get("building", type=int)
    return (building_by_name(typed) if building is None and typed else building), typed


@bp.get("/")
@roles_required(*READERS)
def home():
    tz, view = community_tz(), viewer()
    board = dashboard.build(dashboard.parse_day(request.args.get("day"), tz), tz, view)
    recent = dashboard.recent(board.day, tz)
    record_health_view("health.dashboard_scans", view, recent)
    return render_logged("office/home.html", board=board, recent=recent,
                           day_before=board.day - timedelta(days=1),
                           day_after=board.day + timedelta(days=1))


# -- people, households, vehicles -----------------------------------------

@bp.get("/people")
@roles_required(Role.OFFICE, Role.HEALTH)
def people():
    q = request.args.get("q", "").strip()
    category = request.args.get("category", "")
    building, typed = _building_filter()
    stmt = db.select(Person).order_by(Person.id)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Person.name.like(like), Person.phone.like(like)))
    if category in CATEGORIES:
        stmt = stmt.where(Person.category == category)
    if building is not None:
        stmt = stmt.where(Person.household_id.in_(
            db.select(Household.id).where(Household.building_id == building)))
    page = CappedPage(stmt.options(selectinload(Person.passes),
                                   selectinload(Person.household).joinedload(Household.building)),
                      _page(), PAGE)
    return render_template("office/people.html", page=page, q=q, category=category,
                           building=building, building_typed=typed,
                           buildings=building_choices(), categories=PERSON_CATEGORIES)


@bp.get("/people/<int:person_id>")
@roles_required(Role.OFFICE, Role.HEALTH)
def person(person_id: int):
    p = db.get_or_404(Person, person_id)
    return render_template("office/person.html", person=p, form=ActionForm())


@bp.post("/people/<int:person_id>/issue")
@roles_required(Role.OFFICE)
def issue_person_pass(person_id: int):
    return _issue_to(db.get_or_404(Person, person_id))


def _issue_to(holder):
    """Issue a pass to a person or vehicle from a posted form, then show the new pass."""
    if not ActionForm().validate_on_submit():
        abort(400)
    p = issuing.issue_pass(holder)
    db.session.commit()
    flash(_("已签发通行证 %(code)s", code=p.code), "ok")
    return redirect(url_for(".pass_detail", pass_id=p.id))


@bp.get("/households")
@roles_required(Role.OFFICE, Role.HEALTH)
def households():
    building, typed = _building_filter()
    stmt = db.select(Household).join(Building).order_by(Building.id, Household.unit, Household.room)
    if building is not None:
        stmt = stmt.where(Household.building_id == building)
    stmt = stmt.options(selectinload(Household.people), selectinload(Household.vehicles))
    page = db.paginate(stmt, page=_page(), per_page=PAGE, error_out=False)
    return render_template("office/households.html", page=page, buildings=building_choices(),
                           building=building, building_typed=typed)


@bp.get("/vehicles")
@roles_required(Role.OFFICE)
def vehicles():
    q = request.args.get("q", "").strip().upper()
    home = selectinload(Vehicle.household).joinedload(Household.building)
    stmt = db.select(Vehicle).order_by(Vehicle.plate).options(home, selectinload(Vehicle.passes))
    if q:
        stmt = stmt.where(Vehicle.plate.like(f"%{q}%"))
    page = db.paginate(stmt, page=_page(), per_page=PAGE, error_out=False)
    return render_template("office/vehicles.html", page=page, q=q, form=ActionForm())


@bp.post("/vehicles/<int:vehicle_id>/issue")
@roles_required(Role.OFFICE)
def issue_vehicle_pass(vehicle_id: int):
    return _issue_to(db.get_or_404(Vehicle, vehicle_id))


# -- passes ----------------------------------------------------------------

def _holder_loads() -> tuple:
    """A page of passes with their holders and homes in three queries, not three a row."""
    home = joinedload(Household.building)
    return (selectinload(Pass.person).joinedload(Person.household).options(home),
            selectinload(Pass.vehicle).joinedload(Vehicle.household).options(home))


@bp.get("/passes")
@roles_required(Role.OFFICE)
def passes():
    status = request.args.get("status", "")
    category = request.args.get("category", "")
    stmt = db.select(Pass).order_by(Pass.id.desc()).options(*_holder_loads())
    if status in tuple(PassStatus):
        stmt = stmt.where(Pass.status == status)
    if category in CATEGORIES:
        stmt = stmt.where(Pass.category == category)
    page = db.paginate(stmt, page=_page(), per_page=PAGE, error_out=False)
    return render_template("office/passes.html", page=page, status=status, category=category,
                           categories=list(CATEGORIES))


@bp.get("/passes/<int:pass_id>")
@roles_required(Role.OFFICE)
def pass_detail(pass_id: int):
    p = db.get_or_404(Pass, pass_id)
    scans = db.session.scalars(db.select(Scan).where(Scan.pass_id == p.id)
                               .order_by(Scan.scanned_at.desc()).limit(20)).all()
    link = url_for("resident.pass_page", link=issuing.resident_link_token(p), _external=True)
    return render_template("office/pass.html", p=p, scans=scans, link=link,
                           qr_svg=qrimage.svg(issuing.static_token(p)), form=ActionForm())


@bp.post("/passes/<int:pass_id>/<action>")
@roles_required(Role.OFFICE)
def pass_action(pass_id: int, action: str):
    if action not in PAGE_ACTIONS:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    p = db.get_or_404(Pass, pass_id)
    issuing.perform(p, PassAction(action))  # a refusal (IssuingError) is flashed by app.errors
    db.session.commit()
    flash(_("已完成操作"), "ok")
    return redirect(url_for(".pass_detail", pass_id=p.id))


def _qr_text(pass_id: int) -> str:
    """The pass's card QR for a download: a card leaving the office, so which key it carries
    is recorded (``printing.mark_printed``) for the reprint list after a key rotation."""
    p = db.get_or_404(Pass, pass_id)
    text = issuing.static_token(p)
    printing.mark_printed([p])
    db.session.commit()
    return text


@bp.get("/passes/<int:pass_id>/qr.png")
@roles_required(Role.OFFICE)
def pass_qr_png(pass_id: int):
    scale = min(max(request.args.get("scale", 10, type=int) or 10, 2), 40)
    return Response(qrimage.png(_qr_text(pass_id), scale), mimetype="image/png",
                    headers={"Cache-Control": "no-store"})


@bp.get("/passes/<int:pass_id>/qr.svg")
@roles_required(Role.OFFICE)
def pass_qr_svg(pass_id: int):
    return Response(qrimage.svg(_qr_text(pass_id)), mimetype="image/svg+xml",
                    headers={"Cache-Control": "no-store"})


# -- scans -----------------------------------------------------------------

@bp.get("/scans")
@roles_required(*READERS)
def scans():
    view = viewer()  # phone search, temperatures, health reasons, full names: per role
    stmt, f = scan_query(request.args, view)
    page = CappedPage(stmt.options(defer(Scan.response), selectinload(Scan.gate),
                                   selectinload(Scan.pass_).options(*_holder_loads())),
                      _page(), PAGE)
    record_health_view("health.scans", view, page.items)
    gates = db.session.scalars(db.select(Gate).order_by(Gate.id)).all()
    return render_logged("office/scans.html", page=page, f=f, gates=gates,
                         buildings=building_choices(), view=view, reasons=view.reasons(REASONS))


@bp.get("/outside")
@roles_required(*READERS)
def outside():
    """Who went out and has not come back: the list the night shift checks."""
    stmt = (db.select(Pass).where(Pass.inside.is_(False), Pass.status == PassStatus.ACTIVE)
            .order_by(Pass.last_scan_at).options(*_holder_loads()))
    page = db.paginate(stmt, page=_page(), per_page=PAGE, error_out=False)
    gates = {g.id: g.name for g in db.session.scalars(db.select(Gate))}
    now = datetime.now(timezone.utc)
    return render_template("office/outside.html", page=page, gates=gates, now=now,
                           long_out=OUTSIDE_TOO_LONG)


# -- rules and devices ---------------------------------------------------------

@bp.route("/rules", methods=["GET", "POST"])
@roles_required(Role.OFFICE)
def rules():
    form = RuleForm()
    if request.method == "POST":
        category = request.form.get("category", "")
        if category not in CATEGORIES or not form.validate_on_submit():
            abort(400)
        set_rule(category, form.hours.data or "", form.gates.data or "",
                 bool(form.anti_passback.data),
                 bool(form.temperature_required.data))  # a RuleError is flashed by app.errors
        db.session.commit()
        flash(_("规则已保存"), "ok")
        return redirect(url_for(".rules"))
    gates = db.session.scalars(db.select(Gate).order_by(Gate.id)).all()
    return render_template("office/rules.html", rules=category_rules(), gates=gates, form=form)
