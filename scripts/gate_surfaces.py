"""Cards that are not flat, for the gate-frame generator: bent, folded, crumpled cloth.

`make_gate_frames.py` lays a pass flat in the scene with one homography; real passes are a
laminated card bent in a cold hand, paper folded in a pocket, a code printed on cloth.
Here the art becomes a 3-D surface (a cylinder, a plane with creases, a wrinkled sheet),
is turned and tilted in front of a pinhole camera, and is rendered by inverting that
projection per frame pixel (Newton steps from the homography of its corners), so the
module grid bends the way a camera sees it rather than by an image-space wobble.
"""
from __future__ import annotations

import cv2
import numpy as np

SURFACES = ("bent", "folded", "cloth")


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    return cv2.Rodrigues((axis / np.linalg.norm(axis) * angle).astype(np.float64))[0]


def bend(u, v, rng, size):
    """A cylinder: 10-45 degrees of bend across the card, about either axis, either way."""
    theta = np.radians(rng.uniform(10, 45))
    across_u = rng.random() < 0.5
    t, extent = (u, size[0]) if across_u else (v, size[1])
    radius = extent / theta
    c = extent * rng.uniform(0.35, 0.65)
    phi = (t - c) / radius
    along = c + radius * np.sin(phi)
    z = radius * (1 - np.cos(phi)) * rng.choice([-1.0, 1.0])
    return (along, v, z) if across_u else (u, along, z)


def fold(u, v, rng, size):
    """Paper folded once or twice: creases that do not cross, each a rigid turn of 15-40 deg."""
    x, y, z = u.astype(np.float64), v.astype(np.float64), np.zeros_like(u, np.float64)
    base = rng.uniform(0, np.pi)
    n = int(rng.integers(1, 3))
    offsets = sorted(rng.uniform(-0.3, 0.3, n)) if n == 2 else [rng.uniform(-0.2, 0.2)]
    centre = np.array([size[0] / 2, size[1] / 2])
    span = float(min(size[:2]))
    for k, off in enumerate(reversed(offsets)):  # the outer crease first, then the inner
        a = base + rng.uniform(-0.12, 0.12)
        d = np.array([np.cos(a), np.sin(a)])  # crease direction
        nrm = np.array([-d[1], d[0]])
        p0 = centre + nrm * off * span
        side = (u - p0[0]) * nrm[0] + (v - p0[1]) * nrm[1]
        beyond = side > 0 if k == 0 else side < 0  # two creases turn the two outer strips
        turn = np.radians(rng.uniform(15, 40)) * rng.choice([-1, 1])
        rot = _rotation(np.array([d[0], d[1], 0.0]), turn)
        pts = np.stack([x - p0[0], y - p0[1], z], -1)[beyond] @ rot.T
        x[beyond], y[beyond], z[beyond] = pts[:, 0] + p0[0], pts[:, 1] + p0[1], pts[:, 2]
    return x, y, z


def crumple(u, v, rng, size):
    """Cloth: a smooth random stretch in the plane (0.2-0.6 module) and soft wrinkles in depth."""
    module = size[2]
    h, w = u.shape
    out = []
    for amp in (rng.uniform(0.2, 0.6), rng.uniform(0.2, 0.6), rng.uniform(0.5, 2.0)):
        cells = max(3, int(min(size[:2]) / (module * rng.uniform(4, 9))))
        coarse = rng.normal(0, 1, (cells, cells)).astype(np.float32)
        field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        out.append(field / (np.abs(field).max() + 1e-6) * amp * module)
    return u + out[0], v + out[1], out[2]


DEFORMS = {"bent": bend, "folded": fold, "cloth": crumple}


