"""Benchmark: every single decoder alone and the full chain, side by side, on labelled frames.

A labelled set is a folder of images plus `truth.json` (file name -> exact text).  A frame
counts as decoded only when the text matches exactly, because a near-miss at the gate is a
refused resident.  The chain runs with its live budget, so its times are what a guard gets
per frame; `chain-still` is the same chain given the image for STILL_FRAMES frames in a
row, as a camera sees a pass held still (and as `decode` reads a file), so its times are
totals over those frames.  `chain-still-signed` is that chain as a gate runs it on its own
passes: the soft decoder's unsure reads (a code at its redundancy's very edge) go to the
signature check, here stood in for by the frame's true text (a wrong text never passes a
120-bit HMAC; a frame of these sets carries no signature of ours to check).
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .chain import DEFAULT_BUDGET_MS, DEFAULT_STEPS, DecoderChain, Step
from .decoders import SINGLE_DECODERS
from .sources import read_image

CHAIN = "chain"
#: The chain on a still image held up for STILL_FRAMES camera frames (what `decode` does):
#: each frame keeps the budget, the bookmark carries the rescue steps over.
STILL = "chain-still"
#: The same, with the gate's signature check on unsure reads (the true text stands in).
SIGNED = "chain-still-signed"


def condition_of(file_name: str) -> str:
    """'blur_003.jpg' -> 'blur', 'qrcode-2_12.png' -> 'qrcode-2': the part before the last '_'."""
    stem = Path(file_name).stem
    return stem.rsplit("_", 1)[0] if "_" in stem else stem


@dataclass
class MethodStats:
    decoded: int = 0
    total: int = 0
    ms: list[float] = field(default_factory=list)
    ms_hd: list[float] = field(default_factory=list)  # 1280x720 frames only
    by_condition: dict[str, list[int]] = field(default_factory=dict)  # cond -> [decoded, total]
    by_step: dict[str, int] = field(default_factory=dict)  # chain step -> frames it decoded

    @property
    def rate(self) -> float:
        return self.decoded / self.total if self.total else 0.0

    def percentile(self, q: float, hd: bool = False) -> float | None:
        values = self.ms_hd if hd else self.ms
        return float(np.percentile(values, q)) if values else None


@dataclass
class SetReport:
    directory: str
    conditions: list[str]
    methods: dict[str, MethodStats]
    missing: list[str]


def make_methods(budget_ms: float | None = DEFAULT_BUDGET_MS,
                 names: tuple[str, ...] = SINGLE_DECODERS) -> dict[str, DecoderChain]:
    """Each decoder alone on the whole frame without a budget, then the full chain on one
    frame, then the full chain on the image held for a few frames."""
    methods = {name: DecoderChain([Step.parse(name)], budget_ms=None) for name in names}
    methods[CHAIN] = DecoderChain(budget_ms=budget_ms)
    methods[STILL] = DecoderChain(budget_ms=budget_ms)
    methods[SIGNED] = DecoderChain(budget_ms=budget_ms)
    for chain in methods.values():
        chain.warm_up()  # as the scanner does: first calls' set-up is not a frame's cost
    return methods


def bench_dir(directory: Path, methods: dict[str, DecoderChain]) -> SetReport:
    truth = json.loads((directory / "truth.json").read_text(encoding="utf-8"))
    names = sorted(truth)
    frames, missing = {}, []
    for name in names:
        image = read_image(directory / name)
        if image is None:
            missing.append(name)
        frames[name] = image
    conditions = sorted({condition_of(n) for n in names})
    stats = {m: MethodStats() for m in methods}
    for method, chain in methods.items():
        st = stats[method]
        for name in names:
            cond = st.by_condition.setdefault(condition_of(name), [0, 0])
            st.total += 1
            cond[1] += 1
            image = frames[name]
            if image is None:
                continue
            if method == SIGNED:
                chain.verify = lambda text, want=truth[name]: text == want
            held = method in (STILL, SIGNED)
            result = chain.decode_still(image) if held else chain.decode(image)
            hit = result.text == truth[name]
            st.decoded += hit
            cond[0] += hit
            if hit:
                st.by_step[result.step_name] = st.by_step.get(result.step_name, 0) + 1
            st.ms.append(result.ms)
            if image.shape[:2] == (720, 1280):
                st.ms_hd.append(result.ms)
    return SetReport(str(directory), conditions, stats, missing)


def run(directories: list[str], budget_ms: float | None = DEFAULT_BUDGET_MS) -> list[SetReport]:
    methods = make_methods(budget_ms)
    return [bench_dir(Path(d), methods) for d in directories]


def _pct(decoded: int, total: int) -> str:
    return f"{100.0 * decoded / total:.1f}" if total else "-"


def _ms(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "-"


def format_table(reports: list[SetReport]) -> str:
    """A Markdown table: one row per condition, then the set's totals and times."""
    if not reports:
        return ""
    methods = list(reports[0].methods)
    head = ["set", "condition", "frames"] + [f"{m} %" for m in methods]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for rep in reports:
        name = Path(rep.directory).name or rep.directory
        for cond in rep.conditions:
            counts = [rep.methods[m].by_condition.get(cond, [0, 0]) for m in methods]
            cells = [name, cond, str(counts[0][1])] + [_pct(*c) for c in counts]
            lines.append("| " + " | ".join(cells) + " |")
        total = rep.methods[methods[0]].total
        cells = [name, "**all**", str(total)] + [
            f"**{_pct(rep.methods[m].decoded, rep.methods[m].total)}**" for m in methods]
        lines.append("| " + " | ".join(cells) + " |")
        rows = [("median ms", 50, False), ("p95 ms", 95, False)]
        if rep.methods[methods[0]].ms_hd:
            rows.append(("p95 ms 1280x720", 95, True))
        for label, q, hd in rows:
            cells = [name, label, ""] + [_ms(rep.methods[m].percentile(q, hd)) for m in methods]
            lines.append("| " + " | ".join(cells) + " |")
    if CHAIN in reports[0].methods:
        lines += ["", _step_table(reports)]
    return "\n".join(lines)


