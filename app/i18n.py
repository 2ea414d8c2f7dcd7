"""Simplified Chinese by default, English on request (?lang=en, remembered)."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, request, session
from flask_babel import get_locale

from gatepass import categories
from gatepass.verdict import REASONS


def select_locale() -> str:
    wanted = request.args.get("lang")
    if wanted in current_app.config["LANGUAGES"]:
        session["lang"] = wanted
        return wanted
    return session.get("lang") or current_app.config["BABEL_DEFAULT_LOCALE"]


def lang() -> str:
    return "en" if str(get_locale()).startswith("en") else "zh"


def other_language_url() -> str:
    """This page in the other language, keeping its filters (a scan log search, a page)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    args.append(("lang", "zh" if lang() == "en" else "en"))
    return f"{request.path}?{urlencode(args)}"


def reason_text(code: str) -> str:
    zh, en = REASONS.get(code, (code, code))
    return en if lang() == "en" else zh


def category_label(code: str) -> str:
    return categories.label(code, lang())


def init_app(app) -> None:
    # Globals, not a context processor: imported macros see globals only.
    app.jinja_env.globals.update(reason_text=reason_text, category_label=category_label,
                                 category_colour=categories.colour,
                                 other_language_url=other_language_url)

    @app.context_processor
    def _page_values():
        return {"lang": lang(), "community_name": app.config["COMMUNITY_NAME"]}
