"""Line images -> (width, height) column features; every image mode we accept; clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import render_line
from recog.config import FeatureConfig, ImageFeatures
from recog.features import FeatureError, extract, feature_dim
from recog.features.image import deslant, image_features, load_grey


@pytest.fixture
def line_png(tmp_path):
    img = render_line("the cat sat", height=32, seed=3)
    p = tmp_path / "line.png"
    img.save(p)
    return p, img


def test_shape_range_and_ink_is_high(line_png):
    p, img = line_png
    w, h = img.size
    f = image_features(p, ImageFeatures(height=32, pad=0))
    assert f.dtype == np.float32
    assert f.shape == (w, 32)  # same height: one frame per pixel column
    assert f.min() >= 0.0 and f.max() <= 1.0
    src = np.asarray(img)
    ink = src < 100          # the text was drawn with grey level 20 on 235
    paper = src > 200
    assert ink.sum() > 50
    feats = f.T              # back to (height, width) to line up with the source pixels
    assert feats[ink].mean() > 0.8
    assert feats[paper].mean() < 0.2
    assert feats[ink].mean() > feats[paper].mean() + 0.6


def test_no_invert_keeps_ink_dark(line_png):
    p, img = line_png
    f = image_features(p, ImageFeatures(height=32, pad=0, invert=False)).T
    src = np.asarray(img)
    assert f[src < 100].mean() < f[src > 200].mean() - 0.6


def test_padding_columns(line_png):
    p, img = line_png
    f = image_features(p, ImageFeatures(height=32, pad=4))
    assert f.shape == (img.size[0] + 8, 32)
    assert np.all(f[:4] == 0.0) and np.all(f[-4:] == 0.0)  # inverted: padding is paper = 0
    f = image_features(p, ImageFeatures(height=32, pad=3, invert=False))
    assert np.all(f[:3] == 1.0) and np.all(f[-3:] == 1.0)


@pytest.mark.parametrize("height", [16, 48, 64])
def test_aspect_ratio_kept(line_png, height):
    p, img = line_png
    w, h = img.size
    f = image_features(p, ImageFeatures(height=height, pad=4))
    assert f.shape == (round(w * height / h) + 8, height)


def test_extract_dispatches_on_modality(line_png):
    p, _ = line_png
    cfg = FeatureConfig(modality="image", image=ImageFeatures(height=24))
    f = extract(p, cfg)
    assert f.shape[1] == feature_dim(cfg) == 24
    np.testing.assert_array_equal(f, image_features(p, cfg.image))


def _variants(img: Image.Image) -> dict[str, Image.Image]:
    rgba = img.convert("RGBA")
    i16 = Image.fromarray(np.asarray(img).astype(np.uint16) * 257)
    assert i16.mode == "I;16"
    return {
        "1": img.convert("1"),
        "L": img,
        "P": img.convert("RGB").convert("P"),
        "RGB": img.convert("RGB"),
        "RGBA": rgba,
        "LA": img.convert("LA"),
        "I;16": i16,
    }


def test_image_modes_all_load(tmp_path, line_png):
    _, img = line_png
    cfg = ImageFeatures(height=32, pad=0)
    ref = image_features(line_png[0], cfg)
    src = np.asarray(img)
    for mode, im in _variants(img).items():
        p = tmp_path / f"m_{mode.replace(';', '_')}.png"
        im.save(p)
        assert Image.open(p).mode == mode
        assert load_grey(p).mode == "L"
        f = image_features(p, cfg)
        assert f.shape == ref.shape and f.dtype == np.float32, mode
        assert f.T[src < 100].mean() > f.T[src > 200].mean() + 0.5, mode
        if mode in ("L", "RGB", "RGBA", "LA", "I;16"):
            # lossless conversions of the same grey picture give the same features
            np.testing.assert_allclose(f, ref, atol=1e-6, err_msg=mode)


def test_transparent_pixels_are_paper(tmp_path):
    # black but fully transparent everywhere, with one opaque black bar
    a = np.zeros((20, 30, 4), dtype=np.uint8)
    a[:, 10:13, 3] = 255
    p = tmp_path / "t.png"
    Image.fromarray(a, mode="RGBA").save(p)
    grey = np.asarray(load_grey(p))
    assert np.all(grey[:, 10:13] == 0)
    assert np.all(np.delete(grey, [10, 11, 12], axis=1) == 255)
    f = image_features(p, ImageFeatures(height=20, pad=0))
    assert np.all(f[10:13] == 1.0) and f[:10].max() == 0.0 and f[13:].max() == 0.0


def test_float_image_mode_rejected(tmp_path):
    p = tmp_path / "float.tif"
    Image.fromarray(np.random.default_rng(0).random((10, 20)).astype(np.float32)).save(p)
    assert Image.open(p).mode == "F"
    with pytest.raises(FeatureError) as e:
        image_features(p, ImageFeatures())
    assert str(p) in str(e.value)
    assert "unsupported image mode" in str(e.value)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.png"
    p.write_bytes(b"")
    with pytest.raises(FeatureError) as e:
        image_features(p, ImageFeatures())
    assert str(p) in str(e.value) and "empty" in str(e.value)


def test_truncated_png(tmp_path, line_png):
    data = line_png[0].read_bytes()
    p = tmp_path / "trunc.png"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(FeatureError) as e:
        image_features(p, ImageFeatures())
    assert str(p) in str(e.value)


def test_garbage_file(tmp_path):
    p = tmp_path / "garbage.png"
    p.write_bytes(b"this is not a picture at all\n" * 20)
    with pytest.raises(FeatureError) as e:
        image_features(p, ImageFeatures())
    assert str(p) in str(e.value)


def test_corrupt_png_data(tmp_path, line_png):
    data = bytearray(line_png[0].read_bytes())
    # keep the signature and IHDR (first 33 bytes), scramble the compressed pixel data
    for i in range(60, len(data) - 20):
        data[i] = (data[i] * 7 + 13) % 256
    p = tmp_path / "corrupt.png"
    p.write_bytes(bytes(data))
    with pytest.raises(FeatureError) as e:
        image_features(p, ImageFeatures())
    assert str(p) in str(e.value)


def test_missing_file(tmp_path):
    p = tmp_path / "nope.png"
    with pytest.raises(FeatureError, match="no such file"):
        image_features(p, ImageFeatures())


def _projection_energy(img: Image.Image) -> float:
    ink = 255.0 - np.asarray(img, dtype=np.float64)
    return float((ink.sum(axis=0) ** 2).sum())


def _bars(w=80, h=40) -> Image.Image:
    img = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(img)
    for x in range(15, w - 15, 12):
        d.rectangle([x, 0, x + 2, h - 1], fill=0)
    return img


def test_deslant_straightens_sheared_bars():
    upright = _bars()
    w, h = upright.size
    s = 0.4
    # x_src = x + s * (y - h/2): the bars lean
    sheared = upright.transform((w, h), Image.AFFINE, (1, s, -s * h / 2, 0, 1, 0),
                                resample=Image.BILINEAR, fillcolor=255)
    straight = deslant(sheared)
    e_sheared, e_straight, e_upright = map(_projection_energy, (sheared, straight, upright))
    assert e_straight > 1.5 * e_sheared
    assert e_straight > 0.8 * e_upright  # close to the unsheared picture
    # the ink is kept (the image only gets wider with white margins)
    ink = lambda im: float((255.0 - np.asarray(im, dtype=np.float64)).sum())  # noqa: E731
    assert straight.size[1] == h and straight.size[0] >= w
    assert abs(ink(straight) - ink(sheared)) < 0.05 * ink(sheared)


def test_deslant_leaves_upright_alone_and_option_is_used(tmp_path):
    upright = _bars()
    assert deslant(upright) is upright
    w, h = upright.size
    sheared = upright.transform((w, h), Image.AFFINE, (1, -0.3, 0.3 * h / 2, 0, 1, 0),
                                resample=Image.BILINEAR, fillcolor=255)
    p = tmp_path / "sheared.png"
    sheared.save(p)
    plain = image_features(p, ImageFeatures(height=h, pad=0, contrast=False))
    fixed = image_features(p, ImageFeatures(height=h, pad=0, contrast=False, deslant=True))
    assert fixed.shape[1] == h and fixed.shape[0] > plain.shape[0]
    energy = lambda f: float((f.sum(axis=1) ** 2).sum())  # noqa: E731 - per-frame (column) ink
    assert energy(fixed) > 1.5 * energy(plain)


def _polygon_crop(paper: int = 180, ink: int = 40, seed: int = 0):
    """A line crop cut along a slanted polygon: toned paper with strokes inside, pure white
    outside (how Transkribus/kraken line extraction leaves it), plus the polygon's mask."""
    rng = np.random.default_rng(seed)
    h, w = 48, 200
    img = Image.new("L", (w, h), 255)
    mask = Image.new("L", (w, h), 0)
    poly = [(0, 10), (120, 2), (199, 14), (199, 40), (80, 46), (0, 36)]
    ImageDraw.Draw(mask).polygon(poly, fill=1)
    a = np.where(np.asarray(mask) > 0, paper + rng.integers(-4, 5, (h, w)), 255).astype(np.uint8)
    img = Image.fromarray(a, mode="L")
    draw = ImageDraw.Draw(img)
    for x in range(20, 180, 16):
        draw.line([(x, 18), (x + 6, 32)], fill=ink, width=3)
    return img, np.asarray(mask) > 0


