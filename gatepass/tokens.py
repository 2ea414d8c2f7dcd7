"""Signed pass tokens: what the QR code on a pass card or phone says.

A token carries only an opaque pass id and a serial number, signed with a key
from the key ring in ``keys/``. It never carries a name, phone or ID number,
so a photographed card leaks nothing but "some pass exists".

Two kinds:

* static (``GPS``) for printed cards: valid until the office revokes the pass
  or reissues it (a reissue bumps the serial, so the old card dies);
* dynamic (``GPD``) for the phone page: carries the time it was drawn and is
  accepted for a short window (60 s by default), so a screenshot forwarded to
  a chat group stops working.

Wire format (all ASCII, at most 64 characters, so the QR stays version <= 5 at
error-correction level M and decodes from across a gate)::

    GPS.<kid>.<pass id base36>.<serial base36>.<signature>
    GPD.<kid>.<pass id base36>.<serial base36>.<timestamp>.<signature>

The signature is itsdangerous' HMAC-SHA256 with a dedicated salt, truncated
to 120 bits: exactly 20 base64 characters with no spare bits, so no two
spellings of one signature exist and every changed character is caught. The key id is inside the signed part, so
swapping it breaks the signature.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from itsdangerous import BadSignature, Signer, TimestampSigner
from itsdangerous.signer import HMACAlgorithm

#: Never the Flask SECRET_KEY: a leaked session key must not mint passes.
SALT = "gatepass.pass-token.v1"
STATIC_PREFIX = "GPS"
DYNAMIC_PREFIX = "GPD"
#: Health certificates (``gatepass.certificates``) are signed tokens too, but never passes.
CERTIFICATE_PREFIX = "GHC"
MAX_TOKEN_LENGTH = 64
KID_PATTERN = re.compile(r"^[a-z0-9]{1,8}$")
_B36 = re.compile(r"^[0-9a-z]{1,12}$")
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9._-]+$")


class TokenError(Exception):
    """A token that cannot be trusted. ``code`` is a stable reason code."""

    code = "BAD_FORMAT"

    def __init__(self, detail: str = "", kid: str | None = None):
        super().__init__(detail or self.code)
        self.kid = kid


class BadFormat(TokenError):
    """Not one of our tokens at all (a payment code, a URL, noise)."""

    code = "BAD_FORMAT"


class BadTokenSignature(TokenError):
    code = "BAD_SIGNATURE"


class UnknownKey(TokenError):
    code = "UNKNOWN_KEY"


class KeyRetired(TokenError):
    code = "KEY_RETIRED"


class OtherCommunity(TokenError):
    """Signed with a key of another community of the sub-district: never accepted here.

    Judged from the key id alone (this gate holds no other community's secret), so it says
    nothing about the pass but "not ours"; a forged token naming that kid is denied too."""

    code = "OTHER_COMMUNITY"


class OnlineOnly(TokenError):
    """A sub-district-wide pass read by a gate that is offline: its key never leaves the
    server (a stolen gate laptop must not mint passes for every gate of the sub-district),
    so only the service can check it."""

    code = "ONLINE_ONLY"


class HealthCertificate(TokenError):
    """A health certificate's QR held up at a gate: say so, it is not a pass."""

    code = "HEALTH_CERTIFICATE"


_CERTIFICATE = re.compile(r"^(?:\S*/verify/)?GHC\.[A-Za-z0-9._-]{1,80}/?$")


def is_certificate(text: object) -> bool:
    """A certificate token, bare or as its ``.../verify/GHC.…`` URL."""
    return isinstance(text, str) and bool(_CERTIFICATE.match(text.strip()))


SIGNATURE_BYTES = 15  # 120 bits; a multiple of 3 so base64 has no padding bits


class _TruncatedHMAC(HMACAlgorithm):
    """HMAC-SHA256 cut to 120 bits: keeps the QR small, still unforgeable."""

    def __init__(self) -> None:
        super().__init__(hashlib.sha256)

    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return super().get_signature(key, value)[:SIGNATURE_BYTES]


class _FixedClockSigner(TimestampSigner):
    """A TimestampSigner that signs at a given time instead of "now"."""

    def __init__(self, *args, at: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._at = at

    def get_timestamp(self) -> int:
        return self._at if self._at is not None else super().get_timestamp()


def _signer_kwargs(secret: bytes) -> dict:
    return {"secret_key": secret, "salt": SALT, "sep": ".",
            "key_derivation": "hmac", "digest_method": hashlib.sha256,
            "algorithm": _TruncatedHMAC()}


def b36(n: int) -> str:
    if n < 0:
        raise ValueError("negative")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


# --------------------------------------------------------------------------
# Key ring


@dataclass(frozen=True)
class Key:
    kid: str
    secret: bytes
    created: datetime
    retired: datetime | None = None

    @property
    def active(self) -> bool:
        return self.retired is None


class KeyRing:
    """The keys a service or gate trusts, newest active key signs.

    Old keys keep verifying until retired; a retired key id is denied with
    ``KEY_RETIRED`` everywhere (a lost gate laptop means: rotate, retire).
    """

    def __init__(self, keys: list[Key] | None = None, retired_kids: set[str] | None = None,
                 foreign: dict[str, str] | None = None, online_only: set[str] | None = None):
        self._keys = {k.kid: k for k in (keys or [])}
        # Key ids known to be retired even when their file is gone (e.g. the
        # service told the gate so); a retired id is never trusted again.
        self.extra_retired = set(retired_kids or ())
        #: kid -> community code of the sub-district's other communities (public: no secret),
        #: so their passes read OTHER_COMMUNITY here instead of UNKNOWN_KEY.
        self.foreign = dict(foreign or {})
        #: kids whose secret only the service holds (sub-district-wide passes): ONLINE_ONLY.
        self.online_only = set(online_only or ())

    @classmethod
    def merged(cls, *rings: "KeyRing", foreign: dict[str, str] | None = None,
               online_only: set[str] | None = None) -> "KeyRing":
        """One ring that trusts every key of ``rings`` (a gate's community and its
        sub-district); for verifying only: which key signs is the issuing community's."""
        keys = [k for ring in rings for k in ring]
        retired = set().union(*(ring.extra_retired for ring in rings)) if rings else set()
        return cls(keys, retired, foreign, online_only)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self):
        return iter(sorted(self._keys.values(), key=lambda k: (k.created, k.kid)))

    def get(self, kid: str) -> Key | None:
        return self._keys.get(kid)

    def is_retired(self, kid: str) -> bool:
        key = self._keys.get(kid)
        return kid in self.extra_retired or (key is not None and not key.active)

    @property
    def retired_kids(self) -> set[str]:
        return {k.kid for k in self._keys.values() if not k.active} | self.extra_retired

    @property
    def current(self) -> Key:
        active = [k for k in self if k.active and k.kid not in self.extra_retired]
        if not active:
            raise UnknownKey("no active signing key: run `flask --app app keys create`")
        return active[-1]

    # -- files ------------------------------------------------------------

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "KeyRing":
        """Read every ``*.key`` file in ``directory`` (missing dir: empty ring)."""
        keys = []
        path = Path(directory)
        if path.is_dir():
            for f in sorted(path.glob("*.key")):
                data = json.loads(f.read_text(encoding="utf-8"))
                keys.append(Key(
                    kid=data["kid"], secret=bytes.fromhex(data["secret"]),
                    created=datetime.fromisoformat(data["created"]),
                    retired=datetime.fromisoformat(data["retired"]) if data.get("retired") else None,
                ))
        return cls(keys)

    @staticmethod
    def _write(directory: Path, key: Key) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # keys forge passes
        data = {"kid": key.kid, "secret": key.secret.hex(), "created": key.created.isoformat(),
                "retired": key.retired.isoformat() if key.retired else None}
        target = directory / f"{key.kid}.key"
        tmp = target.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
        os.replace(tmp, target)

    @classmethod
    def create_key(cls, directory: str | os.PathLike, kid: str | None = None,
                   now: datetime | None = None, taken: set[str] | frozenset[str] = frozenset()
                   ) -> Key:
        """Write a new random key file; the newest active key signs new passes.

        ``taken``: key ids of other rings (other communities). A kid names its community
        at every gate, so it must be unique across all of them; a chosen one that is taken
        is refused, a generated one (``k<n>``) skips it."""
        directory = Path(directory)
        existing = cls.load(directory)
        used = {k.kid for k in existing} | set(taken)
        if kid is None:
            n = len(used) + 1
            while f"k{n}" in used:
                n += 1
            kid = f"k{n}"
        if not KID_PATTERN.match(kid):
            raise ValueError("key id must be 1-8 lowercase letters or digits")
        if kid in used:
            raise ValueError(f"key {kid} exists already")
        key = Key(kid=kid, secret=secrets.token_bytes(32),
                  created=now or datetime.now(timezone.utc))
        cls._write(directory, key)
        return key

    @classmethod
    def retire_key(cls, directory: str | os.PathLike, kid: str,
                   now: datetime | None = None) -> Key:
        directory = Path(directory)
        key = cls.load(directory).get(kid)
        if key is None:
            raise ValueError(f"no key {kid} in {directory}")
        if key.retired:
            return key
        retired = Key(kid=key.kid, secret=key.secret, created=key.created,
                      retired=now or datetime.now(timezone.utc))
        cls._write(directory, retired)
        return retired


# --------------------------------------------------------------------------
# Tokens


@dataclass(frozen=True)
class Claims:
    """What a verified token says: which pass, which serial, which kind."""

    pass_id: int
    serial: int
    kid: str
    dynamic: bool
    signed_at: datetime | None = None  # dynamic tokens only


def issue_static(ring: KeyRing, pass_id: int, serial: int, key: Key | None = None) -> str:
    """A card's token; ``key``: the key a card already printed carries (default: the current)."""
    key = key or ring.current
    value = f"{STATIC_PREFIX}.{key.kid}.{b36(pass_id)}.{b36(serial)}"
    return Signer(**_signer_kwargs(key.secret)).sign(value).decode("ascii")


def issue_dynamic(ring: KeyRing, pass_id: int, serial: int, now: datetime | None = None) -> str:
    key = ring.current
    at = int((now or datetime.now(timezone.utc)).timestamp())
    value = f"{DYNAMIC_PREFIX}.{key.kid}.{b36(pass_id)}.{b36(serial)}"
    return _FixedClockSigner(**_signer_kwargs(key.secret), at=at).sign(value).decode("ascii")


def looks_like_ours(text: str) -> bool:
    """Cheap shape check: lets the scanner skip foreign QR codes in view."""
    return isinstance(text, str) and (text.startswith((STATIC_PREFIX + ".", DYNAMIC_PREFIX + "."))
                                      or is_certificate(text))


def decode(ring: KeyRing, text: object) -> Claims:
    """Check a token's shape, key and signature; raise a ``TokenError`` if bad.

    Time (staleness of dynamic tokens) is judged by the caller, who knows
    what "now" is for this scan.
    """
    if not isinstance(text, str):
        raise BadFormat("not text")
    text = text.strip()
    if is_certificate(text):
        raise HealthCertificate("a health certificate, not a pass")
    if len(text) > MAX_TOKEN_LENGTH or not _TOKEN_CHARS.match(text or "-"):
        raise BadFormat("not a pass token")
    parts = text.split(".")
    if not parts or parts[0] not in (STATIC_PREFIX, DYNAMIC_PREFIX):
        raise BadFormat("not a pass token")
    dynamic = parts[0] == DYNAMIC_PREFIX
    if len(parts) != (6 if dynamic else 5):
        raise BadFormat("wrong number of fields")
    kid, pid36, serial36 = parts[1], parts[2], parts[3]
    if not KID_PATTERN.match(kid) or not _B36.match(pid36) or not _B36.match(serial36) \
            or len(parts[-1]) != SIGNATURE_BYTES * 4 // 3:
        raise BadFormat("malformed fields")
    if ring.is_retired(kid):
        raise KeyRetired(kid=kid)
    key = ring.get(kid)
    if key is None:
        if kid in ring.foreign:
            raise OtherCommunity(kid=kid)
        if kid in ring.online_only:
            raise OnlineOnly(kid=kid)
        raise UnknownKey(kid=kid)
    signed_at = None
    try:
        if dynamic:
            signer = TimestampSigner(**_signer_kwargs(key.secret))
            _, signed_at = signer.unsign(text, return_timestamp=True)
        else:
            Signer(**_signer_kwargs(key.secret)).unsign(text)
    except BadSignature:
        raise BadTokenSignature(kid=kid) from None
    except Exception:  # e.g. a timestamp that overflows: still just a bad token
        raise BadTokenSignature(kid=kid) from None
    return Claims(pass_id=int(pid36, 36), serial=int(serial36, 36), kid=kid,
                  dynamic=dynamic, signed_at=signed_at)


__all__ = [
    "SALT", "Key", "KeyRing", "Claims", "TokenError", "BadFormat", "BadTokenSignature",
    "UnknownKey", "KeyRetired", "OtherCommunity", "OnlineOnly", "HealthCertificate",
    "is_certificate", "issue_static", "issue_dynamic", "decode", "looks_like_ours",
]
