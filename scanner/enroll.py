"""``python -m scanner enroll``: a gate laptop joins the service by the office's setup QR.

The office creates the device and shows (or prints) a one-time QR whose text is
``gatepass-enroll:<code>?server=<URL>`` (gatepass.wire). This reads it from the camera or
an image with the scanner's own decoder chain, exchanges the code at ``POST
/api/v1/enroll`` for the device token and the key ring, and stores them with the server
in the config directory (scanner/config.py). The code works once and for 10 minutes; the
service keeps only its hash. Nothing secret is printed or logged.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Optional

from gatepass.wire import ENROLL_PATH, ENROLL_SCHEME, parse_enroll_text

from . import __version__, config
from .client import ServiceClient

log = logging.getLogger("scanner.enroll")
#: How long `--source 0` looks for the setup QR before giving up.
CAMERA_SECONDS = 120.0
TIMEOUT = 15.0


class EnrollError(Exception):
    """Said to the person at the laptop, in Chinese and English."""


def _is_setup(text: str) -> bool:
    return isinstance(text, str) and text.startswith(ENROLL_SCHEME)


def read_setup_text(image: Optional[str], source: Optional[str]) -> str:
    """The setup QR's text from an image file or a camera (first found)."""
    from .chain import DecoderChain, decode_still
    from .sources import open_source, read_image

    if image:
        picture = read_image(Path(image))
        if picture is None:
            raise EnrollError(f"无法读取图片 / cannot read image: {image}")
        result = decode_still(picture, accept=_is_setup)
        if result.text is None:
            raise EnrollError("图中没有设置码 / no setup QR in the image")
        return result.text
    chain = DecoderChain(accept=_is_setup, carry_over=True).warm_up()
    src = open_source(source or "0")
    deadline = time.monotonic() + CAMERA_SECONDS
    print("请把设置码对准摄像头 / hold the setup QR up to the camera", file=sys.stderr)
    try:
        for item in src:
            if time.monotonic() > deadline:
                break
            if item is None:
                continue
            if item.text is not None:
                if _is_setup(item.text.strip()):
                    return item.text.strip()
                continue
            result = chain.decode(item.frame)
            if result.text:
                return result.text
    finally:
        src.close()
    raise EnrollError("没有找到设置码 / no setup QR seen")


def exchange(text: str, server: Optional[str]) -> tuple[str, dict]:
    """(server, reply) for the setup text; EnrollError when refused."""
    try:
        code, from_qr = parse_enroll_text(text)
    except ValueError as err:
        raise EnrollError(f"这不是门岗设置码 / not a gate setup code ({err})") from None
    server = (server or from_qr or "").rstrip("/")
    if not server.startswith(("http://", "https://")):
        raise EnrollError("设置码里没有服务器地址：请加 --server URL / no server: give --server")
    client = ServiceClient(server, None)
    reply = client.post(ENROLL_PATH, {"code": code, "scanner_version": __version__}, TIMEOUT)
    if reply.status == 0:
        raise EnrollError(f"连不上服务器 / cannot reach {server}: {reply.error}")
    message = (reply.data or {}).get("message")
    message = message if isinstance(message, str) else ""
    if reply.status == 403:
        raise EnrollError("设置码无效、已用过或已过期，请在办公室重新生成 / setup code refused "
                          f"(unknown, already used or expired): {message}")
    if reply.status != 200 or not isinstance(reply.data, dict):
        raise EnrollError(f"服务器拒绝 / refused: HTTP {reply.status} {message}")
    data = reply.data
    token = data.get("device_token")
    if not isinstance(token, str) or not token or len(token) > 512 \
            or not all(33 <= ord(c) < 127 for c in token):
        raise EnrollError("服务器的回复缺少设备令牌 / reply has no usable device token")
    return server, data


def enroll(text: str, server: Optional[str], folder: Optional[Path] = None) -> dict:
    """Exchange and store; returns what was stored, without secrets."""
    server, data = exchange(text, server)
    settings = {"server": server, "device_token": data["device_token"],
                "device_id": data.get("device_id") if isinstance(data.get("device_id"), int)
                else None,
                "gate": data.get("gate") if isinstance(data.get("gate"), str) else ""}
    try:
        where = config.save(settings, data.get("keys"), folder)
    except ValueError as err:
        raise EnrollError(f"服务器的回复不完整 / bad reply: {err}") from None
    return {"server": server, "gate": settings["gate"], "device_id": settings["device_id"],
            "device_name": data.get("device_name") if isinstance(data.get("device_name"), str)
            else "", "folder": str(where), "keys": len(data["keys"])}


def add_enroll_parser(sub) -> None:
    p = sub.add_parser("enroll", help="join the service with the office's one-time setup QR",
                       description="Read the setup QR, exchange it for this gate's token and "
                                   f"keys, store them in {config.config_dir()}.")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--image", metavar="FILE", help="a photo or screenshot of the setup QR")
    what.add_argument("--source", default=None, help="camera index (default 0)")
    p.add_argument("--server", help="service URL (default: the one in the setup QR)")
    p.set_defaults(func=cmd_enroll)


def cmd_enroll(args: argparse.Namespace) -> int:
    try:
        text = read_setup_text(args.image, args.source)
        done = enroll(text, args.server)
    except EnrollError as err:
        print(f"scanner: {err}", file=sys.stderr)
        return 1
    print(f"已加入 {done['gate'] or done['server']}（设备 {done['device_name'] or done['device_id']}，"
          f"{done['keys']} 把密钥）/ enrolled at {done['server']}; settings in {done['folder']}. "
          "Start with: python -m scanner run --source 0")
    log.info("enrolled as device %s at %s", done["device_id"], done["server"])
    return 0
