"""Notices (公告) for the office, posters, and phone links for everyone."""
from __future__ import annotations

from datetime import datetime

from flask import (Response, abort, current_app, flash, redirect, render_template, request,
                   stream_with_context, url_for)
from flask_babel import gettext as _
from flask_login import current_user

from ...office import bp
from ...office.forms import ActionForm
from ...auth import roles_required
from ...config import community_time, community_tz, printed_base_url, public_base_url
from ...extensions import db
from ...i18n import lang
from ...models import Building
from ...services import links
from ...services.communities import community_name
from ...services.dashboard import day_bounds, parse_day
from .. import notices
from ..pdf import notice_period, poster_pdf
from ...services.exports import export_name
from gatepass.categories import CATEGORIES


def _local(name: str) -> datetime | None:
    value = (request.form.get(name) or "").strip()
    dt = community_time(value)
    if value and dt is None:
        raise notices.NoticeError("BAD_TIME", "时间格式不正确", "bad date")
    return dt


@bp.route("/notices", methods=["GET", "POST"])
@roles_required("office")
def notices_page():
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            abort(400)
        notice_id = request.form.get("notice_id", type=int)
        existing = notices.get_notice(notice_id) if notice_id else None
        if request.form.get("delete") and existing:
            db.session.delete(existing)
            db.session.commit()
            flash(_("公告已删除"), "ok")
            return redirect(url_for(".notices_page"))
        f = request.form
        notices.save_notice(existing, title=f.get("title", ""), body=f.get("body", ""),
                            audience=f.get("audience", "everyone"),
                            audience_value=f.get("audience_value_" + f.get("audience", ""), ""),
                            starts_at=_local("starts_at"), ends_at=_local("ends_at"),
                            user_id=current_user.id)
        db.session.commit()
        flash(_("公告已保存"), "ok")
        return redirect(url_for(".notices_page"))
    edit = notices.get_notice(request.args.get("edit", type=int)) if request.args.get("edit") else None
    buildings = db.session.scalars(db.select(Building).order_by(Building.id)).all()
    return render_template("office/notices.html", notices=notices.all_notices(), edit=edit,
                           buildings=buildings, categories=list(CATEGORIES),
                           audience_text=lambda n: notices.audience_text(n, lang()),
                           now=datetime.now(community_tz()), form=ActionForm())


@bp.get("/notices/<int:notice_id>/poster.pdf")
@roles_required("office", "guard")
def notice_poster(notice_id: int):
    n = notices.get_notice(notice_id)
    data = poster_pdf(community_name(), n.title, n.body,
                      footer=notice_period(n.starts_at, n.ends_at, community_tz()))
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="notice-{n.id}.pdf"'})


@bp.get("/links/poster.pdf")
@roles_required("office")
def links_poster():
    """The poster whose QR opens the self-service page for a resident's own link."""
    url = printed_base_url() + url_for("resident.find_pass")  # PUBLIC_BASE_URL, like every QR
    body = ("请用手机扫描下方二维码，输入登记的手机号、房号和身份证号后 4 位，即可领取本人的手机通行证。\n"
            "出入时在门岗出示手机上的二维码即可，无需再填写纸质登记。")
    data = poster_pdf(community_name(), "领取手机通行证", body,
                      footer="如无法领取，请联系物业或居委会。", qr_text=url, qr_caption=url)
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": 'inline; filename="phone-pass-poster.pdf"'})


@bp.get("/links.csv")
@roles_required("office")
def links_csv():
    """Every active person pass's personal link, for SMS tools and chat groups; with
    ?since=YYYY-MM-DD only the passes issued from that day (a roster import's new cards)."""
    since = None
    if request.args.get("since"):
        since = day_bounds(parse_day(request.args["since"], community_tz()), community_tz())[0]
    rows = links.export_links(public_base_url(), lang(), since=since)
    return Response(stream_with_context(rows), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="{export_name("links", "csv")}"',
                             "Cache-Control": "no-store"})
