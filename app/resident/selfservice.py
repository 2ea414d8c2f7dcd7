"""The self-service page behind the poster QR: a resident gets their own phone link.

Phone number + room + the last four characters of the ID number; five tries
per address per fifteen minutes; every wrong answer gets the same reply.
"""
from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import StringField

from . import bp
from ..extensions import csrf
from ..services import issuing, links


class FindForm(FlaskForm):
    phone = StringField("phone")
    room = StringField("room")
    id_last4 = StringField("id_last4")


def _no_store(resp):
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


@bp.route("/find", methods=["GET", "POST"])
@csrf.exempt  # checked below: a lost session cookie re-shows the form, not a bare 400
def find_pass():
    form = FindForm()
    failed = limited = expired = False
    status = 200
    address = request.remote_addr or "?"
    if request.method == "POST" and links.too_many_lookups(address):
        limited, status = True, 429
    elif request.method == "POST":
        if form.validate_on_submit():
            p = links.find_pass(form.phone.data or "", form.room.data or "",
                                form.id_last4.data or "", address)
            if p is not None:
                return _no_store(redirect(url_for(".pass_page", link=issuing.resident_link_token(p))))
            failed = True
        else:
            expired, status = True, 400
    resp = current_app.make_response((render_template("resident/find.html", form=form,
                                                      failed=failed, limited=limited,
                                                      expired=expired), status))
    return _no_store(resp)
