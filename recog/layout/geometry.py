"""Where a text line lies on its page: its polygon, or a band around its baseline.

Layout tools describe a line by a polygon around its writing and a baseline under it.  The
polygon is what a line crop should hold, but exports often carry polygons that miss the writing:
Transkribus' baseline-to-polygon step leaves some lines with a band only ~15 px high along the
baseline, which keeps the x-height and cuts off every ascender and descender (the Hooker letters
have 373 such lines; they read at 55 % CER).  The baseline, which annotators check, is then the
better guide, and kraken cuts every line from it.

So a line is cut from its polygon unless the polygon is missing or thinner than ``THIN`` of the
page's line spacing; then from a band around its baseline, ``ABOVE`` of the spacing over it and
``BELOW`` under it, never reaching past the neighbouring baselines (the lines above and below at
the same x):

    S       = median over lines of the distance to the nearest baseline above (overlapping in x)
    h(line) = polygon area / baseline length                     (mean polygon height)
    thin    = h < THIN · S
    top(x)  = max(b(x) − ABOVE · S, b_above(x)),   bottom(x) = min(b(x) + BELOW · S, b_below(x))

The fractions are measured on the 6,642 good Hooker polygons (S ≈ 100 px at the pages' 2,136 px
height): their tops lie a median 0.84 S above the baseline and their bottoms 0.50 S below it; the
thin polygons' mean height is under 0.25 S for 99 % of them, against 0.46 S for the thinnest
5 % of the good ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

Point = tuple[float, float]

THIN = 0.3      # a polygon thinner than this fraction of the line spacing is not trusted
ABOVE = 0.8     # band over the baseline, in line spacings (ascenders, capitals)
BELOW = 0.45    # band under it (descenders)
EXTEND = 0.2    # the band goes this far past each end of the baseline (a leading capital's loop)
MIN_GAP = 0.3   # baselines closer than this (in spacings) are the same line's pieces, not neighbours


@dataclass
class Region:
    """The polygon a line is cut with and where it came from ("polygon" or "baseline")."""
    polygon: list[Point]
    source: str


def polygon_area(poly: list[Point]) -> float:
    """Shoelace formula: |Σ (x_i y_{i+1} − x_{i+1} y_i)| / 2."""
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(poly, poly[1:] + poly[:1]))) / 2


def _x_range(line: list[Point]) -> tuple[float, float]:
    xs = [p[0] for p in line]
    return min(xs), max(xs)


def baseline_y(baseline: list[Point], xs: np.ndarray) -> np.ndarray:
    """The baseline's y at each x (linear between its points, flat beyond its ends)."""
    pts = sorted(baseline)
    return np.interp(xs, [p[0] for p in pts], [p[1] for p in pts])


def _samples(baseline: list[Point], n: int = 32) -> np.ndarray:
    x0, x1 = _x_range(baseline)
    return np.linspace(x0, x1, n)


def line_spacing(baselines: list[list[Point] | None]) -> float | None:
    """The page's line spacing S: the median, over lines, of the median vertical distance to the
    nearest baseline above that overlaps the line in x (None if no line has one)."""
    usable = [b for b in baselines if b is not None and len(b) >= 2 and _x_range(b)[1] > _x_range(b)[0]]
    gaps = []
    for i, b in enumerate(usable):
        xs = _samples(b)
        y = baseline_y(b, xs)
        nearest = []
        for j, other in enumerate(usable):
            lo, hi = _x_range(other)
            inside = (xs >= lo) & (xs <= hi)
            if i == j or inside.sum() < 3:
                continue
            dy = float(np.median(y[inside] - baseline_y(other, xs[inside])))
            if dy > 0:
                nearest.append(dy)
        if nearest:
            gaps.append(min(nearest))
    if not gaps:
        return None
    # the nearest baseline above may be a piece of the same line (a superscript, a split line):
    # measure once, drop the gaps far below the median, measure again
    s = float(np.median(gaps))
    wide = [g for g in gaps if g > MIN_GAP * s]
    return float(np.median(wide)) if wide else s


def mean_height(polygon: list[Point], baseline: list[Point] | None) -> float:
    """A polygon's mean height: its area over its length (the baseline's x extent, else its own)."""
    x0, x1 = _x_range(baseline if baseline and len(baseline) >= 2 else polygon)
    return polygon_area(polygon) / max(x1 - x0, 1.0)


