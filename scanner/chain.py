"""The decoder chain: an ordered, time-budgeted use of the decoder registry.

A gate camera delivers ~30 frames a second and the next frame is usually as good as this
one, so a frame gets a fixed time budget: cheap, usually-sufficient steps first, costly
rescue steps (crops, zoom, deblurring) only while time is left, and the first result the
caller accepts wins.  The same chain serves live scanning, `decode` and `bench`.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import cv2
import numpy as np

from .costs import StepCosts
from .decoders import DECODERS, PREPROCESSORS, View, as_gray
from .warp import prepare as prepare_warp

cv2.setNumThreads(1)  # the budget is measured on one core; OpenCV's pool would blur that

#: Per-frame budget.  Steps are skipped once the time spent plus a step's running cost
#: (scanner/costs.py) would pass it, so a hopeless frame ends near this (never mid-step);
#: sized so that the 95th percentile of a 1280x720 frame stays within one frame period of
#: a 30 fps camera (33 ms).
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
    # glare on a blurred code: each deblurring guess's grid (scanner/flatfit.py) read by our
    # own decoder (scanner/qrsoft.py).  A sharp crop has no guesses, so it goes before `unwarp`
    ("regions,deblur-grid>qr-soft", 30.0),
    # bent, folded, cloth: a bent module grid (~5 ms for the finders, ~12 per size guess); its
    # prior is above the budget: first run as the step the next frame resumes at (carry-over)
    ("regions,unwarp>zxing+sure-soft", 30.0),
    ("regions,creased>zxing+qr-soft", 60.0),  # folded paper: unwarp's mesh as creases
    ("regions,enlarge>zxing-global", 1.5),   # uneven print, artwork: one global threshold
    ("regions,enlarge,denoise>zxing", 1.5),  # dim sensor noise, glare on a far code
    ("regions>zbar", 4.0),                   # a second locator for codes zxing cannot find
    ("regions,level>zxing", 3.0),            # glare or shadow across the code
    ("regions,smooth>zbar", 3.0),            # screen grid / halftone texture inside modules
    # folded: bent grids grown from the alignment patterns too (costlier than `unwarp`'s)
    ("regions,unwarp-seeded>zxing", 30.0),
    ("regions,code-box,deblur>zxing", 10.0),  # a blurred code in a wide crop: in its own box
    ("regions,code-box,deblur-grid>qr-soft", 10.0),
    ("regions,enlarge,denoise-grid>qr-soft", 15.0),  # a small code in a dim, noisy frame:
    ("regions,denoise-grid>qr-soft", 15.0),  # smoothed, one fitted grid, our own decoder
    # finders' rings smeared shut: a grid fitted to the code's outline (scanner/outline.py)
    ("regions,deblur,outline>qr-soft", 20.0),
    ("regions,outline-box,deblur,outline>qr-soft", 20.0),
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
    #: further accepted codes read in the same frame (a family holding up two or three
    #: passes): (text, corner points) pairs, never repeating `text`.
    others: tuple[tuple[str, np.ndarray], ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.text is not None

    @property
    def codes(self) -> list[tuple[str, np.ndarray | None]]:
        """Every accepted code in the frame, the one in `text` first."""
        return ([(self.text, self.points)] if self.ok else []) + list(self.others)


def accept_any(text: str) -> bool:
    """Default acceptance: any non-empty text."""
    return bool(text)


#: How many frames a still image stands for in `decode_still`: a pass held up to the
#: camera for a third of a second at 30 fps.
STILL_FRAMES = 10

Thunk = Callable[[], "View | None"]


def _thunk(item) -> Thunk:
    """A preprocessor's item as a memoised thunk: a View, or a callable that makes one.

    Deferred items let the chain step over views it already tried on the previous frame
    without paying for them (a deblurring guess costs a Fourier transform).
    """
    if isinstance(item, View):
        return lambda: item
    box: list = []

    def get():
        if not box:
            try:
                box.append(item())
            except Exception:  # noqa: BLE001 - a failing guess only loses itself
                box.append(None)
        return box[0]
    return get


class _Lazy:
    """The views one preprocessor makes of one view, computed only as far as they are used."""

    def __init__(self, prep, view: View):
        self._prep, self._view = prep, view
        self._items: list[Thunk] = []
        self._source = None
        self._done = False

    def __iter__(self) -> Iterator[Thunk]:
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
                self._items.append(_thunk(next(self._source)))
            except Exception:  # noqa: BLE001 - StopIteration, or a failing preprocessor
                self._done = True  # only skips the steps that need it


class _FrameViews:
    """Preprocessed views of one frame, computed lazily and shared by the steps that need them.

    Views are produced one at a time so the budget can stop between two crops (or two
    deblurring guesses), and each (view, preprocessor) result is kept so 'regions' runs
    once however many steps use it.  `views` yields thunks: a step's last stage is computed
    only when the chain calls it.
    """

    def __init__(self, gray: np.ndarray):
        self.root = View(gray)
        self._memo: dict[tuple[int, str], _Lazy] = {}
        self._root_thunk: Thunk = lambda: self.root
        # (view thunk id, decoder) already run (the thunks live as long as this: no id reuse)
        self.tried: set[tuple[int, str]] = set()

    def views(self, pipeline: Sequence[str]) -> Iterator[Thunk]:
        if not pipeline:
            return iter([self._root_thunk])
        return self._expand(self.root, tuple(pipeline))

    def _expand(self, view: View, todo: tuple[str, ...]) -> Iterator[Thunk]:
        key = (id(view), todo[0])
        children = self._memo.get(key)
        if children is None:
            children = self._memo[key] = _Lazy(PREPROCESSORS[todo[0]], view)
        for child in children:
            if len(todo) == 1:
                yield child
                continue
            parent = child()
            if parent is not None:
                yield from self._expand(parent, todo[1:])


class DecoderChain:
    """Runs `steps` in order on a frame until one yields text that `accept` approves.

    `accept` lets the live scanner say "that is not one of our passes" (a poster's QR code
    in view) so the chain keeps looking in the same frame.  `confirm` judges only a
    correcting decoder's reads (`qr-soft`): the live scanner's "its signature verifies"
    makes a rare miscorrection no read, never a forged pass shown to the guard.  `verify`
    judges its *unsure* reads, no reads without it: "the gate's own key verifies it".
    The chain keeps a running cost per step to skip, not start, steps that would overrun
    `budget_ms`; the first step always runs.

    With `carry_over`, a frame that runs out of time leaves a bookmark: the next frame runs
    the first step, then resumes the rescue steps where this one stopped.  A camera shows
    the same pass for many frames, so a hard code gets every rescue step within a few
    frames while no single frame overruns its budget.
    """

    def __init__(self, steps: Sequence[Step | str] = DEFAULT_STEPS,
                 budget_ms: float | None = DEFAULT_BUDGET_MS,
                 accept: Callable[[str], bool] | None = None, carry_over: bool = False,
                 confirm: Callable[[str], bool] | None = None,
                 verify: Callable[[str], bool] | None = None):
        self.steps = tuple(s if isinstance(s, Step) else Step.parse(s) for s in steps)
        if not self.steps:
            raise ValueError("a chain needs at least one step")
        self.budget_ms = budget_ms
        self.accept = accept or accept_any
        self.confirm, self.verify = confirm, verify
        self.carry_over = carry_over
        self._costs = StepCosts()  # what each step's views have cost lately
        self._bookmark: tuple[int, int] | None = None  # (step index, views already tried)

    def __call__(self, frame) -> ChainResult:
        return self.decode(frame)

    def warm_up(self) -> "DecoderChain":
        """Run every step once on a made-up blurred code, then forget what it cost: first
        calls pay for library set-up and FFT plans; measured as step costs they would make
        the chain skip its rescue steps for the first frames of a process."""
        rng = np.random.default_rng(0)
        modules = rng.integers(0, 2, (25, 25)).astype(np.uint8) * 255
        code = cv2.resize(modules, (200, 200), interpolation=cv2.INTER_NEAREST)
        frame = np.full((480, 640), 128, np.uint8)
        frame[140:340, 220:420] = cv2.GaussianBlur(code, (0, 0), 3)
        if any(p.startswith("unwarp") for step in self.steps for p in step.pipeline):
            prepare_warp()  # the made-up code has no finders: the warp would not warm up
        budget, self.budget_ms = self.budget_ms, None
        try:
            self.decode(frame, accept=lambda text: False)
        finally:
            self.budget_ms = budget
            self._costs.clear()
            self.reset()
        return self

    def reset(self) -> None:
        """Forget the bookmark: the next frame shows something new."""
        self._bookmark = None

    def decode(self, frame, accept: Callable[[str], bool] | None = None) -> ChainResult:
        """Decode one BGR, BGRA or grey frame; `accept` overrides the chain's for this call."""
        start = time.perf_counter()
        views = _frame_views(frame)
        if views is None:
            return ChainResult(None, None, None, _ms_since(start))
        return self._run(views, accept or self.accept, start, self.carry_over, same=False)

    def decode_still(self, frame, accept: Callable[[str], bool] | None = None,
                     frames: int = STILL_FRAMES) -> ChainResult:
        """Decode a still image as a camera would that showed it for `frames` frames.

        Each pass keeps the per-frame budget; the result's `ms` is the total.  Stops early
        once every step has been tried.  It is the same picture every time, so its crops
        and zooms are made once and the first step runs once.
        """
        start = time.perf_counter()
        views = _frame_views(frame)
        if views is None:
            return ChainResult(None, None, None, _ms_since(start))
        accept = accept or self.accept
        self.reset()
        try:
            for n in range(max(1, frames)):
                result = self._run(views, accept, time.perf_counter(), carry=True, same=n > 0)
                if result.ok or self._bookmark is None:
                    break
        finally:
            self.reset()
        return dataclasses.replace(result, ms=_ms_since(start))

    def _plan(self, carry: bool, same: bool) -> list[tuple[int, int, int | None]]:
        """(step index, views to step over, views to stop after) in this frame's order."""
        everything = [(i, 0, None) for i in range(len(self.steps))]
        if not carry or self._bookmark is None:
            return everything
        k, done = self._bookmark
        plan = [] if same else [(0, 0, None)]  # the same picture: step 0's answer stands
        plan += [(k, done, None)] + everything[k + 1:] + everything[1:k]
        if done:
            plan.append((k, 0, done))  # the views before the bookmark come round last
        return plan

    def _run(self, views: "_FrameViews", accept: Callable[[str], bool], start: float,
             carry: bool, same: bool) -> ChainResult:
        """One frame's pass over the steps; `carry` keeps a bookmark, `same` says the frame
        is the previous one again (a still picture)."""
        frame = _FramePass(accept, start)
        resumed_at = -1  # plan position of the resumed step, which always tries one view
        if carry and self._bookmark is not None:
            resumed_at = 0 if same else 1
        for position, (index, skip, limit) in enumerate(self._plan(carry, same)):
            found = self._run_step(views, frame, index, skip, limit,
                                   first=position == 0 and index == 0,
                                   resumed=position == resumed_at)
            if found is not None:
                self._bookmark = None
                return found
        self._bookmark = frame.cut if carry else None
        return ChainResult(None, None, None, _ms_since(start), frame.tried, tuple(frame.rejected))

    def _run_step(self, views: "_FrameViews", frame: "_FramePass", index: int, skip: int,
                  limit: int | None, first: bool, resumed: bool) -> ChainResult | None:
        """Step `index` over its views (stepping over the first `skip`, stopping after
        `limit`) until the budget runs out; the accepted result, or None."""
        step = self.steps[index]
        decode = DECODERS[step.decoder]
        tried_step = False
        pending = views.views(step.pipeline)
        seen = 0
        while limit is None or seen < limit:
            # the first step always runs, and so does one view of the resumed step
            forced = first or (resumed and not tried_step)
            if not forced and self._over_budget(step, frame.start):
                if frame.cut is None:
                    frame.cut = (index, seen)
                self._costs.forget(step.name, step.cost_ms)
                break
            t0 = time.perf_counter()
            thunk = next(pending, None)
            if thunk is None:
                break
            seen += 1
            if seen <= skip or (id(thunk), step.decoder) in views.tried:
                continue  # tried on the previous frame (a still picture: this very view)
            view = thunk()
            if view is None:
                continue
            tried_step = True
            views.tried.add((id(thunk), step.decoder))
            results = self._vouched(decode(view if getattr(decode, "takes_view", False)
                                           else view.image))
            self._learn(step, _ms_since(t0))
            found = frame.first_accepted(results, view, step.name)
            if found is not None:
                return found
        frame.tried += tried_step
        return None

    def _vouched(self, results: list) -> list:
        """Unsure reads `verify` holds for, corrected ones `confirm` holds for, the rest."""
        return [r for r in results if (not r.unsure or _accepts(self.verify, r.text)) and
                (not r.corrected or self.confirm is None or _accepts(self.confirm, r.text))]

    def _over_budget(self, step: Step, start: float) -> bool:
        if self.budget_ms is None:
            return False
        return _ms_since(start) + self._costs.expected(step.name, step.cost_ms) > self.budget_ms

    def _learn(self, step: Step, ms: float) -> None:
        if self.budget_ms is not None:
            ms = min(ms, self.budget_ms)  # one hiccup (first call, a GC pause) is not a cost
        self._costs.learn(step.name, ms)


