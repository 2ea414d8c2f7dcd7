"""``flask --app app devices``: gate devices (scanner laptops) and their API tokens."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from ..extensions import db


devices_cli = AppGroup("devices", help="Gate devices (scanner laptops) and their API tokens.")

@devices_cli.command("create")
@click.option("--gate", required=True, help="gate name, e.g. 东门 (created if new)")
@click.option("--name", help="device name (default GATE-N)")
def devices_create(gate, name):
    """Create a gate device; its API token is printed once, on the last line."""
    from ..services.devices import create_device
    device, token = create_device(gate, name)
    db.session.commit()
    click.echo(f"device {device.id} '{device.name}' at gate {gate}; its token (shown once):")
    click.echo(token)


@devices_cli.command("list")
def devices_list():
    from ..models import GateDevice
    for d in db.session.scalars(db.select(GateDevice).order_by(GateDevice.id)):
        click.echo(f"{d.id:4} {d.gate.name:6} {d.name:16} {'active' if d.active else 'disabled'}"
                   f"  last seen {d.last_seen_at or '-'}")


@devices_cli.command("disable")
@click.argument("device_id", type=int)
def devices_disable(device_id):
    """Refuse a device's token (a laptop was lost)."""
    from ..models import GateDevice
    d = db.session.get(GateDevice, device_id)
    if d is None:
        raise click.ClickException(f"no device {device_id}")
    d.active = False
    db.session.commit()
    click.echo(f"device {device_id} disabled")
