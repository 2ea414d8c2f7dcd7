"""``flask --app app devices``: gate devices (scanner laptops) and their API tokens."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from ..extensions import db
from .scope import community_option


devices_cli = AppGroup("devices", help="Gate devices (scanner laptops) and their API tokens.")

@devices_cli.command("create")
@community_option
@click.option("--gate", required=True, help="gate name, e.g. 东门 (created if new)")
@click.option("--name", help="device name (default GATE-N)")
def devices_create(gate, name):
    """Create a gate device; its API token is printed once, on the last line."""
    from ..services.devices import create_device
    device, token = create_device(gate, name)
    db.session.commit()
    click.echo(f"device {device.id} '{device.name}' at gate {gate}; its token (shown once):")
    click.echo(token)


@devices_cli.command("enroll")
@community_option
@click.option("--gate", required=True, help="gate name, e.g. 东门 (created if new)")
@click.option("--name", help="device name (default GATE-N)")
@click.option("--device", "device_id", type=int, help="a new setup QR for this existing device")
@click.option("--server", help="the URL gates reach the service at "
                                "(default PUBLIC_BASE_URL, else http://127.0.0.1:5000)")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="setup.png: the one-time setup QR (valid 10 minutes, single use)")
def devices_enroll(gate, name, device_id, server, out):
    """Create a gate device and write its one-time setup QR (the one the devices page shows).

    On the gate laptop: python -m scanner enroll --image setup.png (or show it to the camera).
    """

    from gatepass import qrimage
    from ..config import printed_base_url
    from ..services import devices
    from . import warn_guessed_base
    from ..common.files import write_private

    if not server:
        server = printed_base_url()
        warn_guessed_base(server, "the setup QR")
    server = server.rstrip("/")
    if device_id:
        device = _device(device_id)
        text, expires = devices.new_enrolment(device, server)
    else:
        device, text, expires = devices.enrol_new_device(gate, server, name)
    db.session.commit()
    write_private(out, qrimage.png(text, 8))  # the code yields a device token and the keys
    click.echo(f"device {device.id} '{device.name}' at gate {device.gate.name}: setup QR in {out}, "
               f"valid until {expires.isoformat(timespec='seconds')}, once")


def _device(device_id: int):
    from ..models import GateDevice
    d = db.session.get(GateDevice, device_id)
    if d is None:
        raise click.ClickException(f"no device {device_id}")
    return d


@devices_cli.command("list")
def devices_list():
    from ..models import GateDevice
    for d in db.session.scalars(db.select(GateDevice).order_by(GateDevice.id)):
        click.echo(f"{d.id:4} {d.gate.name:6} {d.name:16} {'active' if d.active else 'disabled'}"
                   f"  last seen {d.last_seen_at or '-'}  scanner {d.scanner_version or '-'}"
                   f"  waiting {'-' if d.outbox_waiting is None else d.outbox_waiting}")


@devices_cli.command("disable")
@click.argument("device_id", type=int)
def devices_disable(device_id):
    """Refuse a device's token (a laptop was lost)."""
    from ..services import devices
    devices.disable(_device(device_id))
    db.session.commit()
    click.echo(f"device {device_id} disabled")


@devices_cli.command("rotate-token")
@click.argument("device_id", type=int)
def devices_rotate(device_id):
    """A new API token for a device (the old one stops at once); printed once, last line."""
    from ..services import devices
    token = devices.rotate_token(_device(device_id))
    db.session.commit()
    click.echo(f"device {device_id}: new token (shown once; the old one no longer works):")
    click.echo(token)
