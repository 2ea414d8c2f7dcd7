"""The family link: one phone shows each household member's own pass, one at a time.

``/p/home/<token>`` shows the first member, ``?m=<pass id>`` another; big name buttons
switch (plain links: no JavaScript needed). Each member's code is signed for that member
and refreshed through the family link, so the page never holds a member's personal link.
"""
from __future__ import annotations

from flask import abort, request, url_for

from . import bp, qr_response, render_pass
from ..services import households


def _member(token: str, pass_id: int | None):
    h = households.household_for(token)
    if h is None:
        abort(404)
    members = households.members(h)
    if not members:
        abort(404)
    chosen = next((p for p in members if p.id == pass_id), None) if pass_id else members[0]
    if chosen is None:
        abort(404)
    return members, chosen


@bp.get("/home/<token>")
def household_page(token: str):
    members, p = _member(token, request.args.get("m", type=int))
    return render_pass(p, None, "resident/household.html", token=token, members=members,
                       qr_url=url_for(".household_qr", token=token, pass_id=p.id))


@bp.get("/home/<token>/<int:pass_id>/qr.json")
def household_qr(token: str, pass_id: int):
    return qr_response(_member(token, pass_id)[1])
