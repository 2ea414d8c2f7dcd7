"""Everything templates read besides a view's own arguments, registered in one place.

The domain's enums (``PassStatus``, ``PassAction``, ``Role``) are globals, so a
template names ``PassStatus.REVOKED`` instead of spelling ``'revoked'`` again,
and ``label(item)`` shows any of them in the reader's language. Globals, not a
context processor: macros imported with ``{% from ... import %}`` see globals only.
(``csp_nonce`` is registered by ``app.security``, beside the policy it serves.)
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

from flask import current_app
from markupsafe import Markup

from gatepass import categories
from gatepass.categories import VehicleKind
from gatepass.roles import Role
from gatepass.status import PAGE_ACTIONS, PassAction, PassStatus
from .config import community_tz
from .i18n import category_label, label, lang, other_language_url, reason_text


def localtime(dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A stored UTC time as the community's clock shows it."""
    return dt.astimezone(community_tz()).strftime(fmt) if dt else ""


@lru_cache(maxsize=8)
def _static_text(folder: str, name: str) -> Markup:
    return Markup((Path(folder) / name).read_text(encoding="utf-8"))


def inline_static(name: str) -> Markup:
    """A static file's text, for a phone page to carry inline: on a slow phone network
    (2 s a round trip) every extra request is seconds before the pass shows."""
    return _static_text(current_app.static_folder, name)


def init_app(app) -> None:
    app.jinja_env.globals.update(
        inline_static=inline_static,
        reason_text=reason_text, category_label=category_label,
        category_colour=categories.colour, category_ink=categories.ink, other_language_url=other_language_url,
        label=label, PassStatus=PassStatus, PassAction=PassAction, Role=Role,
        VehicleKind=VehicleKind, PAGE_ACTIONS=PAGE_ACTIONS)
    app.add_template_filter(localtime, "localtime")

    @app.context_processor
    def _page_values():
        return {"lang": lang(), "community_name": app.config["COMMUNITY_NAME"]}