@dataclass
class _FramePass:
    """What one frame's pass over the steps has gathered so far."""

    accept: Callable[[str], bool]
    start: float  # time.perf_counter() when the frame arrived
    tried: int = 0  # steps that decoded at least one view
    rejected: list = field(default_factory=list)  # texts `accept` turned down, in order
    cut: tuple[int, int] | None = None  # (step, views seen) where the budget first stopped

    def first_accepted(self, results, view: View, step_name: str) -> ChainResult | None:
        """The first result `accept` approves, with the other approved codes of the same
        decoder call in `others`: zxing reads every code in the view at once, so a family's
        passes cost nothing more than one pass."""
        accepted: dict[str, np.ndarray] = {}
        for r in results:
            if r.text in accepted:
                continue
            if _accepts(self.accept, r.text):
                accepted[r.text] = view.to_frame(r.points)
            elif r.text not in self.rejected:
                self.rejected.append(r.text)
        if not accepted:
            return None
        (text, points), *others = accepted.items()
        return ChainResult(text, points, step_name, _ms_since(self.start), self.tried + 1,
                           tuple(self.rejected), tuple(others))


def _frame_views(frame) -> _FrameViews | None:
    try:
        gray = as_gray(frame)
    except Exception:  # noqa: BLE001 - a camera hands over anything
        return None
    return None if gray is None else _FrameViews(gray)


def _accepts(accept: Callable[[str], bool] | None, text: str) -> bool:
    try:  # no predicate approves nothing
        return accept is not None and bool(text) and bool(accept(text))
    except Exception:  # noqa: BLE001 - a faulty predicate must not stop the scanner
        return False


def _ms_since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


_default_chain: DecoderChain | None = None


def default_chain() -> DecoderChain:
    """The process-wide chain used by `decode_frame` (its step costs warm up over frames)."""
    global _default_chain
    if _default_chain is None:
        _default_chain = DecoderChain().warm_up()
    return _default_chain


def decode_frame(frame, accept: Callable[[str], bool] | None = None) -> ChainResult:
    """Decode one BGR, BGRA or grey frame with the default chain.

    `accept` overrides the default "any non-empty text" for this call only.
    """
    return default_chain().decode(frame, accept)


def decode_still(frame, accept: Callable[[str], bool] | None = None) -> ChainResult:
    """Decode a still image (a file, a snapshot) with the default chain, as a camera would
    that showed it for `STILL_FRAMES` frames: see `DecoderChain.decode_still`."""
    return default_chain().decode_still(frame, accept)
