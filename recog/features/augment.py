"""Random distortions of grey line images, applied on the fly while training.

``LineAugmenter`` is the callable that ``extract(path, cfg, augment=...)`` applies to the loaded
grey ('L') image before normalisation.  Each transform fires with its own probability:

* morphology: erosion or dilation of the ink with a 3x3 min/max filter (thinner / thicker strokes);
* affine: a small rotation (baseline skew) and a horizontal stretch;
* slant: a horizontal shear about the middle row;
* elastic distortion: a smooth random displacement field (Simard et al. 2003), bilinear sampling;
* contrast and brightness jitter;
* writer style (``AugmentParams.writer_style()``, ``train.writer_style: true``): baseline wobble, ink
  size within the line box (margins), ink texture (uneven pen pressure), paper texture (stains and
  grain), blur and JPEG compression.  Synthetic font lines are too clean and too regular: a font
  draws every ``a`` the same on a flat baseline in flat black on white; these make them look like
  scanned pages of a pen.

Geometric transforms grow the canvas as needed so that no ink is cut off; new pixels get the paper
tone (the image's median).  Use it for training only (never at evaluation).  With ``seed`` the
sequence of distortions is reproducible; in a forked DataLoader worker the generator is re-seeded
from (seed, worker id) on first use so that workers do not repeat each other.

The elastic-distortion code (``elastic_field``, ``remap``, ``elastic_distort``) is shared with the
synthetic-line generator (``data_prep.synth_lines``).
"""

from __future__ import annotations

import io
import math
import os
import sys
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter


# --- elastic distortion (shared with data_prep.synth_lines) ------------------------------------

