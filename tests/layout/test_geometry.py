"""Line regions from polygons and baselines, on synthetic pages whose ink positions are known."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from recog.layout.geometry import (ABOVE, BELOW, Region, baseline_band, crop_region, line_regions, line_spacing,
                                   polygon_area)

BASES = [150, 250, 350, 450]  # baselines 100 px apart, x 100..900
X0, X1 = 100, 900


def baseline(y, x0=X0, x1=X1):
    return [(float(x0), float(y)), (float((x0 + x1) / 2), float(y)), (float(x1), float(y))]


def box(x0, y0, x1, y1):
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def ink_of_line(draw, y):
    """x-height body (30 px over the baseline), ascenders to 70 px over it, descenders 35 under."""
    for x in range(X0 + 10, X1 - 10, 40):
        draw.rectangle((x, y - 30, x + 20, y), fill=0)
    for x in range(X0 + 15, X1 - 20, 120):
        draw.rectangle((x, y - 70, x + 4, y), fill=0)       # ascender stems
        draw.rectangle((x + 60, y, x + 64, y + 35), fill=0)  # descender stems


def page_with_lines():
    page = Image.new("L", (1000, 600), 255)
    draw = ImageDraw.Draw(page)
    for y in BASES:
        ink_of_line(draw, y)
    return page


def line_ink_mask(y, size=(1000, 600)):
    m = Image.new("L", size, 255)
    ink_of_line(ImageDraw.Draw(m), y)
    return np.asarray(m) == 0


def body_mask(y, size=(1000, 600)):
    m = Image.new("L", size, 255)
    d = ImageDraw.Draw(m)
    for x in range(X0 + 10, X1 - 10, 40):
        d.rectangle((x, y - 30, x + 20, y), fill=0)
    return np.asarray(m) == 0


def region_mask(polygon, size=(1000, 600)):
    m = Image.new("L", size, 0)
    ImageDraw.Draw(m).polygon(polygon, fill=255, outline=255)
    return np.asarray(m) > 0


def test_line_spacing_is_the_distance_between_neighbouring_baselines():
    assert line_spacing([baseline(y) for y in BASES]) == pytest.approx(100)
    # a superscript piece 20 px over the second line is not a line of its own
    pieces = [baseline(y) for y in BASES] + [baseline(230, 400, 500)]
    assert line_spacing(pieces) == pytest.approx(100, abs=1)
    # lines in another column (no overlap in x) are no neighbours
    assert line_spacing([baseline(100, 0, 100), baseline(160, 500, 900)]) is None


def test_thin_polygon_is_replaced_by_the_band_that_holds_all_of_the_line_s_ink():
    page = page_with_lines()
    good = [box(X0 - 5, y - 80, X1 + 5, y + 45) for y in BASES]
    thin = box(X0, BASES[1] - 15, X1, BASES[1])  # the Transkribus 15-px band along the baseline
    lines = [(good[0], baseline(BASES[0])), (thin, baseline(BASES[1])),
             (good[2], baseline(BASES[2])), (good[3], baseline(BASES[3]))]
    regions = line_regions(lines)
    assert [r.source for r in regions] == ["polygon", "baseline", "polygon", "polygon"]
    assert regions[0].polygon == good[0]

    ink = line_ink_mask(BASES[1])
    inside = region_mask(regions[1].polygon)
    assert (ink & inside).sum() == ink.sum()  # every ascender and descender pixel of the line
    # the thin polygon it replaces held under half of them (the control: the old cut was bad)
    assert (ink & region_mask(thin)).sum() < 0.5 * ink.sum()
    # and none of the neighbours' x-height bodies
    for y in (BASES[0], BASES[2]):
        assert (body_mask(y) & inside).sum() == 0

    img, bbox = crop_region(page, regions[1].polygon, margin=0)
    a = np.asarray(img) == 0
    assert a.sum() >= ink.sum()  # the crop holds the line's ink (and only ascenders of the line below)
    assert bbox[1] <= BASES[1] - 70 and bbox[3] >= BASES[1] + 35


def test_band_never_reaches_past_the_neighbouring_baselines():
    band = baseline_band(baseline(200), 100.0, [baseline(150), baseline(240, 300, 400)])
    ys = np.array([p[1] for p in band])
    xs = np.array([p[0] for p in band])
    top, bottom = ys[: len(ys) // 2], ys[len(ys) // 2:][::-1]
    x = xs[: len(xs) // 2]
    assert top.min() >= 150 - 1e-6                     # the line above (ABOVE·S = 80 would reach 120)
    assert np.all(bottom[(x >= 300) & (x <= 400)] <= 240 + 1e-6)  # a line below in part of the x range
    assert np.all(bottom[(x < 270) | (x > 430)] == pytest.approx(200 + BELOW * 100))
    assert top[x < X0].size > 0                       # stretched past the baseline's left end
    assert polygon_area(band) > 0


def test_missing_polygon_uses_the_baseline_and_nothing_gives_none():
    lines = [(None, baseline(y)) for y in BASES[:3]] + [(None, None)]
    regions = line_regions(lines)
    assert [r.source if r else None for r in regions] == ["baseline", "baseline", "baseline", None]
    ys = [p[1] for p in regions[1].polygon]
    assert min(ys) == pytest.approx(BASES[1] - ABOVE * 100)
    assert max(ys) == pytest.approx(BASES[1] + BELOW * 100)


def test_page_without_spacing_keeps_its_polygons():
    # one line only: no spacing to judge a polygon by, so even a thin one is kept
    thin = box(X0, 135, X1, 150)
    assert line_regions([(thin, baseline(150))]) == [Region(thin, "polygon")]
    # a lone baseline next to polygons gets a band as high as they are
    r = line_regions([(box(X0, 70, X1, 195), baseline(150, X0, X1)), (None, baseline(300, 1000, 1500))])
    assert r[1].source == "baseline"
    ys = [p[1] for p in r[1].polygon]
    assert max(ys) - min(ys) == pytest.approx(125, rel=0.01)


def test_crop_region_masks_and_scales():
    page = page_with_lines()
    img, bbox = crop_region(page, box(100, 100, 300, 200), margin=4, max_height=52)
    assert bbox == (96, 96, 305, 205)
    assert img.height == 52 and img.width == round(209 * 52 / 109)
    with pytest.raises(ValueError, match="outside"):
        crop_region(page, box(2000, 2000, 2100, 2100))
