"""The wheel is a working service: build it, install it in a fresh virtualenv (no
checkout on the path), run ``init-db`` and render the login page from it.

Offline and quick: ``--no-deps`` and ``--no-build-isolation``, with the project
virtualenv's site-packages appended to the new one's path for the dependencies
(a plain .pth line: its editable-install hook is not run, so ``app`` comes from the wheel).
"""
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from helpers import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.other_process]


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    assert r.returncode == 0, f"{cmd}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(out), str(ROOT)])
    [whl] = out.glob("gatepass-*.whl")
    return whl


def test_the_wheel_carries_templates_static_translations_and_migrations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("app/templates/base.html", "app/templates/auth/login.html",
                   "app/static/style.css", "app/static/app.js",
                   "app/translations/en/LC_MESSAGES/messages.mo",
                   "app/migrations/env.py", "app/migrations/alembic.ini",
                   "gatepass/tokens.py", "scanner/__main__.py"):
        assert needed in names, needed
    assert any(n.startswith("app/migrations/versions/") for n in names)
    if (ROOT / "app/static/vendor/jsQR.js").exists():
        assert "app/static/vendor/jsQR.js" in names


def test_installed_wheel_runs_init_db_and_renders_the_login_page(wheel, tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    py = venv / "bin" / "python"
    purelib = Path(run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
                       ).stdout.strip())
    run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(purelib),
         str(wheel)])
    deps = sysconfig.get_paths()["purelib"]
    (purelib / "_project_deps.pth").write_text(deps + "\n")
    work = tmp_path / "elsewhere"  # not the checkout: nothing may come from it
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FLASK_APP")}
    env.update(GATEPASS_INSTANCE=str(tmp_path / "instance"),
               DATABASE_URL=f"sqlite:///{tmp_path / 'instance' / 'gp.db'}")
    where = run([str(py), "-c", "import app, gatepass; print(app.__file__, gatepass.__file__)"],
                cwd=work, env=env).stdout
    assert str(ROOT) not in where and str(purelib) in where, where
    out = run([str(py), "-m", "flask", "--app", "app", "init-db"], cwd=work, env=env).stdout
    assert "database ready" in out
    run([str(py), "-m", "flask", "--app", "app", "keys", "create"], cwd=work, env=env)
    assert list((tmp_path / "instance" / "keys").glob("*.key"))
    for private in ("gp.db", "secret_key", "keys/k1.key", "", "keys"):  # files 0600, dirs 0700
        mode = (tmp_path / "instance" / private).stat().st_mode
        assert mode & 0o077 == 0, (private, oct(mode))
    page = run([str(py), "-c", (
        "from app import create_app\n"
        "c = create_app().test_client()\n"
        "r = c.get('/login'); assert r.status_code == 200, r.status_code\n"
        "print(r.get_data(as_text=True))\n"
        "r = c.get('/login?lang=en'); print(r.get_data(as_text=True))\n"
        "r = c.get('/static/app.js'); assert r.status_code == 200\n")], cwd=work, env=env).stdout
    assert "登录" in page and "csrf_token" in page
    assert "Log in" in page  # the English catalogue was compiled into the wheel


def _requirements(lines) -> set[str]:
    return {line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()}


def test_a_gate_laptop_installs_no_web_stack_and_the_server_no_opencv():
    """`pip install .` is the service without OpenCV; requirements/scanner.txt (a gate
    laptop, with --no-deps) is the domain's core plus the [scanner] extra, and no web stack."""
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    server = _requirements(cfg["options"]["install_requires"].splitlines())
    scanner_extra = _requirements(cfg["options.extras_require"]["scanner"].splitlines())
    gate = _requirements((ROOT / "requirements" / "scanner.txt").read_text().splitlines())
    name = lambda req: req.split(">")[0].split("[")[0].split("=")[0].lower()  # noqa: E731
    assert not any(name(r).startswith("opencv") for r in server)
    core = {r for r in server if name(r) in {"itsdangerous", "qrcode", "pillow"}}
    assert gate == core | scanner_extra
    assert not {name(r) for r in gate} & {"flask", "flask-sqlalchemy", "sqlalchemy", "psycopg",
                                          "reportlab", "gunicorn"}