def _step_table(reports: list[SetReport]) -> str:
    """Which chain step read how many frames of each set: what each rescue step earns."""
    steps = [s.name for s in DEFAULT_STEPS]
    names = [Path(r.directory).name or r.directory for r in reports]
    lines = ["| chain step | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
    for step in steps:
        counts = [str(r.methods[CHAIN].by_step.get(step, 0)) for r in reports]
        lines.append(f"| `{step}` | " + " | ".join(counts) + " |")
    return "\n".join(lines)


def to_json(reports: list[SetReport]) -> dict:
    out = []
    for rep in reports:
        methods = {}
        for m, st in rep.methods.items():
            methods[m] = {
                "decoded": st.decoded, "frames": st.total, "rate": round(st.rate, 4),
                "median_ms": _round(st.percentile(50)), "p95_ms": _round(st.percentile(95)),
                "p95_ms_1280x720": _round(st.percentile(95, hd=True)),
                "conditions": {c: {"decoded": d, "frames": n, "rate": round(d / n, 4) if n else 0}
                               for c, (d, n) in sorted(st.by_condition.items())},
                "by_step": dict(st.by_step),
            }
        out.append({"dir": rep.directory, "missing": rep.missing, "methods": methods})
    return {"sets": out}


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


def main(directories: list[str], as_json: bool = False,
         budget_ms: float | None = DEFAULT_BUDGET_MS) -> int:
    bad = [d for d in directories if not (Path(d) / "truth.json").is_file()]
    if bad:
        for d in bad:
            print(f"bench: {d}: no truth.json", file=sys.stderr)
        return 2
    reports = run(directories, budget_ms)
    for rep in reports:
        for name in rep.missing:
            print(f"bench: {rep.directory}/{name}: unreadable, counted as not decoded",
                  file=sys.stderr)
    if as_json:
        print(json.dumps(to_json(reports)))
    else:
        print(format_table(reports))
    return 0
