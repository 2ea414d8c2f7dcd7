"""Simplified Chinese by default, English on request (?lang=en, remembered)."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, request, session
from flask_babel import get_locale, gettext as _

from gatepass import categories
from .auth import viewer


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
    """A reason in the reader's language, as the reader's role may see it: a health reason
    reads "请联系社区" to anyone but health staff (``gatepass.disclosure``)."""
    return viewer().reason_text(code, lang())


def shown_reason(code: str) -> str:
    """The reason code the reader's role may see (for titles and data attributes)."""
    return viewer().reason(code)


def category_label(code: str) -> str:
    return categories.label(code, lang())


def label(item) -> str:
    """The reader's-language label of anything with ``label``/``label_en`` (the domain's enums)."""
    return item.label_en if lang() == "en" else item.label


def done_label(action) -> str:
    """What a pass action did, in the reader's language (for the message after it)."""
    return action.done_label_en if lang() == "en" else action.done_label


def quarantine_day(day: int, days: int, short: bool = False) -> str:
    """Where a stay is, in the one wording staff and resident pages share: "第 3 天 / 共 14 天",
    and past its planned length "已满 14 天，等待社区解除" (never "第 16 天 / 共 14 天": the
    stay is over-long because nobody has ended it yet). ``short`` for table cells."""
    if day > days:
        return _("已满 %(m)s 天，待解除", m=days) if short else \
            _("已满 %(m)s 天，等待社区解除", m=days)
    return _("%(n)s / %(m)s 天", n=day, m=days) if short else \
        _("第 %(n)s 天 / 共 %(m)s 天", n=day, m=days)
