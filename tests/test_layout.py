"""The code's shape, as promises a later edit must not break silently."""
from __future__ import annotations

import ast
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


def _modules(*tops: str):
    """(dotted name, path, parsed tree) of every Python module under the given packages."""
    for top in tops:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts[:-1]) if rel.name == "__init__" else list(rel.parts)
            yield ".".join(parts), path, ast.parse(path.read_text(encoding="utf-8"))


def _imports(name: str, path, tree) -> set[tuple[str, str]]:
    """(module, imported name) pairs of one module, relative imports resolved: ``from .
    import x`` yields ``(pkg, x)`` and ``(pkg.x, "")``, so a module imported by name is seen."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {(alias.name, "") for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            for alias in node.names:
                found |= {(base, alias.name), (f"{base}.{alias.name}", "")}
    return found


HEALTH_MODELS = ("app.health.models", "app.health.readings")


def test_nothing_outside_health_imports_health_models():
    """Health data (PIPL-sensitive) is read by the health folder's code only; the core reaches it
    through one function, the gate's fever alert, so who touches health data stays one list."""
    offenders, core_uses = [], set()
    for name, path, tree in _modules("app", "gatepass", "scanner"):
        if name == "app.health" or name.startswith("app.health."):
            continue
        for module, imported in _imports(name, path, tree):
            if module in HEALTH_MODELS:
                offenders.append(f"{name} imports {module}")
            core = name.split(".")[1:2] in (["models"], ["services"])
            if core and module.startswith("app.health") and imported:
                core_uses.add(f"{module}.{imported}")
    assert offenders == []
    assert core_uses == {"app.health.alerts.fever_at_gate"}
