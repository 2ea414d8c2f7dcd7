"""Simplified Chinese by default, English on request (?lang=en, remembered)."""
from __future__ import annotations

from flask import current_app, request, session
from flask_babel import get_locale

from .passes import categories
from .passes.verdict import REASONS


def select_locale() -> str:
    wanted = request.args.get("lang")
    if wanted in current_app.config["LANGUAGES"]:
        session["lang"] = wanted
        return wanted
    return session.get("lang") or current_app.config["BABEL_DEFAULT_LOCALE"]


def lang() -> str:
    return "en" if str(get_locale()).startswith("en") else "zh"


def reason_text(code: str) -> str:
    zh, en = REASONS.get(code, (code, code))
    return en if lang() == "en" else zh


def init_app(app) -> None:
    @app.context_processor
    def _helpers():
        return {"lang": lang(), "reason_text": reason_text,
                "category_label": lambda c: categories.label(c, lang()),
                "category_colour": categories.colour,
                "community_name": app.config["COMMUNITY_NAME"]}
