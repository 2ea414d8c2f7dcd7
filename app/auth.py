"""Staff login and role checks. Residents never log in: they use a signed link.

A login cookie names the user and the user's ``session_token``; logging out changes the
token, so the cookie (and any copy of it) is dead at once, and no cookie outlives
``PERMANENT_SESSION_LIFETIME`` (about one shift). Wrong passwords are throttled per
user and address, and an unknown user costs the same password hash as a known one, so
the answer's timing does not tell which usernames exist.
"""
from __future__ import annotations

from datetime import datetime, timezone
from functools import wraps

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from .extensions import db, login_manager
from gatepass.disclosure import Disclosure, for_role
from gatepass.roles import Role
from .security import same_site_path
from .common import ratelimit
from .common.audit import Actor, acting_as, done_acting
from .duty import guards as duty
from .models import User
from .tenancy import rescope_request

bp = Blueprint("auth", __name__)

#: Checked when the username is unknown, so that answer takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-password-of-anyone")


def viewer() -> Disclosure:
    """What the logged-in reader may see of health data, names and phone numbers
    (``gatepass.disclosure``); anyone not logged in gets the narrowest view."""
    return for_role(getattr(current_user, "role", None))


def init_app(app) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    app.before_request(_audit_actor)
    app.teardown_request(_end_audit_actor)


def _request_actor() -> Actor:
    """The request's user and address, for the audit trail (``app.common.audit``)."""
    address = request.remote_addr or ""
    if getattr(current_user, "is_authenticated", False):
        return Actor(current_user.id, current_user.username, address)
    return Actor(None, "", address)


def _audit_actor() -> None:
    g.audit_actor = acting_as(_request_actor)


def _end_audit_actor(_exc) -> None:
    token = g.pop("audit_actor", None)
    if token is not None:
        done_acting(token)


@login_manager.user_loader
def _load_user(cookie_id: str):
    user_id, _sep, token = cookie_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    started = session.get("login_at")
    limit = current_app.permanent_session_lifetime.total_seconds()
    if not isinstance(started, (int, float)) or \
            datetime.now(timezone.utc).timestamp() - started > limit:
        return None  # a shift is over: log in again
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.session_token == token else None


def _login_user_key() -> str:
    """Throttle key: the username typed and the client's address."""
    name = (request.form.get("username") or "").strip().lower()[:40]
    return f"login:{ratelimit.address_key(request.remote_addr)}:{name}"


def _login_address_key() -> str:
    return f"login:{ratelimit.address_key(request.remote_addr)}"


def roles_required(*roles: str):
    """Admit only staff with one of ``roles`` (admin is always admitted); a sub-district user
    looking into one community reads what its office reads (``_district_reads``)."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role == Role.DISTRICT and not current_user.may(*roles):
                return _district_reads(roles) or view(*args, **kwargs)
            if not current_user.may(*roles):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def _district_reads(roles: tuple[str, ...]):
    """None when a sub-district user may see this office page: reading (GET) a page the office
    may read, while looking into one community (``/district/c/<code>/`` narrowed the scope to
    it). Not looking into one: back to the sub-district's page. Writing: the community's own
    staff do that (403); health staff's pages stay theirs (403)."""
    if session.get("community_id") is None:
        return redirect(url_for("district.index"))
    if request.method not in ("GET", "HEAD") or Role.OFFICE not in roles:
        abort(403)
    return None


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired()])
    password = PasswordField("password", validators=[DataRequired()])


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    throttles = ((_login_user_key(), current_app.config["LOGIN_LIMIT_PER_USER"]),
                 (_login_address_key(), current_app.config["LOGIN_LIMIT_PER_ADDRESS"]))
    if request.method == "POST" and any(ratelimit.over("login", key, spec)
                                        for key, spec in throttles):
        abort(429)  # the right password too: guessing cannot go on
    if form.validate_on_submit():
        user = db.session.scalar(db.select(User).where(User.username == form.username.data.strip()))
        if user is None:
            check_password_hash(_DUMMY_HASH, form.password.data)
        elif user.check_password(form.password.data) and user.active:
            keep = session.get("lang")
            session.clear()  # nothing carried over from before the login but the language
            if keep:
                session["lang"] = keep
            session.permanent = True
            session["login_at"] = datetime.now(timezone.utc).timestamp()
            if not user.session_token:
                user.end_sessions()
                db.session.commit()
            login_user(user)
            rescope_request()  # the landing page is found in the user's community
            return redirect(same_site_path(request.args.get("next")) or _landing(user))
        flash(_("用户名或密码错误"), "error")
    if request.method == "POST":  # every POST that did not log in counts against both limits
        for key, _spec in throttles:
            ratelimit.count("login", key)
        db.session.commit()
    return render_template("auth/login.html", form=form)


def _landing(user: User) -> str:
    """A guard lands on the gate page of their gate (the tablet at the gate is what they log
    in on), a sub-district user on the sub-district's page; everyone else on the dashboard."""
    if user.role == Role.DISTRICT:
        return url_for("district.index")
    if user.role != "guard":
        return url_for("office.home")
    gate_id = duty.usual_gate(duty.guard_for_user(user.id))
    return url_for("office.gate_page", gate=gate_id) if gate_id else url_for("office.gate_page")


@bp.post("/logout")
@login_required
def logout():
    current_user.end_sessions()  # this cookie and every copy of it stop working
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.get("/")
def index():
    return redirect(_landing(current_user) if current_user.is_authenticated else url_for("auth.login"))
