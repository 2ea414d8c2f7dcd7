"""Gate rules as plain functions: hour windows (also over midnight), gates, temperature."""
from __future__ import annotations

from datetime import time

import pytest

from gatepass.rules import (CategoryRule, gate_allowed, parse_windows, passback_reason,
                            temperature_reason, within_hours)


@pytest.mark.parametrize("spec,at,inside", [
    ("03:00-07:00", time(3, 0), True), ("03:00-07:00", time(6, 59), True),
    ("03:00-07:00", time(7, 0), False), ("03:00-07:00", time(2, 59), False),
    ("22:00-06:00", time(23, 30), True), ("22:00-06:00", time(0, 0), True),
    ("22:00-06:00", time(5, 59), True), ("22:00-06:00", time(6, 0), False),
    ("22:00-06:00", time(12, 0), False), ("03:00-07:00，16:00-20:00", time(17, 0), True),
    ("", time(12, 0), True), ("08:00-24:00", time(23, 59, 30), True),
])
def test_hour_windows(spec, at, inside):
    assert within_hours(CategoryRule.from_strings("sanitation", spec), at) is inside


@pytest.mark.parametrize("bad", ["3-7", "25:00-07:00", "03:60-07:00", "03:00 07:00"])
def test_bad_windows_are_refused(bad):
    with pytest.raises(ValueError):
        parse_windows(bad)


def test_gates_and_passback():
    rule = CategoryRule.from_strings("courier", "", "东门, 北门")
    assert gate_allowed(rule, "东门") and not gate_allowed(rule, "西门") and not gate_allowed(rule, None)
    assert passback_reason(rule, True, "in") == "ALREADY_INSIDE"
    assert passback_reason(rule, False, "out") == "ALREADY_OUTSIDE"
    assert passback_reason(rule, None, "in") is None
    assert passback_reason(CategoryRule("x", anti_passback=False), True, "in") is None


def test_temperature_rule():
    plain, outbreak = CategoryRule("resident"), CategoryRule("resident", temperature_required=True)
    assert temperature_reason(plain, 37.3, "in", 37.3) == "FEVER"
    assert temperature_reason(plain, 38.0, "out", 37.3) == "FEVER"
    assert temperature_reason(plain, 37.2, "in", 37.3) is None
    assert temperature_reason(plain, None, "in", 37.3) is None
    assert temperature_reason(outbreak, None, "in", 37.3) == "TEMPERATURE_REQUIRED"
    assert temperature_reason(outbreak, None, "out", 37.3) is None
    assert temperature_reason(outbreak, 36.5, "in", 37.3) is None
