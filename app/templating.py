"""Everything templates read besides a view's own arguments, registered in one place.

The domain's enums (``PassStatus``, ``PassAction``, ``Role``) are globals, so a
template names ``PassStatus.REVOKED`` instead of spelling ``'revoked'`` again,
and ``label(item)`` shows any of them in the reader's language. Globals, not a
context processor: macros imported with ``{% from ... import %}`` see globals only.
(``csp_nonce`` is registered by ``app.security``, beside the policy it serves.)
"""
from __future__ import annotations

from datetime import datetime

from gatepass import categories
from gatepass.categories import VehicleKind
from gatepass.roles import Role
from gatepass.status import PAGE_ACTIONS, PassAction, PassStatus
from .auth import viewer
from .config import base_url_guessed, community_tz, printed_base_url
from .i18n import (category_label, label, lang, other_language_url, quarantine_day, reason_text,
                   shown_reason)


def localtime(dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A stored UTC time as the community's clock shows it."""
    return dt.astimezone(community_tz()).strftime(fmt) if dt else ""


def init_app(app) -> None:
    app.jinja_env.globals.update(
        reason_text=reason_text, shown_reason=shown_reason, viewer=viewer,
        category_label=category_label,
        category_colour=categories.colour, other_language_url=other_language_url,
        label=label, PassStatus=PassStatus, PassAction=PassAction, Role=Role,
        VehicleKind=VehicleKind, PAGE_ACTIONS=PAGE_ACTIONS,
        base_url_guessed=base_url_guessed, printed_base_url=printed_base_url,
        quarantine_day=quarantine_day)
    app.add_template_filter(localtime, "localtime")

    @app.context_processor
    def _page_values():
        return {"lang": lang(), "community_name": app.config["COMMUNITY_NAME"]}
