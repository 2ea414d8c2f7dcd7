"""Everything templates read besides a view's own arguments, registered in one place.

The domain's enums (``PassStatus``, ``PassAction``, ``Role``) are globals, so a
template names ``PassStatus.REVOKED`` instead of spelling ``'revoked'`` again,
and ``label(item)`` shows any of them in the reader's language. Globals, not a
context processor: macros imported with ``{% from ... import %}`` see globals only.
Features keep their labels beside their code (``app.health.labels``, ``app.duty.labels``) and
list them in tables; they are registered here, so every name a template may use is found from
this one module. (``csp_nonce`` is registered by ``app.security``, beside the policy it serves.)
"""
from __future__ import annotations

from datetime import datetime
import re
from functools import lru_cache
from pathlib import Path

from flask import current_app
from markupsafe import Markup

from gatepass import categories
from gatepass.categories import VehicleKind, mask_name
from gatepass.roles import Role
from gatepass.status import PAGE_ACTIONS, PassAction, PassStatus
from .auth import viewer
from .config import base_url_guessed, community_tz, printed_base_url
from .district import session as district_session
from .duty import labels as duty_labels
from .health import labels as health_labels
from .i18n import (category_label, label, lang, other_language_url, quarantine_day, reason_text,
                   shown_reason)


def localtime(dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A stored UTC time as the community's clock shows it."""
    return dt.astimezone(community_tz()).strftime(fmt) if dt else ""


_CSS_COMMENT = re.compile(r"/\*.*?\*/\s*", re.S)


@lru_cache(maxsize=8)
def _static_text(folder: str, name: str) -> Markup:
    """The file's text; a stylesheet without its comments (notes for us, bytes for a phone)."""
    text = (Path(folder) / name).read_text(encoding="utf-8")
    return Markup(_CSS_COMMENT.sub("", text) if name.endswith(".css") else text)


def inline_static(name: str) -> Markup:
    """A static file's text, for a phone page to carry inline: on a slow phone network
    (2 s a round trip) every extra request is seconds before the pass shows."""
    return _static_text(current_app.static_folder, name)


def init_app(app) -> None:
    app.jinja_env.globals.update(
        inline_static=inline_static,
        reason_text=reason_text, shown_reason=shown_reason, viewer=viewer,
        category_label=category_label, category_ink=categories.ink,
        category_colour=categories.colour, other_language_url=other_language_url,
        label=label, PassStatus=PassStatus, PassAction=PassAction, Role=Role,
        VehicleKind=VehicleKind, PAGE_ACTIONS=PAGE_ACTIONS,
        base_url_guessed=base_url_guessed, printed_base_url=printed_base_url,
        quarantine_day=quarantine_day, district_banner=district_session.banner,
        **duty_labels.TEMPLATE_GLOBALS, **health_labels.TEMPLATE_GLOBALS)
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(mask_name, "mask_name")
    for name, fn in health_labels.TEMPLATE_FILTERS.items():
        app.add_template_filter(fn, name)

    @app.context_processor
    def _page_values():
        return {"lang": lang(), "community_name": _header_name(app),
                **health_labels.page_values()}


def _header_name(app) -> str:
    """The page header's community: the one the user works in (several share a service).
    An error page rendered while the database is down still gets the configured name."""
    from sqlalchemy.exc import SQLAlchemyError
    from .extensions import db
    from .services.communities import community_name
    try:
        return community_name()
    except SQLAlchemyError:
        db.session.rollback()
        return app.config["COMMUNITY_NAME"]
