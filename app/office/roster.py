"""/office/roster: the office brings its Excel roster in, and takes it out.

Preview is the default button: an office sees every bad row, with the line
number Excel shows, before anything is written, and a real import is still
all rows or none.
"""
from __future__ import annotations

import io
import re
import secrets
import time
from datetime import datetime
from pathlib import Path

from flask import abort, current_app, render_template, request, send_file
from flask_wtf import FlaskForm
from flask_babel import gettext as _
from flask_wtf.file import FileField
from wtforms import BooleanField, SubmitField

from . import bp
from ..auth import roles_required
from ..config import community_tz
from ..common.files import write_private
from ..extensions import db
from ..models import Building
from ..services import exports, roster as roster_service
from gatepass.roles import Role

MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class RosterForm(FlaskForm):
    file = FileField("file")
    create_buildings = BooleanField("create_buildings")
    issue_passes = BooleanField("issue_passes", default=True)
    preview = SubmitField("preview")
    submit = SubmitField("submit")


STAGED_FOR = 24 * 3600  # seconds a previewed file waits for its import
STAGED_ID = re.compile(r"(\d{9,12})-[A-Za-z0-9_-]{20,64}")  # <unix time staged>-<random>


def _staging() -> Path:
    """Previewed files (names and phones: owner-only), so that the import after a preview
    does not ask for the file again; older than a day, they are deleted."""
    folder = Path(current_app.instance_path) / "roster-staged"
    folder.mkdir(mode=0o700, exist_ok=True)
    for old in folder.iterdir():  # by the time in the name: the service's clock, not the disk's
        m = STAGED_ID.fullmatch(old.name)
        if m is None or int(m.group(1)) < time.time() - STAGED_FOR:
            old.unlink(missing_ok=True)
    return folder


def _stage(data: bytes) -> str:
    staged = f"{int(time.time())}-{secrets.token_urlsafe(18)}"
    write_private(_staging() / staged, data)
    return staged


def _upload(form: RosterForm) -> tuple[bytes, str, str] | None:
    """(bytes, file name, staged id): a new upload, or the file previewed a moment ago."""
    upload = form.file.data
    if upload and getattr(upload, "filename", ""):
        return upload.read(), upload.filename, ""
    staged = request.form.get("staged", "")
    path = _staging() / staged
    if STAGED_ID.fullmatch(staged) and path.is_file():
        return path.read_bytes(), request.form.get("filename", "roster.csv")[:200], staged
    return None


@bp.route("/roster", methods=["GET", "POST"])
@roles_required(Role.OFFICE)
def roster():
    """Preview, then import the same file without picking it again; after an import, links to
    print the new cards and export their phone links."""
    form = RosterForm()
    result = file_error = filename = None
    staged = ""
    upload = _upload(form) if form.validate_on_submit() else None
    if form.is_submitted() and upload is None and not form.errors:
        form.file.errors = [_("请选择名册文件")]
    if upload is not None:
        data, filename, staged = upload
        try:
            result = roster_service.import_roster(
                data, filename, dry_run=not form.submit.data,
                create_buildings=bool(form.create_buildings.data),
                issue_passes=bool(form.issue_passes.data))
        except roster_service.RosterFileError as err:
            # Shown on this page, beside the form, rather than flashed by app.errors
            # after a redirect: an upload cannot be sent back, and with no Referer
            # (Referrer-Policy) the redirect would land on the home page.
            file_error = err
        else:
            if result.dry_run and not result.errors:
                staged = staged or _stage(data)
            elif staged:
                (_staging() / staged).unlink(missing_ok=True)
                staged = ""
    has_buildings = db.session.scalar(db.select(Building.id).limit(1)) is not None
    return render_template("office/roster.html", form=form, result=result, filename=filename,
                           file_error=file_error, has_buildings=has_buildings, staged=staged,
                           today=datetime.now(community_tz()).date(),
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
