#!/usr/bin/env python3
"""How many glare-on-blur frames a decoder could read: the modules the camera clipped.

A glare spot saturates the sensor.  This re-renders a generated set (the same seed and
options as scripts/make_gate_frames.py, so the same frames), marks each `glare-blur`
frame's modules whose centre the camera clipped, and counts per block the codewords
touching one against the block's error-correction codewords, twice:

- `lost`: modules clipped with all 8 neighbours.  The blur spreads a module over its
  neighbours' pixels, so only then is nothing left of it anywhere in the frame.  A block
  with more such codewords than check codewords is beyond every decoder (`LOST`).
- `clipped`: modules clipped at their centre.  A decoder that takes them for erasures
  reads the frame only if no block has more (`within`); beyond that (`BEYOND`), it needs
  the blur's traces around them, or luck (a clipped module is right half the time).

Each line shows a block's `clipped/lost/check` codewords.

    python scripts/glare_bound.py --seed 19 --per-condition 20 \\
        --conditions bent,folded,cloth,glare-blur

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
from scanner.equalise import with_neighbours  # noqa: E402
from scanner.qrsoft import data_positions, read_format, split_blocks  # noqa: E402


def clipped_modules(trace: dict) -> np.ndarray:
    """n x n: the modules whose centre the camera clipped (grey level at 255 or more)."""
    grey = trace["unclipped"].mean(axis=2).astype(np.float32)
    return at_modules(grey, trace["quad"], trace["modules"].shape[0]) >= 255


def at_modules(grey: np.ndarray, quad: np.ndarray, n: int, dx: float = 0.0,
               dy: float = 0.0) -> np.ndarray:
    """n x n: `grey` at each module's centre, moved by (dx, dy) modules, on the grid whose
    corners in the frame are `quad` (the generator's own)."""
    square = np.float32([[0, 0], [n, 0], [n, n], [0, n]])
    hom = cv2.getPerspectiveTransform(square, quad.astype(np.float32))
    centres = np.stack(np.meshgrid(np.arange(n) + 0.5 + dx, np.arange(n) + 0.5 + dy), -1)
    xy = cv2.perspectiveTransform(centres.reshape(1, -1, 2).astype(np.float32), hom)[0] - 0.5
    return cv2.remap(grey, xy[:, 0].reshape(n, n), xy[:, 1].reshape(n, n), cv2.INTER_LINEAR)


def erased_per_block(m: np.ndarray, clipped: np.ndarray) -> list[tuple[int, int]]:
    """(codewords touching a `clipped` module, error-correction codewords) per block."""
    n = m.shape[0]
    ec_bits, _ = read_format(np.where(m, 1.0, -1.0))
    rows, cols = data_positions(n)
    count = len(rows) // 8  # codewords in reading order, as `qrsoft.codewords` lays them
    touched = clipped[rows, cols][:count * 8].reshape(count, 8).any(1)
    return [(int(touched[idx].sum()), len(idx) - data)
            for idx, data in split_blocks((n - 17) // 4, ec_bits, count)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--per-condition", type=int, default=30)
    p.add_argument("--conditions", default=",".join(gen.CONDITIONS))
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    counts = {"LOST": 0, "BEYOND": 0, "within": 0}
    for cond in args.conditions.split(","):
        for i in range(args.per_condition):
            trace: dict = {}
            gen.render(rng, cond, trace)
            if cond != "glare-blur":
                continue
            clipped = clipped_modules(trace)
            centre = erased_per_block(trace["modules"], clipped)
            lost = erased_per_block(trace["modules"], with_neighbours(clipped))
            verdict = ("LOST" if any(e > ec for e, ec in lost) else
                       "BEYOND" if any(e > ec for e, ec in centre) else "within")
            counts[verdict] += 1
            print(f"{cond}_{i:03d}.jpg", verdict,
                  " ".join(f"{c}/{e}/{ec}" for (c, ec), (e, _) in zip(centre, lost)))
    print(f"{sum(counts.values())} glare-blur frames: {counts['within']} within erasures, "
          f"{counts['BEYOND']} beyond them, {counts['LOST']} lost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
