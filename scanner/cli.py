"""Command line of the gate scanner: `python -m scanner COMMAND ...`.

Each command is one `add_*` function registering its sub-parser and one `cmd_*` function
running it; to add a command, write both and append the `add_*` to COMMANDS.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

def _expand(paths: list[str]) -> list[str]:
    """Files as given; a folder stands for the images in it, in name order."""
    from .sources import IMAGE_SUFFIXES

    out = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out += [str(f) for f in sorted(path.iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
        else:
            out.append(p)
    return out


def decode_file(path: str) -> dict:
    """One file through the live chain -> the JSON record `decode --json` prints."""
    from .sources import read_image
    from .chain import decode_still

    record: dict = {"file": path, "text": None, "ms": 0.0}
    p = Path(path)
    if not p.exists():
        record["error"] = "no such file"
        return record
    if p.is_dir():
        record["error"] = "is a directory"
        return record
    image = read_image(p)
    if image is None:
        record["error"] = "not a readable image"
        return record
    try:
        result = decode_still(image)
    except Exception as exc:  # noqa: BLE001 - one bad file must not end the batch
        record["error"] = f"decode failed: {exc}"
        return record
    record["ms"] = round(result.ms, 2)
    if result.text is not None:
        record["text"] = result.text
        record["step"] = result.step_name
        record["points"] = [[round(float(x), 1), round(float(y), 1)] for x, y in result.points]
    return record


def add_decode(sub) -> None:
    p = sub.add_parser("decode", help="decode QR passes in image files",
                       description="Decode each image with the same chain as live scanning.")
    p.add_argument("files", nargs="+", metavar="FILE", help="image files (or folders of them)")
    p.add_argument("--json", action="store_true",
                   help='one JSON line per file: {"file", "text" or null, "ms", ...}')
    p.set_defaults(func=cmd_decode)


def cmd_decode(args) -> int:
    """Prints one line per file; always exits 0 so a bad file never hides the others."""
    for path in _expand(args.files):
        rec = decode_file(path)
        if args.json:
            line = json.dumps(rec, ensure_ascii=False)
        elif "error" in rec:
            line = f"{path}: error: {rec['error']}"
        elif rec["text"] is None:
            line = f"{path}: no code found ({rec['ms']:.1f} ms)"
        else:
            line = f"{path}: {rec['text']!r} ({rec['ms']:.1f} ms, {rec['step']})"
        print(line, flush=True)
    return 0


def add_bench(sub) -> None:
    from .chain import DEFAULT_BUDGET_MS

    p = sub.add_parser("bench", help="compare the decoders and the chain on labelled frames",
                       description="Each DIR holds images and truth.json (file -> exact text).")
    p.add_argument("dirs", nargs="+", metavar="DIR")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--budget-ms", type=float, default=DEFAULT_BUDGET_MS,
                   help="per-frame budget of the chain (default %(default)s; 0 = none)")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args) -> int:
    from . import bench

    return bench.main(args.dirs, as_json=args.json, budget_ms=args.budget_ms or None)


def add_run(sub) -> None:
    from .runner import add_run_parser  # the live gate scanner, scanner/runner.py
    add_run_parser(sub)


def add_enroll(sub) -> None:
    from .enroll import add_enroll_parser  # scanner/enroll.py
    add_enroll_parser(sub)


def add_outbox(sub) -> None:
    from .runner import default_outbox

    p = sub.add_parser("outbox", help="look at undelivered scans and events; requeue rejected",
                       description="`list`: rows per kind and state. `requeue`: rejected rows "
                                   "back to pending, delivered at the next run.")
    p.add_argument("action", choices=("list", "requeue"))
    p.add_argument("--outbox", type=Path, default=default_outbox(),
                   help="the run's --outbox file (default: %(default)s)")
    p.set_defaults(func=cmd_outbox)


def cmd_outbox(args) -> int:
    from .outbox import Outbox

    if not Path(args.outbox).exists():
        print(f"scanner: no outbox at {args.outbox}", file=sys.stderr)
        return 1
    box = Outbox(args.outbox)
    try:
        if args.action == "requeue":
            print(f"requeued {box.requeue_rejected()} rejected row(s)")
        counts = box.counts_by_kind()
        for kind in sorted({k for k, _ in counts}):
            parts = [f"{state} {counts.get((kind, state), 0)}"
                     for state in ("pending", "rejected", "delivered")]
            print(f"{kind}: " + ", ".join(parts))
        for row in box.rows("rejected")[:20]:
            print(f"  rejected {row.kind} {row.nonce}: {row.last_error}")
    finally:
        box.close()
    return 0


def add_voice(sub) -> None:
    p = sub.add_parser("voice", help="make the spoken verdicts (espeak-ng, offline)",
                       description="Make one clip per reason code and prompt in the voice "
                                   "cache (run once at install: `make voice`); `run --voice` "
                                   "plays them.")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for the clips (default: the scanner's voice cache)")
    p.set_defaults(func=cmd_voice)


def cmd_voice(args) -> int:
    from . import voice

    made = voice.render_all(args.out)
    missing = sorted(set(voice.phrases()) - set(made))
    for name, path in made.items():
        print(f"{name}\t{path}")
    if missing:
        print("scanner: no clips for " + ", ".join(missing) + " (is espeak-ng installed?)",
              file=sys.stderr)
        return 1
    return 0


COMMANDS = [add_decode, add_bench, add_run, add_enroll, add_outbox, add_voice]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scanner",
                                     description="Gate scanner for gatepass QR passes.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from gatepass.logs import configure

    # One line per record on stderr (stdout carries the JSON lines); device tokens, setup
    # codes and pass tokens are never logged.
    configure(os.environ.get("GATEPASS_SCANNER_LOG", "INFO"))
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except BrokenPipeError:  # `... | head` closed the pipe: not an error
        sys.stderr.close()
        return 0
