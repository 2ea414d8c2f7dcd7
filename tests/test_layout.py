"""The code's shape, as promises a later edit must not break silently."""
from __future__ import annotations

import subprocess
import sys

from helpers import ROOT


def test_scanner_offline_path_loads_neither_flask_nor_sqlalchemy():
    """A gate laptop verifies passes with the domain package alone."""
    code = ("import sys, scanner.offline, scanner.outbox, scanner.runner, gatepass.verdict; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('flask', 'sqlalchemy', 'flask_sqlalchemy', 'psycopg', 'reportlab', 'app')); "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "", f"the scanner's offline path imported {out}"


def test_domain_package_imports_no_web_framework():
    code = ("import sys, pkgutil, importlib, gatepass; "
            "[importlib.import_module('gatepass.' + m.name) for m in pkgutil.iter_modules(gatepass.__path__)]; "
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'app'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""
