"""Gate rules per holder category, as plain functions.

The office sets, per category, when its passes may pass (sanitation workers
leave for their shift 03:00-07:00), at which gates, and whether anti-passback
applies (a pass that is inside cannot enter again until it has gone out).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time, timedelta

#: A pass out longer than this is flagged on the dashboard and the "outside now" list.
OUTSIDE_TOO_LONG = timedelta(hours=12)

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class Window:
    start: time
    end: time

    def contains(self, t: time) -> bool:
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end  # over midnight, e.g. 22:00-06:00

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


class WindowError(ValueError):
    """A time window that cannot be read; ``part`` is the piece as the office typed it."""

    def __init__(self, part: str, expected: str = ", expected HH:MM-HH:MM"):
        super().__init__(f"bad time window {part!r}{expected}")
        self.part = part


def parse_windows(spec: str | None) -> tuple[Window, ...]:
    """``"03:00-07:00, 16:00-20:00"`` -> windows; empty means "any time"."""
    if not spec or not spec.strip():
        return ()
    windows = []
    for part in spec.replace("，", ",").split(","):
        if not part.strip():
            continue
        m = _WINDOW.match(part)
        if not m:
            raise WindowError(part.strip())
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
            raise WindowError(part.strip(), "")
        windows.append(Window(time(h1 % 24, m1), time(h2 % 24, m2) if h2 < 24 else time(23, 59, 59)))
    return tuple(windows)


def parse_gates(spec: str | None) -> frozenset[str]:
    if not spec:
        return frozenset()
    return frozenset(g.strip() for g in spec.replace("，", ",").split(",") if g.strip())


@dataclass(frozen=True)
class CategoryRule:
    """What the office allows one category of holders. Empty means no limit."""

    category: str
    windows: tuple[Window, ...] = ()
    gates: frozenset[str] = field(default_factory=frozenset)
    anti_passback: bool = True
    #: During an outbreak every entry needs a reading: no temperature, no entry.
    temperature_required: bool = False

    @classmethod
    def from_strings(cls, category: str, hours: str | None = "", gates: str | None = "",
                     anti_passback: bool = True,
                     temperature_required: bool = False) -> "CategoryRule":
        return cls(category, parse_windows(hours), parse_gates(gates), anti_passback,
                   temperature_required)

    def hours_text(self) -> str:
        return ", ".join(str(w) for w in self.windows)


def within_hours(rule: CategoryRule, local_time: time) -> bool:
    return not rule.windows or any(w.contains(local_time) for w in rule.windows)


def gate_allowed(rule: CategoryRule, gate: str | None) -> bool:
    return not rule.gates or (gate is not None and gate in rule.gates)


def temperature_reason(rule: CategoryRule, temperature: float | None, direction: str,
                       threshold: float) -> str | None:
    """``FEVER`` for a reading at or above ``threshold`` (either direction: the doctor must
    know), ``TEMPERATURE_REQUIRED`` for an entry without a reading where the rule asks one."""
    if temperature is not None and temperature >= threshold:
        return "FEVER"
    if temperature is None and direction == "in" and rule.temperature_required:
        return "TEMPERATURE_REQUIRED"
    return None


def passback_reason(rule: CategoryRule, inside: bool | None, direction: str) -> str | None:
    """``ALREADY_INSIDE``/``ALREADY_OUTSIDE`` when the scan repeats a direction.

    ``inside`` is None while we have never seen the pass at a gate: the first
    scan either way is believed.
    """
    if not rule.anti_passback or inside is None:
        return None
    if direction == "in" and inside:
        return "ALREADY_INSIDE"
    if direction == "out" and not inside:
        return "ALREADY_OUTSIDE"
    return None
