"""What the guard types: single keys in the window, and whole lines from a hand scanner or
stdin, read by one grammar into action tuples the runner carries out.

``("direction", "in"|"out")``, ``("toggle",)``, ``("quit",)``, ``("temperature", 36.5)``,
``("text", scanned)``, ``("event", kind, fields, note)``, ``("sign_on", pin)``,
``("sign_off", note)``, ``("invalid", typed)``. The table for guards is in
docs/scanner.md ("For guards: keys").
"""
from __future__ import annotations

import re
from typing import Optional

from gatepass.wire import TEMPERATURE_MAX, TEMPERATURE_MIN

from .logbook import INCIDENT_KEYS, TURN_AWAY_KEYS

MAX_TOKEN = 4096  # what the service accepts as a scanned text

#: Whole lines the guard (or a hand scanner, or a test on stdin) can type; anything else
#: of 4+ characters that is not only digits is a scanned text.
LINE_COMMANDS = (
    ("direction", re.compile(r"([io])")),
    ("temperature", re.compile(r"(\d{2,3}(?:\.\d)?)")),
    ("turn_away", re.compile(r"t([1-5])(?:\s+(.*))?", re.S)),
    ("incident", re.compile(r"x([1-4])(?:\s+(.*))?", re.S)),
    ("courier", re.compile(r"c(\d{0,3})(?:\s+(.*))?", re.S)),
    ("sign_on", re.compile(r"g(\d{4,8})")),
    ("sign_off", re.compile(r"s(?:\s+(.*))?", re.S)),
)
#: Key modes: the first key, what the screen prompts for while the line is being typed.
MODES = {"t": "turn_away", "x": "incident", "c": "courier", "g": "sign_on", "s": "sign_off"}


def parse_temperature(text: str) -> Optional[float]:
    """``365`` or ``36.5`` -> 36.5, ``37`` -> 37.0; None outside what a thermometer reads
    (gatepass.wire.TEMPERATURE_MIN/MAX), so a slip of the finger is never sent."""
    if not re.fullmatch(r"\d{2,3}(\.\d)?", text):
        return None
    value = float(text) if "." in text or len(text) == 2 else int(text) / 10
    return value if TEMPERATURE_MIN <= value <= TEMPERATURE_MAX else None


def parse_line(text: str) -> Optional[tuple]:
    """One finished line (Enter) -> an action tuple, or None for a blank line."""
    text = text.strip()
    if not text:
        return None
    for name, pattern in LINE_COMMANDS:
        m = pattern.fullmatch(text)
        if not m:
            continue
        if name == "direction":
            return ("direction", "in" if m.group(1) == "i" else "out")
        if name == "temperature":
            value = parse_temperature(text)
            return ("temperature", value) if value is not None else ("invalid", text)
        if name == "turn_away":
            return ("event", "turn_away", {"reason": TURN_AWAY_KEYS[m.group(1)]},
                    m.group(2) or "")
        if name == "incident":
            return ("event", "incident", {"type": INCIDENT_KEYS[m.group(1)]}, m.group(2) or "")
        if name == "courier":
            fields = {"parcels": int(m.group(1))} if m.group(1) else {}
            return ("event", "courier", fields, m.group(2) or "")
        if name == "sign_on":
            return ("sign_on", m.group(1))
        if name == "sign_off":
            return ("sign_off", (m.group(1) or "").strip())
    if text.isdigit() or len(text) < 4:
        return ("invalid", text)
    return ("text", text)


class KeyInput:
    """The guard's keys, and a keyboard-wedge scanner typing into the window.

    With nothing typed yet, i/o/Tab switch direction and q/Esc quit; ``t`` or ``x`` then
    a digit records a turn-away or an incident at once; other keys start a line that
    Enter finishes and ``parse_line`` reads: digits are a temperature (``365``), ``c3`` a
    courier with 3 parcels, ``g1234`` a guard's PIN, ``s note`` the sign-off, anything
    longer a scanned text (a wedge types ``GPS.…`` then Enter; its capitals never clash
    with the lower-case keys).
    """

    def __init__(self):
        self.buffer = ""

    @property
    def mode(self) -> Optional[str]:
        """What the line being typed is for (see MODES), for the screen's prompt: a mode key
        followed by digits or a space; ``cxyz…`` is a wedge typing a text, not a courier."""
        first, rest = self.buffer[:1], self.buffer[1:]
        if first not in MODES or (rest and not (rest.isdigit() or rest[0] == " ")):
            return None
        return MODES[first]

    def shown(self) -> str:
        """The buffer as the screen may show it: a PIN's digits are masked."""
        if self.mode == "sign_on":
            return "g " + "●" * (len(self.buffer) - 1)
        return self.buffer

    def feed(self, key) -> Optional[tuple]:
        """A key code from OpenCV (int) or a character (str)."""
        if key is None:
            return None
        if isinstance(key, int):
            if key < 0:
                return None
            key &= 0xFFFF
            ch = chr(key) if key in (8, 9, 10, 13, 27, 127) or 32 <= key < 256 else ""
        else:
            ch = key
        if not ch:
            return None
        if ch in "\r\n":
            text, self.buffer = self.buffer, ""
            return parse_line(text)
        if ch == "\x1b":
            if self.buffer:
                self.buffer = ""
                return None
            return ("quit",)
        if ch in "\x08\x7f":
            self.buffer = self.buffer[:-1]
            return None
        if ch == "\t":
            return None if self.buffer else ("toggle",)
        if not ch.isprintable():
            return None
        if not self.buffer:
            if ch in "iI":
                return ("direction", "in")
            if ch in "oO":
                return ("direction", "out")
            if ch in "qQ":
                return ("quit",)
        if len(self.buffer) < MAX_TOKEN:
            self.buffer += ch
        if len(self.buffer) == 2 and self.buffer[0] in "tx" and self.buffer[1].isdigit():
            action = parse_line(self.buffer)  # one key picks the reason: no Enter needed
            if action and action[0] == "event":
                self.buffer = ""
                return action
        return None
