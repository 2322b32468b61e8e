"""Synthetic writers and their lines (:mod:`data_prep.synth_lines`): a writer is a font face plus a
drawn style (size, slant, stroke, spacing, baseline drift, ink and paper); a line is rendered with
the font's kerning, then degraded (elastic distortion, blur, uneven ink, paper texture, noise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from recog.features.augment import elastic_distort, elastic_field

from . import fonts as F
from . import google_fonts as G

#: joined-up (script) families: letter spacing stays near zero so that the joins hold
CONNECTED_FAMILIES = frozenset({"dancingscript", "kristi", "lobster", "leckerli", "kaushan", "ecolier",
                                "havana"})

# --- writers -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class WriterStyle:
    size: int              # font size, px
    slant: float           # shear: x shift per px above the baseline (positive leans right)
    stroke: int            # extra outline, px
    spacing: float         # extra gap between letters, px
    word_space: float      # extra gap at spaces, px
    drift: float           # std of the baseline random-walk step, px per character
    skew: float            # baseline tilt, degrees (per line: this plus a little noise)
    size_jitter: float     # relative std of per-character size
    ink: int               # ink grey level
    paper: int             # paper grey level
    max_chars: int         # line width in characters


@dataclass(frozen=True)
class Writer:
    id: str
    split: str
    face: F.FontFace
    style: WriterStyle


def sample_style(rng: np.random.Generator, face: F.FontFace) -> WriterStyle:
    pr = F.probe(face.path)
    # x-height 15-28 px, but ascender top to descender foot kept within 40-105 px (fonts with
    # tall loops such as Ecolier or dkg would otherwise give very tall lines)
    xh_target = rng.uniform(15, 28)
    size = xh_target / max(pr.xheight, 0.1)
    size = int(round(min(max(size, 40 / max(pr.body, 0.1)), 105 / max(pr.body, 0.1))))
    xh = max(4.0, pr.xheight * size)
    connected = face.family in CONNECTED_FAMILIES or face.family in G.CONNECTED
    bold = any(k in face.name.lower() for k in ("bold", "semibold", "bd"))
    stroke = int(rng.choice([0, 0, 1, 1, 2])) if not bold else int(rng.choice([0, 0, 1]))
    # the outline must not close the font's counters: 2 * stroke <= its median gap at this size
    stroke = min(stroke, int(pr.counter * size / 2))
    spacing = rng.uniform(-0.02, 0.03) * xh if connected else rng.uniform(-0.06, 0.25) * xh
    ink = int(rng.uniform(0, 90))
    paper = int(rng.uniform(max(200, ink + 110), 255))
    return WriterStyle(
        size=size,
        slant=round(float(np.clip(rng.triangular(-0.3, 0.0, 0.3), -0.3, 0.3)), 4),
        stroke=stroke,
        spacing=round(float(spacing), 3),
        word_space=round(float(rng.uniform(-0.1, 0.6) * xh), 3),
        drift=round(float(rng.uniform(0.0, 0.05) * xh), 4),
        skew=round(float(rng.uniform(-1.0, 1.0)), 3),
        size_jitter=round(float(rng.uniform(0.0, 0.05)), 4),
        ink=ink,
        paper=paper,
        max_chars=int(rng.integers(40, 61)),
    )


# --- rendering ---------------------------------------------------------------------------------

def _lowfreq(h: int, w: int, spacing: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random field of about unit standard deviation."""
    return elastic_field(h, w, 1.0, spacing, rng)[0]


