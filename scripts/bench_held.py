"""Benchmark: passes held up at the gate, read frame after frame as the gate reads them.

    .venv/bin/python scripts/bench_held.py build/held [--still]

A held set is what `scripts/make_gate_frames.py OUT --held 30` writes: a folder per pass
(`bent_003/f00.jpg` ... `f29.jpg`, one second at 30 fps, the first frame exactly the still
frame of that seed) and `truth.json` (folder -> exact text).  Each pass goes through a
fresh copy of the gate's chain (live budget, the bookmark carried from frame to frame, as
`scanner.runner` runs it) until it reads the right text.  Prints, per condition, how many
passes were read within the second, the frames and decoding time that took (median and
worst), and any wrong text.  `--still` adds `chain-still` on each pass's first frame, the
figure `python -m scanner bench` gives for the same seed.  Prints figures, asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scanner.chain import DecoderChain  # noqa: E402
from scanner.sources import read_image  # noqa: E402


def held_pass(chain: DecoderChain, folder: Path, text: str) -> tuple[int | None, float, int]:
    """(frame the right text came in or None, ms spent decoding until then, wrong reads)."""
    chain.reset()
    spent, wrong = 0.0, 0
    for k, path in enumerate(sorted(folder.glob("f*.jpg"))):
        result = chain.decode(read_image(path))
        spent += result.ms
        if result.ok and result.text == text:
            return k, spent, wrong
        wrong += bool(result.ok)
    return None, spent, wrong


def report(label: str, rows: list[tuple[int | None, float, int]], total: int) -> str:
    read = [(k, ms) for k, ms, _ in rows if k is not None]
    frames = sorted(k + 1 for k, _ in read) or [0]
    ms = sorted(ms for _, ms in read) or [0.0]
    wrong = sum(w for *_, w in rows)
    return (f"{label:<12} {len(read):>3}/{total:<3} {100 * len(read) / total:5.1f} %   "
            f"frames median {statistics.median(frames):>4.0f} worst {frames[-1]:>3}   "
            f"ms median {statistics.median(ms):>5.0f} worst {ms[-1]:>6.0f}   wrong {wrong}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", type=Path, nargs="+")
    p.add_argument("--still", action="store_true", help="also chain-still on each first frame")
    args = p.parse_args(argv)
    chain = DecoderChain(carry_over=True).warm_up()
    still = DecoderChain().warm_up() if args.still else None
    for folder in args.folders:
        truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
        by: dict[str, list] = {}
        still_by: dict[str, int] = {}
        for name, text in sorted(truth.items()):
            condition = name.rsplit("_", 1)[0]
            by.setdefault(condition, []).append(held_pass(chain, folder / name, text))
            if still is not None:
                first = still.decode_still(read_image(folder / name / "f00.jpg"))
                still_by[condition] = still_by.get(condition, 0) + (first.text == text)
        print(f"{folder} (held passes: read within the frames given)")
        for condition, rows in by.items():
            line = report(condition, rows, len(rows))
            if still is not None:
                line += f"   chain-still on f00 {still_by[condition]}/{len(rows)}"
            print("  " + line)
        every = [r for rows in by.values() for r in rows]
        print("  " + report("all", every, len(every)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