def baseline_band(baseline: list[Point], spacing: float, others: list[list[Point]],
                  above: float = ABOVE, below: float = BELOW, extend: float = EXTEND,
                  n: int = 32) -> list[Point]:
    """The polygon from ``above·S`` over the baseline to ``below·S`` under it, stretched ``extend·S``
    past its ends, and clipped at each x by the nearest other baseline above and below (stretched
    the same way)."""
    x0, x1 = _x_range(baseline)
    xs = np.linspace(x0 - extend * spacing, x1 + extend * spacing, n)
    y = baseline_y(baseline, xs)
    top, bottom = y - above * spacing, y + below * spacing
    for other in others:  # each neighbour reaches as far past its ends as this band does
        lo, hi = _x_range(other)
        lo, hi = lo - extend * spacing, hi + extend * spacing
        inside = (xs >= lo) & (xs <= hi)
        if not inside.any():
            continue
        yo = baseline_y(other, xs)
        gap = yo - y
        over = inside & (gap < -MIN_GAP * spacing)    # a line above: do not reach past its baseline
        under = inside & (gap > MIN_GAP * spacing)    # a line below: stop at its baseline
        top = np.where(over, np.maximum(top, yo), top)
        bottom = np.where(under, np.minimum(bottom, yo), bottom)
    return [(float(a), float(b)) for a, b in zip(xs, top)] + \
           [(float(a), float(b)) for a, b in zip(xs[::-1], bottom[::-1])]


def line_regions(lines: list[tuple[list[Point] | None, list[Point] | None]],
                 thin: float = THIN) -> list[Region | None]:
    """For each line, given as (polygon, baseline), the region to cut: its polygon when it has one
    at least ``thin·S`` high on average, else the band around its baseline; None when it has
    neither a usable polygon nor a baseline.  S is measured over the page's baselines; on a page
    without two overlapping baselines every usable polygon is kept and baselines get the band of
    the mean height of those polygons (none: the line is None)."""
    baselines = [b if b and len(b) >= 2 and _x_range(b)[1] > _x_range(b)[0] else None for _, b in lines]
    polys = [p if p and len(p) >= 3 and polygon_area(p) > 0 else None for p, _ in lines]
    spacing = line_spacing(baselines)
    if spacing is None:
        heights = [mean_height(p, b) for p, b in zip(polys, baselines) if p is not None]
        spacing = float(np.median(heights)) / (ABOVE + BELOW) if heights else None
        thin = 0.0  # no spacing to judge a polygon by
    out: list[Region | None] = []
    for i, (poly, base) in enumerate(zip(polys, baselines)):
        if poly is not None and (spacing is None or mean_height(poly, base) >= thin * spacing):
            out.append(Region(poly, "polygon"))
        elif base is not None and spacing is not None:
            others = [b for j, b in enumerate(baselines) if j != i and b is not None]
            out.append(Region(baseline_band(base, spacing, others), "baseline"))
        elif poly is not None:
            out.append(Region(poly, "polygon"))
        else:
            out.append(None)
    return out


def page_regions(lines, cut: str = "auto") -> list[Region | None]:
    """The region of every line of a page (objects with ``polygon`` and ``baseline``, such as
    ``recog.layout.files.LayoutLine``; pass all of a page's lines: those without text are
    neighbours too).  ``cut="polygon"``: each usable polygon as it is, no baseline bands."""
    geometry = [(line.polygon, line.baseline) for line in lines]
    if cut == "polygon":
        return [Region(p, "polygon") if p and len(p) >= 3 and polygon_area(p) > 0 else None for p, _ in geometry]
    return line_regions(geometry)


def crop_region(page: Image.Image, polygon: list[Point], margin: int = 4, mask: bool = True,
                max_height: int | None = None) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """Cut one line out of a grey page: (image, bbox on the page as x0, y0, x1, y1 exclusive).
    The crop is the polygon's bounding box plus ``margin`` px, clipped to the page; with ``mask``
    the pixels outside the polygon are white; with ``max_height`` it is scaled down to at most
    that height (aspect kept).  ValueError if the polygon lies outside the page."""
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    x0 = max(0, int(min(xs)) - margin)
    y0 = max(0, int(min(ys)) - margin)
    x1 = min(page.width, int(max(xs)) + 1 + margin)
    y1 = min(page.height, int(max(ys)) + 1 + margin)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"polygon lies outside the {page.width}x{page.height} page")
    img = page.crop((x0, y0, x1, y1))
    if mask:
        m = Image.new("L", img.size, 0)
        ImageDraw.Draw(m).polygon([(x - x0, y - y0) for x, y in polygon], fill=255, outline=255)
        img = Image.composite(img, Image.new("L", img.size, 255), m)
    if max_height and img.height > max_height:
        w = max(1, round(img.width * max_height / img.height))
        img = img.resize((w, max_height), Image.LANCZOS)
    return img, (x0, y0, x1, y1)
