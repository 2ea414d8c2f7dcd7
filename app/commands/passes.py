"""``flask --app app passes ...``: print pass cards to PDF and prove them scannable.

Printing everything is a deliberate act (7,000 cards, a ream of card stock),
so it takes ``--all``; a day's new and reissued cards are ``--since DATE``.
"""
from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import AppGroup

from gatepass.categories import CATEGORIES
from ..extensions import db
from ..services import printing
from .scope import community_option

passes_cli = AppGroup("passes", help="Pass cards: print A4 sheets (PDF) and list passes.")


def _selection(all_, building, category, since, reprint=False) -> printing.Selection:
    sel = printing.Selection(all=all_, building=building, category=category,
                             since=since.date() if since else None, reprint=reprint)
    if sel.empty:
        raise click.UsageError("nothing selected: give --all to print every active pass, "
                               "or a filter (--building, --category, --since)")
    return sel


class _Bar:
    """A terminal progress bar opened on the first report, when the total is known."""

    def __init__(self, label: str):
        self.label, self.bar = label, None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, show_pos=True)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)


@passes_cli.command("print")
@community_option
@click.option("--all", "all_", is_flag=True, help="every active pass")
@click.option("--building", help="building name or number, e.g. 3号楼 or 3")
@click.option("--category", type=click.Choice(list(CATEGORIES)), help="holder category")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]),
              help="issued or changed (e.g. reissued) on or after this local date")
@click.option("--reprint", is_flag=True,
              help="cards printed with a key that no longer signs (after `keys rotate`)")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="OUT.pdf")
@click.option("--verify", is_flag=True,
              help="read every printed QR back at 300 dpi; exit 1 if any card fails")
def print_cmd(all_, building, category, since, reprint, out, verify):
    """A4 sheets of credit-card passes (10 a page, cut marks) for the active passes chosen."""
    sel = _selection(all_, building, category, since, reprint)
    started = time.perf_counter()
    try:
        with _Bar("printing ") as bar:
            job = printing.print_passes(sel, out, bar)
        db.session.commit()  # which key each card carries, and the audit entry
    except printing.SelectionError as err:
        raise click.ClickException(str(err))
    click.echo(f"printed {len(job.cards)} cards on {job.pages} pages to {out} in "
               f"{time.perf_counter() - started:.1f} s ({Path(out).stat().st_size / 1e6:.1f} MB,"
               f" font {job.font})")
    if verify:
        with _Bar("verifying") as bar:
            report = printing.verify_pdf(out, job.cards, bar)
        for card, got in report.failures:
            click.echo(f"FAILED {card.code} ({card.holder}): read {got or 'nothing'!r}", err=True)
        click.echo(f"verified {report.checked} cards, {len(report.failures)} failed")
        if not report.ok:
            raise SystemExit(1)


@passes_cli.command("list")
@community_option
@click.option("--all", "all_", is_flag=True, help="every active pass")
@click.option("--building", help="building name or number, e.g. 3号楼 or 3")
@click.option("--category", type=click.Choice(list(CATEGORIES)))
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--reprint", is_flag=True,
              help="cards printed with a key that no longer signs: the reprint list")
def list_cmd(all_, building, category, since, reprint):
    """The active passes a print with the same options would print, in card order."""
    try:
        passes = printing.select_passes(_selection(all_, building, category, since, reprint))
    except printing.SelectionError as err:
        raise click.ClickException(str(err))
    for p in passes:
        click.echo(f"{p.code:12} {p.category:10} {p.masked_holder:10} {p.address}")
    click.echo(f"{len(passes)} active passes")


@passes_cli.command("links")
@community_option
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="OUT.csv (UTF-8 with BOM: Excel opens it in Chinese)")
@click.option("--base-url", help="the service's public address, e.g. https://pass.example.org "
                                 "(default: config PUBLIC_BASE_URL)")
def links_cmd(out, base_url):
    """Every active person pass's personal phone link: name, phone, address, link, household link."""
    from flask import current_app
    from ..config import FALLBACK_BASE_URL, public_base_url
    from . import warn_guessed_base
    from ..services import links
    from ..common.files import open_private
    base = (base_url or public_base_url()).rstrip("/")
    if not base:
        server = current_app.config.get("SERVER_NAME")
        base = f"http://{server}" if server else FALLBACK_BASE_URL
        warn_guessed_base(base, "every link")
    if not base.startswith(("http://", "https://")):
        raise click.UsageError("--base-url must start with http:// or https://")
    n = 0
    with current_app.test_request_context("/"), \
            open_private(out, "w", encoding="utf-8", newline="") as fh:
        for piece in links.export_links(base, target=out):
            fh.write(piece)
            n += piece.count("\n")
    click.echo(f"{max(n - 1, 0)} links written to {out}")
