"""Health certificates (健康证明): issue for an ended episode, render, revoke, verify.

What a certificate printed (masked name and ID number, address, dates,
issuer) is copied onto its row when issued, so the public check page shows
exactly what the paper says even after the person's record changes or the
episode's health data is purged.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app

from gatepass import certificates as tokens
from gatepass.categories import mask_name
from gatepass.quarantine import (StayAlerts, certificate_refusal, certificate_statement,
                                 stay_length)

from ..config import community_tz
from ..extensions import db
from .models import HealthCertificate, QuarantineEpisode
from .readings import HealthAlert
from ..models import User
from . import pdf as health_pdf
from ..common.errors import ServiceError, must_exist
from ..tenancy import narrowed_to_row
from .registrations import public_base


class CertificateError(ServiceError):
    """A certificate that cannot be issued or revoked as asked."""


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def token(cert: HealthCertificate) -> str:
    return tokens.issue(_secret(), cert.id)


def verify_url(cert: HealthCertificate) -> str:
    return f"{public_base()}/verify/{token(cert)}"


def current_for(ep: QuarantineEpisode) -> HealthCertificate | None:
    return db.session.scalar(db.select(HealthCertificate).where(
        HealthCertificate.episode_id == ep.id, HealthCertificate.revoked_at.is_(None)))


_REFUSALS = {
    "EPISODE_OPEN": ("隔离尚未解除，不能开具健康证明", "the quarantine has not ended: no certificate yet"),
    "NOT_RELEASED": ("该隔离未以解除结束（转集中隔离/送医/离开），不能开具健康证明",
                     "the quarantine did not end in release: no certificate"),
    "OPEN_ALERT": ("隔离期间的发热或症状提醒尚未处理，不能开具健康证明",
                   "an alert raised during the stay is still open: no certificate"),
}


def stay_alerts(ep: QuarantineEpisode) -> StayAlerts:
    """The fever/symptom alerts of the person raised during the stay (at home or at a gate)."""
    end = ep.ended_at or datetime.now(timezone.utc)
    rows = db.session.execute(db.select(HealthAlert.temperature, HealthAlert.closed_at).where(
        HealthAlert.person_id == ep.person_id, HealthAlert.opened_at >= ep.started_at,
        HealthAlert.opened_at <= end)).all()
    temps = [t for t, _closed in rows if t is not None]
    return StayAlerts(count=len(rows), highest=max(temps) if temps else None,
                      still_open=sum(1 for _t, closed in rows if closed is None))


def statement_of(ep: QuarantineEpisode) -> str:
    """What the certificate of this (ended) stay says; see docs/health.md for why a stay
    ended early is certified as exactly that rather than refused."""
    return certificate_statement(ep.started_at, ep.ended_at, ep.days, ep.outcome, ep.end_reason or "",
                                 stay_alerts(ep), community_tz(), current_app.config["FEVER_THRESHOLD"])


def issue(ep: QuarantineEpisode, user_id: int | None, now: datetime | None = None) -> HealthCertificate:
    """The episode's valid certificate, issued now if it has none.

    Only for a stay the community ended (期满解除 or 提前解除) with no alert still open.
    """
    refusal = certificate_refusal(ep.outcome, ep.is_open, stay_alerts(ep))
    if refusal:
        raise CertificateError(refusal, *_REFUSALS[refusal])
    existing = current_for(ep)
    if existing:
        return existing
    now = now or datetime.now(timezone.utc)
    person = ep.person
    issuer = db.session.get(User, user_id) if user_id else None
    cert = HealthCertificate(episode=ep, number="", holder_masked=mask_name(person.name),
                             id_card_masked=person.id_card_masked or "", address=person.address,
                             quarantine_from=ep.started_at, quarantine_to=ep.ended_at,
                             issued_at=now, issued_by=user_id, revoke_reason="",
                             statement=statement_of(ep),
                             issuer_name=(issuer.display_name or issuer.username) if issuer else
                             current_app.config["COMMUNITY_NAME"])
    db.session.add(cert)
    db.session.flush()
    cert.number = f"JK{now.astimezone(community_tz()):%Y%m%d}-{cert.id:05d}"
    return cert


def get(cert_id: int) -> HealthCertificate:
    return must_exist(db.session.get(HealthCertificate, cert_id),
                      "NO_CERTIFICATE", "没有这份健康证明", "no such certificate")


def revoke(cert: HealthCertificate, reason: str, user_id: int | None,
           now: datetime | None = None) -> HealthCertificate:
    if not cert.valid:
        raise CertificateError("REVOKED", "该证明已撤销", "the certificate is revoked already")
    if not (reason or "").strip():
        raise CertificateError("REASON_REQUIRED", "请填写撤销原因", "give a reason for revoking")
    cert.revoked_at, cert.revoked_by = now or datetime.now(timezone.utc), user_id
    cert.revoke_reason = reason.strip()[:200]
    return cert


def for_token(text: str) -> HealthCertificate | None:
    """The certificate a token names, or None when the token is forged or unknown."""
    try:
        cert_id = tokens.decode(_secret(), text)
    except tokens.BadCertificate:
        return None
    return narrowed_to_row(db.session.get(HealthCertificate, cert_id))


def days_text(cert: HealthCertificate) -> str:
    """Whole days actually spent ("不足 1 天" for a stay ended on its first day)."""
    return stay_length(cert.quarantine_from, cert.quarantine_to)


def period_text(cert: HealthCertificate) -> str:
    tz = community_tz()
    return (f"{cert.quarantine_from.astimezone(tz):%Y-%m-%d} — "
            f"{cert.quarantine_to.astimezone(tz):%Y-%m-%d}")


def pdf(cert: HealthCertificate) -> bytes:
    tz = community_tz()
    return health_pdf.certificate(health_pdf.CertificateText(
        community=current_app.config["COMMUNITY_NAME"], number=cert.number,
        holder=cert.holder_masked, id_card=cert.id_card_masked or "—", address=cert.address or "—",
        period=period_text(cert), days=days_text(cert),
        statement=cert.statement or statement_of(cert.episode),
        issued=f"{cert.issuer_name} · {cert.issued_at.astimezone(tz):%Y-%m-%d %H:%M}",
        url=verify_url(cert)))
