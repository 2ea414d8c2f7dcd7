#!/usr/bin/env python3
"""Whether a blurred or shaken frame's module values are still there: a bound for `combo`.

A `combo` frame stacks two or three of blur, shake, a small code, dim light, JPEG, moire,
glare, tilt and a turn.  When the chain misses one, is it the chain, or is the code gone?
This re-renders a generated set (the same seed and options as
scripts/make_gate_frames.py, so the same frames) and reads each frame of the chosen
conditions the way no decoder can: on the generator's own module grid (`quad`), after
undoing the generator's own blur (its Gaussian and its shake as one transfer, Wiener at
four noise ratios, the best kept).  Each module is the mean of 9 samples around its
centre, against the mean of the 9 x 9 modules around it.  Per block it counts the wrong
codewords (`errors-ok`: an errors-only decoder corrects them) and the best any erasure
set could do (`erasures-ok`: the k least sure codewords erased, twice the wrong ones
left, within the block's check codewords).  `BEYOND`: neither, on the worst block.

The bound is a pessimistic one: sampling module centres throws away what the blur spread
around them, and the chain's own module values (`scanner.equalise`) do better on some
frames.  Frames the chain reads that it calls `BEYOND` show by how much.

    python scripts/combo_bound.py --seed 8 --per-condition 25 [--only combo]

Measuring a held-out seed this way tunes nothing: it only says how far it can go.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]
import make_gate_frames as gen  # noqa: E402 - a sibling script
from glare_bound import at_modules  # noqa: E402 - the same sampling of the true grid
from scanner.deblur import Deconvolver, focus_transfer, shake_transfer  # noqa: E402
from scanner.qrsoft import data_positions, read_format, split_blocks  # noqa: E402

#: Wiener noise-to-signal ratios tried; the best read is kept.
NSRS = (0.003, 0.01, 0.03, 0.1)
#: Pixels around the code kept for the deconvolution (the blur's reach and more).
MARGIN = 40


def sampled(gray: np.ndarray, quad: np.ndarray, n: int) -> np.ndarray:
    """n x n: how much darker each module is than the modules around it (> 0: dark)."""
    near = (-0.15, 0.0, 0.15)
    vals = sum(at_modules(gray, quad, n, dx, dy) for dy in near for dx in near) / 9
    return cv2.blur(vals, (9, 9), borderType=cv2.BORDER_REFLECT) - vals


def worst_block(m: np.ndarray, soft: np.ndarray) -> tuple[float, float]:
    """(errors-only, best erasures) on the worst block, as shares of its check codewords."""
    n = m.shape[0]
    ec_bits, _ = read_format(np.where(m, 1.0, -1.0))
    rows, cols = data_positions(n)
    count = len(rows) // 8
    wrong = ((soft > 0) != m)[rows, cols][:count * 8].reshape(count, 8).any(1)
    sure = np.abs(soft)[rows, cols][:count * 8].reshape(count, 8).min(1)
    errors, erasures = 0.0, 0.0
    for idx, data in split_blocks((n - 17) // 4, ec_bits, count):
        ec = len(idx) - data
        w = wrong[idx][np.argsort(sure[idx])]  # least sure first
        best = min(k + 2 * int(w[k:].sum()) for k in range(len(idx) + 1))
        errors, erasures = max(errors, 2 * int(w.sum()) / ec), max(erasures, best / ec)
    return errors, erasures


def deblurred(gray: np.ndarray, quad: np.ndarray, trace: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    """(image, the quad in it): the crop around the code with the true blur undone."""
    sigma = trace.get("focus", 0.0)
    length, angle = trace.get("shake", (0.0, 0.0))
    if not sigma and not length:
        return []
    shake = shake_transfer(length, np.radians(angle)) if length else None
    focus = focus_transfer(sigma) if sigma else None

    def transfer(fy, fx):
        out = np.ones_like(fy * fx)
        for part in (shake, focus):
            if part is not None:
                out = out * part(fy, fx)
        return out

    x0, y0 = np.maximum(quad.min(0) - MARGIN, 0).astype(int)
    x1, y1 = (quad.max(0) + MARGIN).astype(int)
    crop = np.ascontiguousarray(gray[y0:y1, x0:x1]).astype(np.uint8)
    undo = Deconvolver(crop, int(max(length, 4 * sigma)) + 2)
    moved = quad - np.float32([x0, y0])
    return [(undo(transfer, nsr).astype(np.float32), moved) for nsr in NSRS]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--per-condition", type=int, default=30)
    p.add_argument("--conditions", default=",".join(gen.CONDITIONS))
    p.add_argument("--only", default="combo", help="conditions measured (comma-separated)")
    args = p.parse_args(argv)
    only = set(args.only.split(","))
    rng = np.random.default_rng(args.seed)
    counts = {"errors-ok": 0, "erasures-ok": 0, "BEYOND": 0}
    for cond in args.conditions.split(","):
        for i in range(args.per_condition):
            trace: dict = {}
            frame, _, _ = gen.render(rng, cond, trace)
            if cond not in only or "quad" not in trace:
                continue
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
            m, quad = trace["modules"].astype(bool), np.asarray(trace["quad"], np.float32)
            tries = [(gray, quad)] + deblurred(gray, quad, trace)
            scores = [worst_block(m, sampled(img, q, m.shape[0])) for img, q in tries]
            errors, erasures = min(s[0] for s in scores), min(s[1] for s in scores)
            verdict = ("errors-ok" if errors <= 1 else "erasures-ok" if erasures <= 1
                       else "BEYOND")
            counts[verdict] += 1
            print(f"{cond}_{i:03d}.jpg", verdict,
                  f"errors x{errors:.2f} best erasures x{erasures:.2f} of the check codewords")
    print(", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
