"""Health certificate tokens (健康证明): what the QR on a certificate says.

A certificate QR is the URL ``<base>/verify/<token>`` so any phone camera
opens the public check page. The token is ``GHC.<certificate id base36>.<signature>``:
an opaque id and an HMAC with its **own salt**, so a certificate can never be
taken for a gate pass (different prefix, different salt, different secret),
and a pass token can never be taken for a certificate. Whether the
certificate is still valid (not revoked) is decided by the service's record;
the signature only stops anyone from guessing ids.

The gate scanner shown a certificate says so (reason ``HEALTH_CERTIFICATE``):
see ``is_certificate`` and ``gatepass.tokens.decode``.
"""
from __future__ import annotations

import re

from itsdangerous import BadSignature, Signer

from .tokens import CERTIFICATE_PREFIX, _TruncatedHMAC, b36, is_certificate  # noqa: F401

SALT = "gatepass.health-certificate.v1"
_TOKEN = re.compile(r"^GHC\.([0-9a-z]{1,12})\.([A-Za-z0-9_-]{20})$")


class BadCertificate(Exception):
    """Not a certificate token of ours (forged, damaged, or not one at all)."""


def _signer(secret: bytes | str) -> Signer:
    import hashlib
    return Signer(secret, salt=SALT, sep=".", key_derivation="hmac",
                  digest_method=hashlib.sha256, algorithm=_TruncatedHMAC())


def issue(secret: bytes | str, certificate_id: int) -> str:
    return _signer(secret).sign(f"{CERTIFICATE_PREFIX}.{b36(certificate_id)}").decode("ascii")


def token_from(text: str) -> str:
    """The bare token from a bare token or a ``.../verify/<token>`` URL."""
    text = (text or "").strip()
    if "/verify/" in text:
        text = text.rsplit("/verify/", 1)[1].split("?", 1)[0].rstrip("/")
    return text


def decode(secret: bytes | str, text: str) -> int:
    """The certificate id a token (or its URL) carries; ``BadCertificate`` if not genuine."""
    token = token_from(text)
    m = _TOKEN.match(token)
    if not m:
        raise BadCertificate("not a certificate token")
    try:
        _signer(secret).unsign(token)
    except BadSignature:
        raise BadCertificate("bad signature") from None
    return int(m.group(1), 36)
