"""The verdict on one scanned QR: allow or deny, with a stable reason code.

``verify()`` is a pure function shared by the service (authoritative, with
the database behind ``lookup``) and the gate scanner (offline, with a cached
snapshot behind ``lookup``). It never raises, whatever text a camera read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Callable, Optional
from zoneinfo import ZoneInfo

from . import rules as gate_rules
from .tokens import KeyRing, TokenError, decode
from .quarantine import FEVER_THRESHOLD
from .wire import DEFAULT_TIMEZONE, parse_time  # noqa: F401  (parse_time: re-exported)

# code -> (Chinese, English). The guard reads Chinese; codes are stable API.
REASONS: dict[str, tuple[str, str]] = {
    "OK": ("通过", "Allowed"),
    "BAD_FORMAT": ("不是本小区通行码", "Not a pass of this community"),
    "HEALTH_CERTIFICATE": ("这是健康证明，不是通行证", "This is a health certificate, not a pass"),
    "BAD_SIGNATURE": ("通行码签名无效（伪造或损坏）", "Invalid signature (forged or damaged)"),
    "UNKNOWN_KEY": ("未知密钥签发的通行码", "Signed with an unknown key"),
    "KEY_RETIRED": ("密钥已停用，请到物业换证", "Signing key retired: get a new pass at the office"),
    "OTHER_COMMUNITY": ("非本社区通行证", "Pass of another community"),
    # Offline only: the service holds the sub-district key and always judges such a pass.
    "ONLINE_ONLY": ("街道通行证须联网核验，请人工核对",
                    "Sub-district pass: verified online only, check by hand"),
    "STALE": ("动态码已过期，请刷新页面", "Phone code too old: refresh the page"),
    "NOT_YET_VALID": ("通行证尚未生效", "Pass not yet valid"),
    "EXPIRED": ("通行证已过期", "Pass expired"),
    "SUSPENDED": ("通行证已暂停", "Pass suspended"),
    "REVOKED": ("通行证已作废", "Pass revoked"),
    "SUPERSEDED": ("旧证已失效（已补办新证）", "Old card: a newer pass was issued"),
    "UNKNOWN_PASS": ("查无此通行证", "No such pass"),
    "IN_QUARANTINE": ("居家隔离期内，不得外出", "In home quarantine: may not go out"),
    "FEVER": ("体温异常，请复测并联系社区医生", "Fever: re-measure and call the community doctor"),
    "TEMPERATURE_REQUIRED": ("请先测量体温", "Temperature required: take a reading first"),
    "OUTSIDE_HOURS": ("不在允许通行时段", "Outside allowed hours"),
    "GATE_NOT_ALLOWED": ("不允许从此门通行", "Not allowed at this gate"),
    "ALREADY_INSIDE": ("已在小区内，请先出门登记", "Already inside: must exit first"),
    "ALREADY_OUTSIDE": ("已在小区外，请先进门登记", "Already outside: must enter first"),
}

DEFAULT_MAX_AGE = timedelta(seconds=60)
#: Tolerated clock difference between the server that drew a phone code and
#: the gate that reads it; more in the future than this is NOT_YET_VALID.
CLOCK_SKEW = timedelta(seconds=30)


@dataclass
class PassState:
    """What the gate must know about a pass; no personal data beyond display."""

    pass_id: int
    serial: int
    status: str = "active"  # active | suspended | revoked
    category: str = "resident"
    valid_from: Optional[datetime] = None
    valid_until: Optional[datetime] = None
    inside: Optional[bool] = None
    quarantine_until: Optional[datetime] = None
    #: May not go out (home quarantine): what a gate's offline snapshot says instead of a date.
    no_exit: bool = False
    holder: Optional[dict] = None  # masked name, building/unit, category label


@dataclass
class Verdict:
    allowed: bool
    reason: str
    message: str
    message_en: str
    pass_id: Optional[int] = None
    serial: Optional[int] = None
    dynamic: Optional[bool] = None
    holder: Optional[dict] = None
    extra: dict = field(default_factory=dict)


def verdict_for(reason: str, state: PassState | None = None, **kw) -> Verdict:
    zh, en = REASONS.get(reason, (reason, reason))
    return Verdict(allowed=reason == "OK", reason=reason, message=zh, message_en=en,
                   pass_id=state.pass_id if state else kw.pop("pass_id", None),
                   serial=state.serial if state else kw.pop("serial", None),
                   holder=state.holder if state else None, **kw)


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


@dataclass
class GateContext:
    """Where and how the scan happened."""

    gate: str | None = None
    direction: str = "in"
    local_tz: tzinfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    max_age: timedelta = DEFAULT_MAX_AGE
    rules: dict[str, gate_rules.CategoryRule] = field(default_factory=dict)
    check_passback: bool = True
    #: The reading the guard took with this scan (°C), if any.
    temperature: Optional[float] = None
    fever_threshold: float = FEVER_THRESHOLD


Lookup = Callable[[int], Optional[PassState]]


def verify(text: object, ring: KeyRing, lookup: Lookup, now: datetime,
           ctx: GateContext | None = None) -> Verdict:
    """Judge one scanned text. Never raises: any failure is a deny verdict."""
    try:
        return _verify(text, ring, lookup, _aware(now), ctx or GateContext())
    except Exception as exc:  # a bug must not crash the gate: deny and say so
        v = verdict_for("BAD_FORMAT")
        v.extra["error"] = type(exc).__name__
        return v


def _verify(text, ring, lookup, now, ctx) -> Verdict:
    try:
        claims = decode(ring, text)
    except TokenError as err:
        return verdict_for(err.code)

    ids = {"pass_id": claims.pass_id, "serial": claims.serial, "dynamic": claims.dynamic}
    if claims.dynamic:
        age = now - claims.signed_at
        if age > ctx.max_age:
            return verdict_for("STALE", **ids)
        if age < -CLOCK_SKEW:
            return verdict_for("NOT_YET_VALID", **ids)

    state = lookup(claims.pass_id)
    if state is None:
        return verdict_for("UNKNOWN_PASS", **ids)

    def deny(reason: str) -> Verdict:
        return verdict_for(reason, state, dynamic=claims.dynamic)

    if claims.serial < state.serial:
        return deny("SUPERSEDED")
    if claims.serial > state.serial:  # signed by us, but never issued: treat as forged
        return deny("BAD_SIGNATURE")
    rule = ctx.rules.get(state.category) or gate_rules.CategoryRule(state.category)
    # A fever outranks what is wrong with the pass: it is what the guard must act on now.
    if ctx.temperature is not None and ctx.temperature >= ctx.fever_threshold:
        return deny("FEVER")
    if state.status == "revoked":
        return deny("REVOKED")
    if state.status == "suspended":
        return deny("SUSPENDED")
    if state.valid_from and now < _aware(state.valid_from):
        return deny("NOT_YET_VALID")
    if state.valid_until and now >= _aware(state.valid_until):
        return deny("EXPIRED")

    if ctx.direction == "out" and (state.no_exit or (
            state.quarantine_until and now < _aware(state.quarantine_until))):
        return deny("IN_QUARANTINE")

    reason = gate_rules.temperature_reason(rule, ctx.temperature, ctx.direction,
                                           ctx.fever_threshold)
    if reason:
        return deny(reason)
    if not gate_rules.gate_allowed(rule, ctx.gate):
        return deny("GATE_NOT_ALLOWED")
    if not gate_rules.within_hours(rule, now.astimezone(ctx.local_tz).time()):
        return deny("OUTSIDE_HOURS")
    if ctx.check_passback:
        reason = gate_rules.passback_reason(rule, state.inside, ctx.direction)
        if reason:
            return deny(reason)
    return verdict_for("OK", state, dynamic=claims.dynamic)
