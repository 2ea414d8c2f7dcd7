"""Staff accounts (office, health, guards, admin); residents never log in.

A user's ``role`` is one of ``gatepass.roles.Role``; views name the roles they
admit through ``app.auth.roles_required``, templates ask ``current_user.may(...)``.
"""
from __future__ import annotations

import secrets

from typing import Optional

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from gatepass.roles import Role, admits
from .communities import Community, user_communities


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(60), default="")
    role: Mapped[str] = mapped_column(String(10), default=Role.OFFICE.value)
    #: The community a staff member belongs to (None for a sub-district user, role district).
    community_id: Mapped[Optional[int]] = mapped_column(ForeignKey("communities.id"), index=True)
    #: The sub-district a ``district`` user reads (its communities' ``subdistrict``).
    subdistrict: Mapped[str] = mapped_column(String(60), default="", server_default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the login cookie's id: changed on logout, so every cookie issued before
    # (a copied one too) stops working at once (Flask-Login's "alternative token").
    session_token: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16),
                                               server_default="")

    community: Mapped[Optional[Community]] = relationship(foreign_keys=[community_id])
    #: Further communities this user serves (a guard at two checkpoints, a cadre).
    also_serves: Mapped[list[Community]] = relationship(secondary=user_communities)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def may(self, *roles: str) -> bool:
        """Whether this user has one of ``roles`` (an admin may do everything)."""
        return admits(self.role, *roles)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def end_sessions(self) -> None:
        self.session_token = secrets.token_hex(16)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)