@pytest.mark.parametrize("augmented", [False, True])
def test_polygon_mask_becomes_paper(tmp_path, augmented):
    from recog.features.augment import AugmentParams, LineAugmenter

    img, inside = _polygon_crop()
    p = tmp_path / "crop.png"
    img.save(p)
    cfg = ImageFeatures(height=48, pad=0)
    if augmented:
        # a brightness/contrast change moves the mask's white off 255; it must be painted first
        aug = LineAugmenter(seed=0, params=AugmentParams(p_morph=0, p_affine=0, p_slant=0, p_elastic=0,
                                                         p_contrast=1.0, brightness=(-30.0, -30.0)))
        f = image_features(p, cfg, augment=aug).T
    else:
        f = image_features(p, cfg).T
    src = np.asarray(img)
    ink, paper, outside = src < 100, inside & (src > 150), ~inside
    assert f[ink].mean() > 0.8
    # paper and the white outside the polygon both read as paper (0), so no polygon edge remains
    assert f[paper].mean() < 0.1 and f[outside].mean() < 0.1
    # without it (models trained before the option) the toned paper stays well above the white
    if not augmented:
        old = image_features(p, ImageFeatures(height=48, pad=0, fill_mask=False)).T
        assert old[paper].mean() > 0.2 and old[outside].mean() < 0.05


