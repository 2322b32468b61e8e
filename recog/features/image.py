"""Line images -> column features (width, height).

Grey conversion, optional dewarping (straighten a curved or skewed line about its centre line)
and deslant, height normalisation keeping the aspect ratio, contrast stretching, inversion
(ink = 1), padding.  Each column of the result is one input frame; with ``frames: rows`` each row
is (seqMNIST: a 28×28 digit read top to bottom, 28 frames of 28 pixels; with ``contrast``,
``invert``, ``fill_mask`` off and ``pad: 0`` the frames are the pixels / 255 as they are).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..config import ImageFeatures

# Modes we convert to 8-bit grey.  32-bit integer/float images and colour spaces such as LAB/HSV
# have no agreed grey mapping for scanned lines, so they are rejected with a clear message.
_GREY_MODES = {"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr", "La"}
_SIXTEEN_BIT = {"I;16", "I;16L", "I;16B", "I;16N"}


def load_grey(path: str | Path) -> Image.Image:
    """Open an image and return it as 8-bit grey ('L'); raise FeatureError naming the file."""
    from . import FeatureError

    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise FeatureError(f"{path}: empty file")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
            img.load()
    except FeatureError:
        raise
    except FileNotFoundError:
        raise FeatureError(f"{path}: no such file") from None
    except UnidentifiedImageError:
        raise FeatureError(f"{path}: not an image Pillow can read (corrupt or unknown format)") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as e:
        raise FeatureError(f"{path}: cannot decode image ({e})") from None
    if img.mode in _SIXTEEN_BIT:
        arr = np.asarray(img, dtype=np.uint16) >> 8
        return Image.fromarray(arr.astype(np.uint8), mode="L")
    if img.mode not in _GREY_MODES:
        raise FeatureError(
            f"{path}: unsupported image mode {img.mode!r}; use 1-, 8- or 16-bit grey, palette, RGB(A) or CMYK"
        )
    if img.mode in ("LA", "PA", "RGBA", "RGBa", "La"):
        # Transparent pixels are paper.
        img = img.convert("RGBA")
        bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, img)
    return img.convert("L")


def deslant(img: Image.Image, max_shear: float = 1.0, steps: int = 21) -> Image.Image:
    """Shear the image so that strokes are vertical: pick the shear that maximises the energy of
    the vertical projection profile (the classic criterion of Vinciarelli & Luettin 2001)."""
    ink = 255.0 - np.asarray(img, dtype=np.float32)
    h, w = ink.shape
    best, best_s = -1.0, 0.0
    ys = np.arange(h, dtype=np.float32) - h / 2
    for s in np.linspace(-max_shear, max_shear, steps):
        shifts = np.round(ys * s).astype(int)
        off = int(np.abs(shifts).max())
        prof = np.zeros(w + 2 * off, dtype=np.float32)
        for y in range(h):
            prof[off + shifts[y] : off + shifts[y] + w] += ink[y]
        score = float((prof**2).sum())
        if score > best + 1e-6 * abs(best):
            best, best_s = score, float(s)
    if abs(best_s) < 1e-9:
        return img
    off = int(abs(best_s) * h / 2) + 1
    new_w = w + 2 * off
    # the profile above moved row y by +s * (y - h/2), so x_dst = x_src + off + s * (y - h/2), i.e.
    # x_src = x_dst - off - s * (y - h/2)
    return img.transform(
        (new_w, h), Image.AFFINE, (1, -best_s, -off + best_s * h / 2, 0, 1, 0), resample=Image.BILINEAR, fillcolor=255
    )


def fill_mask(a: np.ndarray) -> np.ndarray:
    """Paint the polygon mask of a line crop in the paper's tone; ``a`` is grey in [0, 1].

    Line crops cut along a PAGE-XML polygon (Transkribus, eScriptorium, kraken) are pure white
    outside the polygon while the scanned paper inside is a darker tone.  Left so, contrast
    stretching keeps the paper grey and the polygon's outline becomes the strongest edge in the
    image.  If pure white covers part of the crop and the rest is mostly paper (tightly clustered
    grey levels, clearly below white), the white is set to that paper level.  Clean scans and
    renders, whose paper is itself near white, are returned as they are."""
    white = a >= 254.0 / 255.0
    n_white = int(white.sum())
    if n_white < 0.02 * a.size or n_white > 0.95 * a.size:
        return a
    # the non-white pixels of a clean render are ink and anti-aliased edges, spread from 0 to 1
    mid, paper = np.percentile(a[~white], [50, 90])
    if paper < 0.92 and mid > 0.35 and paper - mid < 0.15:
        return np.where(white, np.float32(paper), a)
    return a


def _gauss_matrix(n: int, sigma: float) -> np.ndarray:
    """(n, n) Gaussian smoothing matrix with zero padding outside the signal (scipy's
    ``mode='constant'``): mass near the ends is lost, which keeps ``argmax`` off the edges."""
    x = np.arange(n, dtype=np.float32)
    if sigma <= 0:
        return np.eye(n, dtype=np.float32)
    k = np.exp(-0.5 * ((x[:, None] - x[None, :]) / np.float32(sigma)) ** 2)
    return (k / np.float32(np.sqrt(2.0 * np.pi) * sigma)).astype(np.float32)


def _ink_levels(a: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Ink (``1 - a``) and its paper and dark levels, the 50th and 99th percentiles."""
    ink = 1.0 - a
    lo, hi = np.percentile(ink, [50, 99])
    return ink, float(lo), float(hi)


