"""The sub-district (街道) role's pages: every community's day on one page, the CSV sent upward,
the drill-down into one community's own office pages, and opening communities and their admins.

Folder: ``views`` (the blueprint's pages), ``rollup`` (one grouped query per figure over all
communities), ``counted`` (the big counts, kept and recounted every few minutes),
``export`` (the CSV), ``labels`` (columns in both languages, sorting), ``manage``
(communities and admins, audited), ``session`` (the community being looked into).
"""
from flask import Blueprint

bp = Blueprint("district", __name__, url_prefix="/district")

from . import counted, indexes, views  # noqa: E402,F401
