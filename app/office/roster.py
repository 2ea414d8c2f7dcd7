"""/office/roster: the office brings its Excel roster in, and takes it out.

Preview is the default button: an office sees every bad row, with the line
number Excel shows, before anything is written, and a real import is still
all rows or none.
"""
from __future__ import annotations

import io

from flask import abort, render_template, send_file
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SubmitField

from . import bp
from ..auth import roles_required
from ..extensions import db
from ..models import Building
from ..services import exports, roster as roster_service
from gatepass.roles import Role

MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class RosterForm(FlaskForm):
    file = FileField("file", validators=[FileRequired()])
    create_buildings = BooleanField("create_buildings")
    issue_passes = BooleanField("issue_passes", default=True)
    preview = SubmitField("preview")
    submit = SubmitField("submit")


@bp.route("/roster", methods=["GET", "POST"])
@roles_required(Role.OFFICE)
def roster():
    form = RosterForm()
    result = file_error = filename = None
    if form.validate_on_submit():
        upload = form.file.data
        filename = upload.filename or ""
        try:
            result = roster_service.import_roster(
                upload.read(), filename, dry_run=not form.submit.data,
                create_buildings=bool(form.create_buildings.data),
                issue_passes=bool(form.issue_passes.data))
        except roster_service.RosterFileError as err:
            # Shown on this page, beside the form, rather than flashed by app.errors
            # after a redirect: an upload cannot be sent back, and with no Referer
            # (Referrer-Policy) the redirect would land on the home page.
            file_error = err
    has_buildings = db.session.scalar(db.select(Building.id).limit(1)) is not None
    return render_template("office/roster.html", form=form, result=result, filename=filename,
                           file_error=file_error, has_buildings=has_buildings,
                           columns=roster_service.TEMPLATE_NOTES[1:13])


def _download(data: bytes, prefix: str, fmt: str):
    return send_file(io.BytesIO(data), mimetype=MIMETYPES[fmt], as_attachment=True,
                     download_name=exports.export_name(prefix, fmt), max_age=0)


@bp.get("/roster/export.<fmt>")
@roles_required(Role.OFFICE)
def roster_export(fmt: str):
    if fmt not in MIMETYPES:
        abort(404)
    resp = _download(roster_service.export_bytes(fmt), "roster", fmt)
    resp.headers["Cache-Control"] = "no-store"  # names and phones
    return resp


@bp.get("/roster/template.<fmt>")
@roles_required(Role.OFFICE)
def roster_template(fmt: str):
    if fmt not in MIMETYPES:
        abort(404)
    return _download(roster_service.template_bytes(fmt), "roster-template", fmt)