def centre_line(a: np.ndarray, measure_height: int = 32, smoothness: float = 1.0,
                extra: float = 0.3, levels: tuple[np.ndarray, float, float] | None = None) -> np.ndarray | None:
    """The row of a text line's centre at each column of ``a`` (grey in [0, 1], paper bright), or
    None when the image holds no ink to measure.  ``levels``: ``_ink_levels(a)``, if the caller
    has it already.

    OCRopus's centre normaliser (``lineest.CenterNormalizer``, also kraken's legacy dewarper):
    blur the ink with a Gaussian as wide as the line is high, take each column's darkest row, and
    smooth that curve.  Measured on a copy ``measure_height`` px high, so the cost is small."""
    h, w = a.shape
    if h < 4 or w < 2:
        return None
    ink, lo, hi = levels if levels is not None else _ink_levels(a)
    if hi - lo < 0.05:
        return None
    ink = np.clip((ink - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
    mh = measure_height
    sw = max(1, round(w * mh / h))
    small = np.asarray(Image.fromarray(ink, mode="F").resize((sw, mh), Image.BILINEAR), dtype=np.float32)
    blurred = _gauss_matrix(mh, 0.5 * mh) @ small @ _gauss_matrix(sw, smoothness * mh).T
    smooth = _gauss_matrix(sw, extra * mh)
    # the matrix loses mass at the ends; renormalise so the curve is not pulled towards row 0
    c = (smooth @ np.argmax(blurred, axis=0).astype(np.float32)) / np.maximum(smooth.sum(axis=1), 1e-6)
    # back to full resolution (pixel centres)
    xs = (np.arange(w, dtype=np.float32) + 0.5) * (sw / w) - 0.5
    return (np.interp(xs, np.arange(sw), c + 0.5) * (h / mh) - 0.5).astype(np.float32)


def dewarp(a: np.ndarray, band: float = 4.0) -> np.ndarray:
    """Straighten a text line: shift every column so that the centre line (``centre_line``) is
    horizontal, and keep ``band`` mean absolute ink deviations above and below it.

    The crop's height then follows the writing's own size rather than the crop's: a skewed or
    curved line in a tall bounding box becomes a straight band, and lines of one hand come out at
    one scale.  ``a`` is grey in [0, 1] with bright paper; paint polygon masks first
    (``fill_mask``).  Rows beyond the image read the paper tone.  An image without ink is returned
    unchanged."""
    h = a.shape[0]
    levels = _ink_levels(a)
    centre = centre_line(a, levels=levels)
    if centre is None:
        return a
    ink, lo, hi = levels
    dark = ink > lo + 0.5 * (hi - lo)
    dist = np.abs(np.arange(h, dtype=np.float32)[:, None] - centre[None, :])
    r = int(1 + band * float(dist[dark].mean()))
    paper = float(np.percentile(a, 90))
    padded = np.pad(a, ((r, r), (0, 0)), constant_values=paper)
    rows = np.round(centre).astype(np.int64)[None, :] + np.arange(2 * r)[:, None]  # centre - r .. + r, padded coords
    return np.take_along_axis(padded, np.clip(rows, 0, padded.shape[0] - 1), axis=0)


def normalise(img: Image.Image, cfg: ImageFeatures) -> np.ndarray:
    """Grey PIL image -> (width, height) float32 features; with ``frames: rows`` (rows, width): the
    image scaled to ``height`` pixels wide (not at all when it is that wide), a row per frame."""
    if cfg.dewarp:  # at full resolution, after painting any polygon mask
        a = np.asarray(img, dtype=np.float32) / 255.0
        a = dewarp(fill_mask(a) if cfg.fill_mask else a)
        img = Image.fromarray(np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")
    if cfg.deslant:
        img = deslant(img)
    rows = cfg.frames == "rows"
    w, h = img.size
    size = (cfg.height, max(1, round(h * cfg.height / w))) if rows else (max(1, round(w * cfg.height / h)), cfg.height)
    if not (rows and size == img.size):  # rows of the image's own width are frames as they are
        img = img.resize(size, Image.BILINEAR)
    a = np.asarray(img, dtype=np.float32) / 255.0
    if cfg.fill_mask and not cfg.dewarp:
        a = fill_mask(a)
    if cfg.contrast and a.size > 1:
        # ink towards 0, paper towards 1: stretch between a dark and a bright percentile
        lo, hi = np.percentile(a, [2, 90])
        if hi - lo < 0.05:
            lo, hi = float(a.min()), float(a.max())
        if hi - lo > 1e-3:
            a = (a - lo) / (hi - lo)
    if cfg.invert:
        a = 1.0 - a
    a = np.clip(a, 0.0, 1.0)
    if cfg.pad:
        fill = 0.0 if cfg.invert else 1.0
        a = np.pad(a, ((cfg.pad, cfg.pad), (0, 0)) if rows else ((0, 0), (cfg.pad, cfg.pad)), constant_values=fill)
    return np.ascontiguousarray(a if rows else a.T, dtype=np.float32)  # np.percentile's float64 must not leak


def image_features(path: str | Path | Image.Image, cfg: ImageFeatures, augment=None,
                   require_content: bool = False, name: str = "") -> np.ndarray:
    """Features of a line image file, or of a grey PIL image already in memory (a line cut from
    a page; ``name`` then says where it came from in messages)."""
    img = path if isinstance(path, Image.Image) else load_grey(path)
    if require_content:
        from . import check_content

        check_content(np.asarray(img), name or path)
    if augment is not None:
        if cfg.fill_mask:  # distortions move the white of a polygon mask off white: paint it first
            a = fill_mask(np.asarray(img, dtype=np.float32) / 255.0)
            img = Image.fromarray(np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")
        img = augment(img)
    return normalise(img, cfg)


def frame_position(frame: float, n_in: int, n_out: int, pad: int) -> float:
    """Where output frame ``frame`` of a line lies across it, as a fraction 0..1 of the line's
    width: the network maps ``n_in`` feature columns (``pad`` of them padding on each side) to
    ``n_out`` frames, so frame f covers column (f + ½)·n_in/n_out, and the line's own columns are
    the n_in − 2·pad between the paddings.  Approximate where deslanting widened the line."""
    col = (frame + 0.5) * n_in / max(1, n_out) - pad
    return min(max(col / max(1, n_in - 2 * pad), 0.0), 1.0)
