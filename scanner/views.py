"""`View`: an image plus how its pixels map back to the camera frame.

A module of its own because both the preprocessors (`scanner.decoders`) and the costlier
ones that live apart (`scanner.deblur`, `scanner.warp`) make views: with `View` here they
import it from one place instead of from each other (no import cycle).
"""
from __future__ import annotations

from dataclasses import dataclass

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
