"""Links that name a row and can be reset: ``[row id, link_version]`` signed with the
secret key. Bumping the row's ``link_version`` ends every link made before (a lost phone).
Used by the personal pass link (``Pass``) and the family link (``Household``)."""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ..extensions import db
from ..tenancy import narrowed_to_row


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def token(salt: str, row) -> str:
    return _serializer(salt).dumps([row.id, row.link_version])


def row_for(salt: str, text: str, model):
    """The row behind a link, or None if forged, foreign or reset; a public page then sees
    only the row's community (``app.tenancy.narrowed_to_row``)."""
    try:
        row_id, version = _serializer(salt).loads(text)
    except (BadSignature, ValueError, TypeError):
        return None
    row = db.session.get(model, row_id) if isinstance(row_id, int) else None
    return narrowed_to_row(row) if row is not None and row.link_version == version else None
