"""`View`: an image plus how its pixels map back to the camera frame (`WarpedView`: through
a bent grid).

A module of its own because both the preprocessors (`scanner.decoders`) and the costlier
ones that live apart (`scanner.deblur`, `scanner.warp`) make views: with `View` here they
import it from one place instead of from each other (no import cycle).  `RecentCrops`,
what a step keeps of the crops it saw, lives here for the same reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np


@dataclass(frozen=True)
class View:
    """A preprocessed image and how to map its pixels back: frame = xy / scale + offset."""

    image: np.ndarray
    scale: float = 1.0
    offset: tuple[float, float] = (0.0, 0.0)
    #: Where the camera's sensor clipped, in this view's pixels, for a view that no longer
    #: shows it (None: not kept).  A deblurred view keeps its crop's: deconvolution turns
    #: a flat clipped glare patch into ripples that read as confident modules.
    clipped: np.ndarray | None = None

    def derive(self, image: np.ndarray, scale: float = 1.0, crop_xy=(0.0, 0.0)) -> "View":
        """A view of this view: `image` is this one cropped at `crop_xy` then scaled."""
        ox = self.offset[0] + crop_xy[0] / self.scale
        oy = self.offset[1] + crop_xy[1] / self.scale
        return View(image, self.scale * scale, (ox, oy))

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
        return pts / self.scale + np.array(self.offset, dtype=np.float32)


@dataclass(frozen=True)
class WarpedView(View):
    """A synthetic code drawn from a bent grid; `to_frame` maps back through the warp.

    `unwarp` is the last preprocessor of a pipeline: its image is already clean, and a view
    derived from it (`derive`) would map back by scale and offset only, not the warp.
    """

    source: View | None = None
    mapper: Callable[[np.ndarray], np.ndarray] | None = None
    #: makes estimates of each module's darkness (dark > 0, its size how sure), better and
    #: costlier one after another, for the soft decoder
    soft: Callable[[], Iterator[np.ndarray]] | None = None
    #: how well the grid's timing rows and alignment patterns agree with its size
    #: (`qrgrid.anchor_agreement`): low when the size guessed is wrong
    anchors: float = 1.0

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
        return self.source.to_frame(self.mapper(pts))


class RecentCrops:
    """What one step worked out about each of the last few crops, found again by the crop's
    image (one array object per crop of a frame): later steps ask again of the crops an
    earlier one worked on (`located.find_codes`, `deblur.seen_blur`)."""

    def __init__(self, size: int = 4):
        self._size = size
        self._items: list[tuple[np.ndarray, object]] = []

    def get(self, image: np.ndarray):
        """The value kept for `image`, or None."""
        return next((value for kept, value in reversed(self._items) if kept is image), None)

    def keep(self, image: np.ndarray, value) -> None:
        self._items = (self._items + [(image, value)])[-self._size:]

    def clear(self) -> None:
        self._items = []
