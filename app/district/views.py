"""/district/: the sub-district's day on one page, its CSV, the drill-down, and management.

Only role ``district`` (街道) is admitted: an admin of one community is not a sub-district,
so ``roles_required`` (which lets an admin in everywhere) is not used here. The user's scope
(``app.tenancy``) already covers every community of their sub-district; the rollup asks for
the sub-district's communities by id as well, so the page can never count another's rows.
"""
from __future__ import annotations

import logging
from functools import wraps

from flask import (Response, abort, after_this_request, current_app, flash, redirect,
                   render_template, request, stream_with_context, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from . import bp, export, manage, rollup, session as chosen
from .labels import BY_KEY, CODE, COLUMNS, NAME, WORST, cells, parse_sort, sort_rows
from ..extensions import db
from ..i18n import lang
from ..tenancy import current_scope, use_scope
from gatepass.roles import Role

log = logging.getLogger("gatepass.district")
#: How many communities each chart shows (the busiest / the most alerts): 200 bars are unreadable.
CHART_TOP = 15


class CommunityForm(FlaskForm):
    code = StringField("code", validators=[DataRequired(), Length(max=20)])
    name = StringField("name", validators=[DataRequired(), Length(max=60)])


class AdminForm(FlaskForm):
    community = SelectField("community", validators=[DataRequired()], validate_choice=False)
    username = StringField("username", validators=[DataRequired(), Length(max=40)])
    display_name = StringField("display_name", validators=[Length(max=60)])
    password = PasswordField("password", validators=[DataRequired()])


def district_only(view):
    """Sub-district users only (403 for everyone else, admins of a community too)."""
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.role != Role.DISTRICT:
            abort(403)
        return view(*args, **kwargs)
    return wrapped


@bp.before_request
def _back_to_the_whole_subdistrict():
    """Any /district/ page but the drill-down forgets the chosen community. The scope of this
    request was already narrowed to it, so a page is asked for again with the whole view; a
    form (from a tab left open) goes on: communities and admins are not scoped rows."""
    if request.endpoint == "district.drill" or not chosen.is_district_user():
        return None
    if chosen.forget() and request.method == "GET":
        return redirect(request.full_path if request.query_string else request.path)
    return None


def _communities():
    return manage.communities_of(current_user.subdistrict)


def _charts(day: rollup.Rollup) -> dict:
    """Chart.js data: scans and denials of the busiest communities, open alerts of those with
    the most (ids of the table rows are not needed: names label the bars)."""
    busiest = sorted(day.rows, key=lambda r: (-r.scans, r.name))[:CHART_TOP]
    alerted = [r for r in sorted(day.rows, key=lambda r: (-r.open_alerts, r.name))
               if r.open_alerts][:CHART_TOP]
    return {"traffic": {"labels": [r.name for r in busiest],
                        "allowed": [r.scans - r.denials for r in busiest],
                        "denied": [r.denials for r in busiest],
                        "allowed_label": _("放行"), "denied_label": _("拒绝")},
            "alerts": {"labels": [r.name for r in alerted],
                       "values": [r.open_alerts for r in alerted], "label": _("待处理提醒")}}


def after_the_answer(job) -> None:
    """Run ``job`` once this page has been sent (the WSGI server closes the response), in an
    app context of its own and the request's scope: the recount of stale figures
    (``counted``) then costs the reader nothing. A failure is logged; the next view retries."""
    app, scope = current_app._get_current_object(), current_scope()

    @after_this_request
    def attach(response):
        def run():
            with app.app_context(), use_scope(scope.community_ids, scope.write_id):
                try:
                    job()
                except Exception:  # noqa: BLE001  (no one to answer: log it, the next view retries)
                    log.exception("district recount failed")
                finally:
                    db.session.remove()
        response.call_on_close(run)
        return response


@bp.get("/")
@district_only
def index():
    key, descending = parse_sort(request.args.get("sort"), request.args.get("dir"))
    day = rollup.build(_communities(), later=after_the_answer)
    rows = [(r, cells(r)) for r in sort_rows(day.rows, key, descending)]
    admin_form = AdminForm()
    admin_form.community.choices = [(r.code, f"{r.name}（{r.code}）") for r in
                                    sorted(day.rows, key=lambda r: r.code)]
    return render_template("district/index.html", day=day, rows=rows, sort=key,
                           descending=descending, columns=COLUMNS, by_key=BY_KEY, name_col=NAME,
                           code_col=CODE, worst=WORST, lang=lang(), charts=_charts(day),
                           drill_base=url_for(".drill", code="-")[:-2],
                           community_form=CommunityForm(), admin_form=admin_form)


@bp.get("/export.csv")
@district_only
def export_csv():
    day = rollup.build(_communities(), later=after_the_answer)
    return Response(stream_with_context(export.rollup_csv(day, lang())),
                    mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="{export.file_name(day.at)}"',
                             "Cache-Control": "no-store"})


@bp.get("/c/<code>/")
@district_only
def drill(code: str):
    """Look into one community: its own office pages, with the banner to come back."""
    community = manage.community_of(current_user.subdistrict, code)  # NotFound: 404
    chosen.choose(community)
    return redirect(url_for("office.home"))


@bp.post("/communities")
@district_only
def create_community():
    form = CommunityForm()
    if not form.validate_on_submit():
        abort(400)
    community = manage.create_community(form.code.data, form.name.data, current_user.subdistrict)
    db.session.commit()
    flash(_("已新建社区 %(name)s（%(code)s）", name=community.name, code=community.code), "ok")
    return redirect(url_for(".index"))


@bp.post("/admins")
@district_only
def create_admin():
    form = AdminForm()
    if not form.validate_on_submit():
        abort(400)
    community = manage.community_of(current_user.subdistrict, form.community.data)
    user = manage.create_admin(community, form.username.data, form.password.data,
                               form.display_name.data or "")
    db.session.commit()
    flash(_("已为 %(name)s 创建管理员 %(user)s", name=community.name, user=user.username), "ok")
    return redirect(url_for(".index"))
