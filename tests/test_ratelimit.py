"""Limit settings ("10 per 5 minutes") as every throttle reads them."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.common.ratelimit import parse_limit


@pytest.mark.parametrize("spec,expected", [
    ("10 per 5 minutes", (10, timedelta(minutes=5))), ("20 per minute", (20, timedelta(minutes=1))),
    ("3/hour", (3, timedelta(hours=1))), ("10000 per minute", (10000, timedelta(minutes=1)))])
def test_limit_settings_read_like_their_defaults(spec, expected):
    assert parse_limit(spec) == expected


@pytest.mark.parametrize("bad", ["", "ten per minute", "10 per fortnight", "10"])
def test_a_limit_setting_that_cannot_be_read_is_refused(bad):
    with pytest.raises(ValueError):
        parse_limit(bad)
