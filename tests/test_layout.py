"""The code's shape, as promises a later edit must not break silently."""
from __future__ import annotations

import ast
import re
import subprocess
import sys

import pytest

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


def _readme_tree() -> set[str]:
    """Directories the README's architecture map names, as paths ("app/health/views"): read
    from the indented tree, two spaces a level, a directory being a word ending in "/"."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    named, stack = set(), []
    for line in section.splitlines():
        if not line.startswith("    ") or not line.strip():
            continue
        body = line[4:]
        level = (len(body) - len(body.lstrip(" "))) // 2
        word = body.strip().split()[0]
        if word.endswith("/"):
            stack[level:] = [word.rstrip("/")]
            named.add("/".join(stack))
    return named


def test_every_package_is_named_in_the_readme_map():
    """A package added without a line in the map is how the map stopped being true before."""
    packages = {str(p.parent.relative_to(ROOT)) for top in ("app", "gatepass", "scanner")
                for p in (ROOT / top).rglob("__init__.py")}
    assert packages - _readme_tree() == set()


CITED = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.md)\b")


def _sources(top: str):
    for path in sorted((ROOT / top).rglob("*.py")):
        yield path.relative_to(ROOT), path.read_text(encoding="utf-8")




@pytest.mark.parametrize("top", ["app", "gatepass", "scanner"])
def test_code_cites_only_files_that_exist(top):
    """Markdown files cited in code (docstrings, comments) exist: a path from the repository's
    root, or a file name under docs/."""
    missing = [f"{path} cites {cited}" for path, src in _sources(top)
               for cited in CITED.findall(src)
               if not ((ROOT / cited).exists() or (ROOT / "docs" / cited).exists())]
    assert missing == []


@pytest.mark.parametrize("top", ["app", "gatepass", "scanner"])
def test_no_module_over_450_lines_or_function_over_70(top):
    """The limits we keep, so a module stays readable in one sitting."""
    oversized = []
    for path, src in _sources(top):
        if src.count("\n") > 450:
            oversized.append(f"{path}: {src.count(chr(10))} lines")
        oversized += [f"{path}:{node.lineno} {node.name}" for node in ast.walk(ast.parse(src))
                      if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.end_lineno - node.lineno + 1 > 70]
    assert oversized == []


def test_template_globals_and_filters_are_registered_in_one_module():
    """A template's every name is found from app/templating.py (and csp_nonce beside the CSP
    in app/security.py), not from whichever blueprint happened to register it."""
    registering = re.compile(r"template_global|template_filter|context_processor|jinja_env")
    found = sorted(str(path) for path, src in _sources("app") if registering.search(src))
    assert found == ["app/security.py", "app/templating.py"]


def test_office_actions_are_audited_by_services_only():
    """``record_action`` is called where the action is done (a service), so a page and a command
    doing the same thing cannot record it differently, or twice, or not at all."""
    views_and_cli = [str(path) for path, src in _sources("app") if "record_action" in src
                     and (path.parts[1] in ("office", "api", "resident", "public", "commands")
                          or "views" in path.parts or path.name == "cli.py")]
    assert views_and_cli == []