def test_clean_white_paper_is_left_alone(line_png):
    from recog.features.image import fill_mask

    _, img = line_png
    a = np.asarray(img, dtype=np.float32) / 255
    clean = np.where(a > 0.8, 1.0, a).astype(np.float32)  # white paper, ink and grey edges
    assert fill_mask(clean) is clean
    assert fill_mask(np.ones((8, 8), np.float32)).min() == 1.0


def _warp_columns(img: Image.Image, shifts: np.ndarray, height: int) -> Image.Image:
    """Paste each column of ``img`` into a taller white canvas, moved down by ``shifts[x]`` px."""
    a = np.asarray(img)
    out = np.full((height, a.shape[1]), 255, np.uint8)
    for x, s in enumerate(shifts.astype(int)):
        out[s : s + a.shape[0], x] = a[:, x]
    return Image.fromarray(out, mode="L")


def _ink_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per inked column: the ink's mean row; and the inked columns' indices (``a`` grey in [0, 1])."""
    ink = np.clip(0.6 - a, 0, None)
    cols = np.nonzero(ink.sum(axis=0) > 0.5)[0]
    ys = np.arange(a.shape[0])[:, None]
    return (ink[:, cols] * ys).sum(axis=0) / ink[:, cols].sum(axis=0), cols


@pytest.mark.parametrize("shape", ["skew", "arc"])
def test_dewarp_straightens_a_curved_line_and_keeps_its_ink(shape):
    from recog.features.image import dewarp

    straight = render_line("the quick brown fox jumps over the lazy dog, twice over", height=32, seed=3)
    straight = Image.fromarray(np.where(np.asarray(straight) > 128, 255, 20).astype(np.uint8), mode="L")
    w = straight.width
    x = np.linspace(0, 1, w)
    # a line rising 40 px from end to end, or bowing 24 px in the middle
    shifts = 44 - 40 * x if shape == "skew" else 14 + 24 * np.sin(np.pi * x)
    curved = np.asarray(_warp_columns(straight, shifts, 80), dtype=np.float32) / 255
    out = dewarp(curved)
    # the centre of each inked column, less the same column's in the straight render: what is
    # left is the line's wander, without the letters' own up-and-down
    flat, cols = _ink_rows(np.asarray(straight, dtype=np.float32) / 255)
    before, cols_before = _ink_rows(curved)
    after, cols_after = _ink_rows(out)
    assert np.array_equal(cols, cols_before) and np.array_equal(cols, cols_after)
    wander_before, wander_after = np.std(before - flat), np.std(after - flat)
    assert wander_before > 7
    assert wander_after < 0.5 * wander_before, (wander_before, wander_after)
    # columns are moved, not resampled: nothing dark is lost
    assert out.shape[1] == w
    assert (out < 0.5).sum() >= 0.97 * (curved < 0.5).sum()
    # the band follows the writing's size, not the 80 px canvas
    assert out.shape[0] < 60


def test_dewarp_leaves_blank_images_alone_and_option_is_used(tmp_path):
    from recog.features.image import dewarp

    blank = np.full((40, 100), 0.9, np.float32)
    assert dewarp(blank) is blank
    # a small straight line in a tall crop: dewarping crops to the writing, so at the same
    # feature height the line comes out larger, i.e. with more columns
    line = render_line("small words", height=32, seed=1)
    tall = Image.new("L", (line.width, 120), 235)
    tall.paste(line, (0, 44))
    p = tmp_path / "tall.png"
    tall.save(p)
    plain = image_features(p, ImageFeatures(height=32, pad=0))
    fixed = image_features(p, ImageFeatures(height=32, pad=0, dewarp=True))
    assert fixed.shape[1] == plain.shape[1] == 32
    assert fixed.shape[0] > 2 * plain.shape[0]
    assert fixed.max() > 0.9  # still ink = 1 after contrast stretching
