"""The decoder chain: an ordered, time-budgeted use of the decoder registry.

A gate camera delivers ~30 frames a second and the next frame is usually as good as this
one, so a frame gets a fixed time budget: cheap, usually-sufficient steps first, costly
rescue steps (crops, zoom, deblurring) only while time is left, and the first result the
caller accepts wins.  The same chain serves live scanning, `decode` and `bench`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import cv2
import numpy as np

from .decoders import DECODERS, PREPROCESSORS, View, as_gray

cv2.setNumThreads(1)  # the budget is measured on one core; OpenCV's pool would blur that

#: Per-frame budget.  Steps are skipped once the time spent plus a step's running cost
#: would pass it, so a hopeless frame ends near this (never mid-step); sized so that the 95th
#: percentile of a 1280x720 frame stays within one frame period of a 30 fps camera (33 ms).
DEFAULT_BUDGET_MS = 25.0


@dataclass(frozen=True)
class Step:
    """A decoder applied to the views produced by a pipeline of preprocessors."""

    name: str
    pipeline: tuple[str, ...]
    decoder: str
    cost_ms: float = 0.0  # expected cost per view until the chain has measured it

    @classmethod
    def parse(cls, spec: str, cost_ms: float = 0.0) -> "Step":
        """'regions,enlarge>zxing' -> Step; a bare decoder name runs on the whole frame."""
        pipe, _, decoder = spec.rpartition(">")
        pipeline = tuple(p for p in pipe.split(",") if p)
        for p in pipeline:
            if p not in PREPROCESSORS:
                raise KeyError(f"unknown preprocessor {p!r} in {spec!r}")
        if decoder not in DECODERS:
            raise KeyError(f"unknown decoder {decoder!r} in {spec!r}")
        return cls(spec, pipeline, decoder, cost_ms)


#: Ordered by measured gain per millisecond on the frames the earlier steps miss (see
#: docs/benchmark-decoders.md); each step after the first rescues a class of failures.
#: The numbers are rough per-view costs (ms, one core) used until the chain has measured
#: its own.  Steps sharing a prefix ('regions', 'regions,enlarge') reuse its views.
DEFAULT_STEPS: tuple[Step, ...] = tuple(Step.parse(spec, cost) for spec, cost in (
    ("zxing", 3.0),                          # whole frame: rotation, tilt, dark mode, moire
    ("regions,enlarge,sharpen>zxing", 4.0),  # far or soft code: zoom the crop, steepen edges
    ("regions,deblur>zxing", 5.0),           # hand shake / focus: Wiener-deconvolve the crop
    ("regions,enlarge>zxing-global", 1.5),   # uneven print, artwork: one global threshold
    ("regions,enlarge,denoise>zxing", 1.5),  # dim sensor noise, glare on a far code
    ("regions>zbar", 4.0),                   # a second locator for codes zxing cannot find
    ("regions,level>zxing", 3.0),            # glare or shadow across the code
    ("regions,smooth>zbar", 3.0),            # screen grid / halftone texture inside modules
    ("regions,deblur>zbar", 4.0),            # zbar on the deblurred crop
))


@dataclass(frozen=True)
class ChainResult:
    """What the chain made of one frame.

    `text` is None when nothing acceptable was found; `points` are the code's 4 corners in
    the coordinates of the frame passed in; `step_name` says which step read it.
    """

    text: str | None
    points: np.ndarray | None
    step_name: str | None
    ms: float
    steps_tried: int = 0
    rejected: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.text is not None


def accept_any(text: str) -> bool:
    """Default acceptance: any non-empty text."""
    return bool(text)


class _Lazy:
    """The views one preprocessor makes of one view, computed only as far as they are used."""

    def __init__(self, prep, view: View):
        self._prep, self._view = prep, view
        self._items: list[View] = []
        self._source = None
        self._done = False

    def __iter__(self) -> Iterator[View]:
        i = 0
        while True:
            if i < len(self._items):
                yield self._items[i]
                i += 1
                continue
            if self._done:
                return
            try:
                if self._source is None:
                    self._source = iter(self._prep(self._view))
                self._items.append(next(self._source))
            except Exception:  # noqa: BLE001 - StopIteration, or a failing preprocessor
                self._done = True  # only skips the steps that need it


class _FrameViews:
    """Preprocessed views of one frame, computed lazily and shared by the steps that need them.

    Views are produced one at a time so the budget can stop between two crops (or two
    deblurring guesses), and each (view, preprocessor) result is kept so 'regions' runs
    once however many steps use it.
    """

    def __init__(self, gray: np.ndarray):
        self.root = View(gray)
        self._memo: dict[tuple[int, str], _Lazy] = {}

    def views(self, pipeline: Sequence[str]) -> Iterator[View]:
        return self._expand(self.root, tuple(pipeline))

    def _expand(self, view: View, todo: tuple[str, ...]) -> Iterator[View]:
        if not todo:
            yield view
            return
        key = (id(view), todo[0])
        children = self._memo.get(key)
        if children is None:
            children = self._memo[key] = _Lazy(PREPROCESSORS[todo[0]], view)
        for child in children:
            yield from self._expand(child, todo[1:])


class DecoderChain:
    """Runs `steps` in order on a frame until one yields text that `accept` approves.

    `accept` lets the live scanner say "that is not one of our passes" (a poster's QR code
    in view) so the chain keeps looking in the same frame.  The chain keeps a running
    cost per step to skip, not start, steps that would overrun `budget_ms`; the first step
    always runs.
    """

    def __init__(self, steps: Sequence[Step | str] = DEFAULT_STEPS,
                 budget_ms: float | None = DEFAULT_BUDGET_MS,
                 accept: Callable[[str], bool] | None = None):
        self.steps = tuple(s if isinstance(s, Step) else Step.parse(s) for s in steps)
        if not self.steps:
            raise ValueError("a chain needs at least one step")
        self.budget_ms = budget_ms
        self.accept = accept or accept_any
        self._cost: dict[str, float] = {}  # running per-view cost of each step, ms

    def __call__(self, frame) -> ChainResult:
        return self.decode(frame)

    def decode(self, frame, accept: Callable[[str], bool] | None = None) -> ChainResult:
        """Decode one BGR, BGRA or grey frame; `accept` overrides the chain's for this call."""
        start = time.perf_counter()
        accept = accept or self.accept
        try:
            gray = as_gray(frame)
        except Exception:  # noqa: BLE001
            gray = None
        if gray is None:
            return ChainResult(None, None, None, _ms_since(start))
        views = _FrameViews(gray)
        rejected: list[str] = []
        tried = 0
        for index, step in enumerate(self.steps):
            decode = DECODERS[step.decoder]
            tried_step = False
            pending = views.views(step.pipeline)
            while True:
                if index > 0 and self._over_budget(step, start):
                    break
                t0 = time.perf_counter()
                view = next(pending, None)
                if view is None:
                    break
                tried_step = True
                results = decode(view.image)
                self._learn(step, _ms_since(t0))
                for r in results:
                    if _accepts(accept, r.text):
                        return ChainResult(r.text, view.to_frame(r.points), step.name,
                                           _ms_since(start), tried + 1, tuple(rejected))
                    if r.text not in rejected:
                        rejected.append(r.text)
            tried += tried_step
        return ChainResult(None, None, None, _ms_since(start), tried, tuple(rejected))

    def _over_budget(self, step: Step, start: float) -> bool:
        if self.budget_ms is None:
            return False
        return _ms_since(start) + self._cost.get(step.name, step.cost_ms) > self.budget_ms

    def _learn(self, step: Step, ms: float) -> None:
        old = self._cost.get(step.name)
        self._cost[step.name] = ms if old is None else 0.8 * old + 0.2 * ms


def _accepts(accept: Callable[[str], bool], text: str) -> bool:
    try:
        return bool(text) and bool(accept(text))
    except Exception:  # noqa: BLE001 - a faulty predicate must not stop the scanner
        return False


def _ms_since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


_default_chain: DecoderChain | None = None


def default_chain() -> DecoderChain:
    """The process-wide chain used by `decode_frame` (its step costs warm up over frames)."""
    global _default_chain
    if _default_chain is None:
        _default_chain = DecoderChain()
    return _default_chain


def decode_frame(frame, accept: Callable[[str], bool] | None = None) -> ChainResult:
    """Decode one BGR, BGRA or grey frame with the default chain.

    `accept` overrides the default "any non-empty text" for this call only.
    """
    return default_chain().decode(frame, accept)