def elastic_field(height: int, width: int, alpha: float, spacing: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A smooth random displacement field (dx, dy), each (height, width) float32.

    Independent N(0, 1) displacements on a coarse grid with ``spacing`` px between nodes are
    interpolated bicubically to full size and scaled by ``alpha`` (px): ``alpha`` is the typical
    displacement, ``spacing`` the distance over which it changes."""
    spacing = max(2.0, float(spacing))
    gh = int(math.ceil(height / spacing)) + 2
    gw = int(math.ceil(width / spacing)) + 2
    coarse = rng.standard_normal((2, gh, gw)).astype(np.float32)
    out = []
    for c in coarse:
        # the coarse grid covers (gh-1)*spacing px; crop the part that spans the image
        big = Image.fromarray(c, mode="F").resize(
            (int(round((gw - 1) * spacing)) + 1, int(round((gh - 1) * spacing)) + 1), Image.BICUBIC)
        a = np.asarray(big, dtype=np.float32)[:height, :width]
        out.append(a * np.float32(alpha))
    return out[0], out[1]


def remap(arr: np.ndarray, dx: np.ndarray, dy: np.ndarray, fill: float) -> np.ndarray:
    """out[y, x] = arr[y + dy, x + dx], bilinear; samples outside the image read ``fill``."""
    h, w = arr.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    sx = xs + dx
    sy = ys + dy
    x0 = np.floor(sx)
    y0 = np.floor(sy)
    fx = sx - x0
    fy = sy - y0
    x0 = x0.astype(np.intp)
    y0 = y0.astype(np.intp)
    padded = np.pad(arr.astype(np.float32, copy=False), 1, constant_values=np.float32(fill))
    # indices into the padded array, clipped: anything beyond reads the fill border
    x0p = np.clip(x0 + 1, 0, w + 1)
    x1p = np.clip(x0 + 2, 0, w + 1)
    y0p = np.clip(y0 + 1, 0, h + 1)
    y1p = np.clip(y0 + 2, 0, h + 1)
    top = padded[y0p, x0p] * (1 - fx) + padded[y0p, x1p] * fx
    bot = padded[y1p, x0p] * (1 - fx) + padded[y1p, x1p] * fx
    return top * (1 - fy) + bot * fy


def elastic_distort(img: Image.Image, alpha: float, spacing: float, rng: np.random.Generator,
                    fill: float | None = None) -> Image.Image:
    """Elastic distortion of an 'L' image (``fill``: value read from outside; default: median)."""
    a = np.asarray(img, dtype=np.float32)
    if fill is None:
        fill = float(np.median(a))
    dx, dy = elastic_field(a.shape[0], a.shape[1], alpha, spacing, rng)
    out = remap(a, dx, dy, fill)
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), mode="L")


# --- the augmenter -----------------------------------------------------------------------------

@dataclass
class AugmentParams:
    """Probabilities and ranges; lengths relative to the image height unless stated."""
    p_morph: float = 0.3          # erosion or dilation (3x3), half each
    p_affine: float = 0.5
    max_rotate: float = 1.5       # degrees
    stretch: tuple[float, float] = (0.85, 1.15)   # horizontal scale
    p_slant: float = 0.5
    max_shear: float = 0.3        # x shift per row (tan of the slant angle)
    p_elastic: float = 0.5
    elastic_alpha: float = 0.015  # typical displacement, x height
    elastic_spacing: float = 0.3  # smoothness scale of the field, x height
    p_contrast: float = 0.5
    contrast: tuple[float, float] = (0.6, 1.3)
    brightness: tuple[float, float] = (-25.0, 25.0)  # grey levels
    # writer style: off unless writer_style() (the defaults keep the recipes' augmentation as it was)
    p_wobble: float = 0.0
    wobble: tuple[float, float] = (0.01, 0.04)    # amplitude of the baseline's sine, x height
    wobble_period: tuple[float, float] = (2.0, 8.0)  # its period, x height
    p_margin: float = 0.0
    margin: float = 0.15          # most paper added above or below, x height (smaller ink)
    p_ink: float = 0.0
    ink: tuple[float, float] = (0.55, 1.0)        # ink darkness kept, before the field's +-0.15
    p_paper: float = 0.0
    stain: tuple[float, float] = (5.0, 25.0)      # grey levels of the smooth paper field
    grain: tuple[float, float] = (2.0, 8.0)       # sd of the per-pixel paper noise
    p_blur: float = 0.0
    blur: tuple[float, float] = (0.3, 1.2)        # Gaussian radius, px per 64 px of height
    p_jpeg: float = 0.0
    jpeg_quality: tuple[int, int] = (15, 75)

    @classmethod
    def writer_style(cls) -> "AugmentParams":
        return cls(p_wobble=0.4, p_margin=0.3, p_ink=0.4, p_paper=0.4, p_blur=0.3, p_jpeg=0.3)


class LineAugmenter:
    """Random distortions of a grey line image; ``aug(img) -> img`` ('L' in, 'L' out)."""

    def __init__(self, seed: int | None = None, params: AugmentParams | None = None):
        self.seed = seed
        self.params = params or AugmentParams()
        self._pid = os.getpid()
        self.rng = np.random.default_rng(seed)

    def _check_fork(self) -> None:
        pid = os.getpid()
        if pid == self._pid:
            return
        self._pid = pid
        worker = pid
        torch = sys.modules.get("torch")
        if torch is not None:
            try:
                info = torch.utils.data.get_worker_info()
            except AttributeError:
                info = None
            if info is not None:
                worker = info.id
        self.rng = np.random.default_rng(None if self.seed is None else [self.seed, worker])

    def __call__(self, img: Image.Image) -> Image.Image:
        self._check_fork()
        p, rng = self.params, self.rng
        if img.mode != "L":
            img = img.convert("L")
        if img.width < 2 or img.height < 2:
            return img
        paper = float(np.median(np.asarray(img)))
        h = img.height
        if rng.random() < p.p_morph:
            # dark ink on light paper: a min filter thickens the ink, a max filter thins it; thinning
            # that would remove more than 40% of the ink (strokes of 1-3 px) is not applied
            if rng.random() < 0.5:
                img = img.filter(ImageFilter.MinFilter(3))
            else:
                thin = img.filter(ImageFilter.MaxFilter(3))
                if _ink(thin, paper) >= 0.6 * _ink(img, paper):
                    img = thin
        angle, stretch, shear = 0.0, 1.0, 0.0
        if rng.random() < p.p_affine:
            angle = math.radians(rng.uniform(-p.max_rotate, p.max_rotate))
            stretch = rng.uniform(*p.stretch)
        if rng.random() < p.p_slant:
            shear = rng.uniform(-p.max_shear, p.max_shear)
        if angle or shear or stretch != 1.0:
            img = affine(img, angle=angle, stretch=stretch, shear=shear, fill=paper)
        if rng.random() < p.p_elastic:
            img = elastic_distort(img, alpha=p.elastic_alpha * h, spacing=max(4.0, p.elastic_spacing * h),
                                  rng=rng, fill=paper)
        img = self._writer_style(img, paper, h)
        if rng.random() < p.p_contrast:
            c = rng.uniform(*p.contrast)
            b = rng.uniform(*p.brightness)
            a = np.asarray(img, dtype=np.float32)
            a = (a - paper) * c + paper + b
            img = Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8), mode="L")
        return img

    def _writer_style(self, img: Image.Image, paper: float, h: int) -> Image.Image:
        p, rng = self.params, self.rng
        if rng.random() < p.p_wobble:
            img = wobble(img, rng.uniform(*p.wobble) * h, rng.uniform(*p.wobble_period) * h,
                         rng.uniform(0, 2 * math.pi), paper)
        if rng.random() < p.p_margin:
            img = add_margins(img, int(rng.uniform(0, p.margin) * h), int(rng.uniform(0, p.margin) * h), paper)
        if rng.random() < p.p_ink:
            img = ink_texture(img, paper, rng.uniform(*p.ink), rng)
        if rng.random() < p.p_paper:
            img = paper_texture(img, rng.uniform(*p.stain), rng.uniform(*p.grain), rng)
        if rng.random() < p.p_blur:
            img = img.filter(ImageFilter.GaussianBlur(rng.uniform(*p.blur) * h / 64))
        if rng.random() < p.p_jpeg:
            img = jpeg(img, int(rng.integers(p.jpeg_quality[0], p.jpeg_quality[1] + 1)))
        return img


# --- writer style ------------------------------------------------------------------------------

def wobble(img: Image.Image, amplitude: float, period: float, phase: float, fill: float) -> Image.Image:
    """Bend the baseline: column x moves down by amplitude * sin(2 pi x / period + phase) px,
    on a canvas grown by ceil(amplitude) above and below so that no ink is cut off."""
    pad = int(math.ceil(amplitude))
    a = np.pad(np.asarray(img, dtype=np.float32), ((pad, pad), (0, 0)), constant_values=fill)
    x = np.arange(a.shape[1], dtype=np.float32)
    shift = amplitude * np.sin(2 * math.pi * x / period + phase)
    dy = np.broadcast_to(-shift[None, :], a.shape).astype(np.float32)   # out[y] = in[y - shift]
    out = remap(a, np.zeros_like(a), dy, fill)
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), mode="L")


def add_margins(img: Image.Image, top: int, bottom: int, fill: float) -> Image.Image:
    """Paper above and below: after height normalisation the ink is smaller and sits elsewhere.
    (No effect under ``features.image.dewarp``, which cuts every line to its own ink band.)"""
    a = np.pad(np.asarray(img), ((max(0, top), max(0, bottom)), (0, 0)), constant_values=int(round(fill)))
    return Image.fromarray(a, mode="L")


def _smooth(shape: tuple[int, int], spacing: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth N(0, 1)-ish random field over ``shape`` changing over ``spacing`` px."""
    return elastic_field(shape[0], shape[1], 1.0, spacing, rng)[0]


def ink_texture(img: Image.Image, paper: float, level: float, rng: np.random.Generator) -> Image.Image:
    """Uneven pen pressure: each pixel's ink (paper - grey) is scaled by level + 0.15 * a smooth
    field, clipped to [0.2, 1]; paper pixels (no ink) are unchanged."""
    a = np.asarray(img, dtype=np.float32)
    ink = np.clip(paper - a, 0, None)
    scale = np.clip(level + 0.15 * _smooth(a.shape, max(4.0, a.shape[0] / 2), rng), 0.2, 1.0)
    out = np.where(ink > 0, paper - ink * scale, a)
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), mode="L")