def render_ink(text: str, font_path: str, style: WriterStyle, rng: np.random.Generator) -> tuple[Image.Image, int]:
    """The ink of one line as an 'L' mask (255 = ink), cropped to the ink plus a margin; and the
    y of the baseline in it."""
    font = F.load_font(font_path, style.size)
    n = len(text)
    # pen positions with the font's pair kerning: x[i+1] = x[i] + len(c[i] c[i+1]) - len(c[i+1])
    adv = np.zeros(n)
    for i in range(1, n):
        adv[i] = adv[i - 1] + font.getlength(text[i - 1:i + 1]) - font.getlength(text[i])
    spaces = np.cumsum([0] + [c == " " for c in text[:-1]]) if n else np.zeros(0)
    xs = adv + np.arange(n) * style.spacing + spaces * style.word_space
    # baseline: AR(1) random walk (slow wander) plus a skew
    steps = rng.normal(0.0, style.drift, n) if style.drift > 0 else np.zeros(n)
    walk = np.zeros(n)
    for i in range(1, n):
        walk[i] = 0.92 * walk[i - 1] + steps[i]
    skew = math.tan(math.radians(style.skew + rng.normal(0.0, 0.4)))
    ys = walk - skew * xs
    sizes = np.clip(np.round(style.size * (1 + style.size_jitter * rng.standard_normal(n))), 6, None).astype(int)

    s = style.size
    pad = int(abs(style.slant) * 3 * s + 2 * s)
    top = int(math.ceil(1.8 * s + max(0.0, -ys.min(initial=0.0))))
    height = top + int(math.ceil(1.2 * s + max(0.0, ys.max(initial=0.0)))) + 2 * style.stroke
    width = int(math.ceil((xs.max(initial=0.0) if n else 0) + 2 * s)) + 2 * pad
    mask = Image.new("L", (width, height), 0)
    d = ImageDraw.Draw(mask)
    for ch, x, y, sz in zip(text, xs, ys, sizes):
        if ch == " ":
            continue
        f = F.load_font(font_path, int(sz))
        d.text((pad + float(x), top + float(y)), ch, font=f, fill=255, anchor="ls",
               stroke_width=style.stroke, stroke_fill=255)
    if style.slant:
        # x_src = x + slant * (y - top): rows above the baseline move right for slant > 0
        mask = mask.transform(mask.size, Image.AFFINE, (1, style.slant, -style.slant * top, 0, 1, 0),
                              resample=Image.BILINEAR, fillcolor=0)
    bbox = mask.getbbox()
    if bbox is None:
        raise ValueError(f"nothing drawn for {text!r} with {font_path}")
    ml, mr = (int(v) for v in rng.integers(6, 22, 2))
    mt, mb = (int(v) for v in rng.integers(4, 15, 2))
    x0, y0, x1, y1 = bbox
    out = Image.new("L", (x1 - x0 + ml + mr, y1 - y0 + mt + mb), 0)
    out.paste(mask.crop(bbox), (ml, mt))
    return out, top - y0 + mt


def degrade(mask: Image.Image, style: WriterStyle, rng: np.random.Generator) -> Image.Image:
    """Ink mask -> grey line image: elastic distortion, blur, uneven ink, paper texture, noise."""
    s = style.size
    if rng.random() < 0.8:
        mask = elastic_distort(mask, alpha=rng.uniform(0.005, 0.02) * s, spacing=rng.uniform(0.3, 0.8) * s,
                               rng=rng, fill=0)
    r = rng.uniform(0.0, 1.1)
    if r > 0.3:
        mask = mask.filter(ImageFilter.GaussianBlur(r))
    m = np.asarray(mask, dtype=np.float32) / 255.0
    h, w = m.shape
    ink_var = rng.uniform(0.0, 0.25)
    strength = 1.0 - ink_var * np.abs(_lowfreq(h, w, rng.uniform(0.5, 2.0) * s, rng))
    paper = style.paper + rng.uniform(0, 12) * _lowfreq(h, w, rng.uniform(1.0, 4.0) * s, rng)
    ink = style.ink + rng.uniform(-10, 10)
    a = paper - m * np.clip(strength, 0, 1) * (paper - ink)
    sigma = rng.uniform(0.0, 10.0)
    if sigma > 0.5:
        a = a + rng.normal(0.0, sigma, a.shape).astype(np.float32)
    return Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8), mode="L")


def otsu(a: np.ndarray) -> int:
    """Otsu's threshold of a uint8 array (pixels <= threshold are ink)."""
    hist = np.bincount(a.ravel(), minlength=256).astype(np.float64)
    p = hist / max(1.0, hist.sum())
    omega = np.cumsum(p)
    mu = np.cumsum(p * np.arange(256))
    mu_t = mu[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu_t * omega - mu) ** 2 / (omega * (1 - omega))
    between = np.nan_to_num(between, nan=0.0, posinf=0.0)
    return int(np.argmax(between))


def count_components(ink: np.ndarray) -> int:
    """Estimate of the connected ink blobs: runs of ink columns separated by empty columns."""
    cols = ink.any(axis=0).astype(np.int8)
    return int(max(1, np.count_nonzero(np.diff(np.concatenate([[0], cols])) == 1)))


def render_line(text: str, font_path: str, style: WriterStyle, seed) -> Image.Image:
    """One synthetic grey line image ('L'); ``seed``: anything np.random.default_rng takes."""
    rng = np.random.default_rng(seed)
    mask, _ = render_ink(text, font_path, style, rng)
    return degrade(mask, style, rng)
