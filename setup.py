"""Build glue that setup.cfg cannot say: the wheel carries templates/ and migrations/ inside
the ``app`` package, and English translations compiled (.po -> .mo) at build time.

Everything else (metadata, dependencies, extras) is in setup.cfg.
"""
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).parent


class BuildWithCatalogs(build_py):
    def run(self):
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in (ROOT / "app" / "translations").glob("*/LC_MESSAGES/messages.po"):
            with po.open("rb") as fh:
                catalog = read_po(fh)
            with po.with_suffix(".mo").open("wb") as fh:
                write_mo(fh, catalog)
        super().run()


setup(
    cmdclass={"build_py": BuildWithCatalogs},
    packages=find_packages(include=["gatepass", "gatepass.*", "app", "app.*", "scanner",
                                    "scanner.*"]) + ["app.templates", "app.migrations"],
    package_dir={"app.templates": "templates", "app.migrations": "migrations"},
)