def project(art_hw, corners, rng, kind: str, frame_wh, code_px: float, ss: int, n: int):
    """Forward map of the art's pixel grid (every `step` px) into the frame (ss x pixels)."""
    ah, aw = art_hw
    step = 2
    v, u = np.mgrid[0:ah + step:step, 0:aw + step:step].astype(np.float64)
    sym = float(corners[1, 0] - corners[0, 0])
    module = sym / n
    x, y, z = DEFORMS[kind](u, v, rng, (aw, ah, module))
    centre = corners.mean(axis=0)
    pts = np.stack([x - centre[0], y - centre[1], z], -1)
    tilt = np.radians(rng.uniform(0, 35))
    axis = rng.uniform(-1, 1, 3) * [1, 1, 0] + [0, 0, 1e-9]
    spin = _rotation(np.array([0, 0, 1.0]), np.radians(rng.uniform(-12, 12)))
    pts = pts @ (spin @ _rotation(axis, tilt)).T
    w, h = frame_wh
    f = 1.1 * w
    scale = code_px * ss / sym
    depth = f / scale
    px = f * pts[..., 0] / (depth + pts[..., 2])
    py = f * pts[..., 1] / (depth + pts[..., 2])
    lo = np.array([-px.min(), -py.min()]) + 4 * ss
    hi = np.array([w - px.max(), h - py.max()]) - 4 * ss
    cx = rng.uniform(lo[0], hi[0]) if hi[0] > lo[0] else w / 2
    cy = rng.uniform(lo[1], hi[1]) if hi[1] > lo[1] else h / 2
    return (px + cx).astype(np.float32), (py + cy).astype(np.float32), step


def invert_map(fx, fy, step, box):
    """Art coordinates for every frame pixel in `box`, by Newton steps on the forward map."""
    x0, y0, x1, y1 = box
    gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    gh, gw = fx.shape
    src = np.float32([[0, 0], [gw - 1, 0], [gw - 1, gh - 1], [0, gh - 1]])
    dst = np.float32([[fx[0, 0], fy[0, 0]], [fx[0, -1], fy[0, -1]], [fx[-1, -1], fy[-1, -1]],
                      [fx[-1, 0], fy[-1, 0]]])
    hinv = cv2.getPerspectiveTransform(dst, src)
    q = cv2.perspectiveTransform(np.stack([gx, gy], -1).reshape(-1, 1, 2), hinv)
    q = q.reshape(gx.shape + (2,))
    qu, qv = q[..., 0].copy(), q[..., 1].copy()
    dxu, dxv = np.gradient(fx, axis=1), np.gradient(fx, axis=0)
    dyu, dyv = np.gradient(fy, axis=1), np.gradient(fy, axis=0)
    for _ in range(12):
        at = [cv2.remap(a, qu, qv, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
              for a in (fx, fy, dxu, dxv, dyu, dyv)]
        ex, ey = at[0] - gx, at[1] - gy
        det = at[2] * at[5] - at[3] * at[4]
        det = np.where(np.abs(det) < 1e-6, 1e-6, det)
        du = (at[5] * ex - at[3] * ey) / det
        dv = (-at[4] * ex + at[2] * ey) / det
        qu, qv = qu - np.clip(du, -8, 8), qv - np.clip(dv, -8, 8)
    err = np.hypot(ex, ey)
    inside = (qu >= 0) & (qv >= 0) & (qu <= gw - 1) & (qv <= gh - 1) & (err < 0.5)
    return qu * step, qv * step, inside


def place_surface(frame: np.ndarray, art: np.ndarray, corners: np.ndarray, rng, *, kind: str,
                  code_px: float, ss: int, n: int) -> np.ndarray:
    """Render `art` as a deformed surface into `frame` (ss x); the symbol's corners (1x)."""
    h, w = frame.shape[:2]
    fx, fy, step = project(art.shape[:2], corners, rng, kind, (w, h), code_px, ss, n)
    box = (max(0, int(fx.min())), max(0, int(fy.min())),
           min(w, int(fx.max()) + 2), min(h, int(fy.max()) + 2))
    mu, mv, inside = invert_map(fx, fy, step, box)
    patch = cv2.remap(art, mu, mv, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    x0, y0, x1, y1 = box
    region = frame[y0:y1, x0:x1]
    region[inside] = patch[inside]
    idx = np.clip(np.round(corners / step).astype(int), 0, [fx.shape[1] - 1, fx.shape[0] - 1])
    return np.float32([[fx[j, i], fy[j, i]] for i, j in idx]) / ss