def paper_texture(img: Image.Image, stain: float, grain: float, rng: np.random.Generator) -> Image.Image:
    """Stains (a smooth field of about ``stain`` grey levels, changing over a line height) and grain
    (per-pixel noise of sd ``grain``) added to the whole image."""
    a = np.asarray(img, dtype=np.float32)
    field = stain * _smooth(a.shape, max(4.0, float(a.shape[0])), rng)
    out = a + field + rng.normal(0.0, grain, a.shape).astype(np.float32)
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), mode="L")


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    """A JPEG round trip at ``quality`` (blocking and ringing artefacts of scanned archives)."""
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    return Image.open(buf).convert("L")


def _ink(img: Image.Image, paper: float) -> float:
    return float(np.clip(paper - np.asarray(img, dtype=np.float32), 0, None).sum())


def affine(img: Image.Image, angle: float = 0.0, stretch: float = 1.0, shear: float = 0.0,
           fill: float = 255) -> Image.Image:
    """Rotate by ``angle`` (radians, counter-clockwise), stretch x by ``stretch`` and shear
    (x += shear * (height/2 - y): positive leans the strokes to the right), about the centre, on a
    canvas grown to hold the whole result."""
    w, h = img.size
    ca, sa = math.cos(angle), math.sin(angle)
    # forward map about the centre: p' = R @ Sh @ S @ p, with image y pointing down
    fwd = np.array([[1.0, -shear], [0.0, 1.0]]) @ np.diag([stretch, 1.0])
    fwd = np.array([[ca, sa], [-sa, ca]]) @ fwd
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [-w / 2, h / 2], [w / 2, h / 2]])
    moved = corners @ fwd.T
    nw = max(1, int(math.ceil(moved[:, 0].max() - moved[:, 0].min())))
    nh = max(1, int(math.ceil(moved[:, 1].max() - moved[:, 1].min())))
    inv = np.linalg.inv(fwd)
    # PIL wants output -> input: p = inv @ (p' - c') + c
    cx, cy, ncx, ncy = w / 2, h / 2, nw / 2, nh / 2
    a, b = inv[0]
    d, e = inv[1]
    coeffs = (a, b, cx - a * ncx - b * ncy, d, e, cy - d * ncx - e * ncy)
    return img.transform((nw, nh), Image.AFFINE, coeffs, resample=Image.BILINEAR, fillcolor=int(round(fill)))
