"""recog.features.augment: random distortions of line images for training."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from recog.config import FeatureConfig
from recog.features import extract
from recog.features.augment import (AugmentParams, LineAugmenter, add_margins, affine, elastic_distort,
                                    elastic_field, ink_texture, jpeg, paper_texture, remap, wobble)

ALWAYS = AugmentParams(p_morph=1.0, p_affine=1.0, p_slant=1.0, p_elastic=1.0, p_contrast=1.0)


def _line(text: str = "the quick brown fox", height: int = 64) -> Image.Image:
    font = ImageFont.load_default(size=36)
    w = int(font.getlength(text)) + 24
    img = Image.new("L", (w, height), 235)
    ImageDraw.Draw(img).text((12, height // 2), text, fill=25, font=font, anchor="lm")
    return img


def _ink(img: Image.Image) -> float:
    """Total ink: darkness below the paper tone (the median), summed."""
    a = np.asarray(img, dtype=np.float64)
    return float(np.clip(np.median(a) - a, 0, None).sum())


def test_output_mode_size_and_change():
    img = _line()
    aug = LineAugmenter(seed=0, params=ALWAYS)
    for _ in range(5):
        out = aug(img)
        assert out.mode == "L"
        assert 0.7 * img.height <= out.height <= 1.8 * img.height
        assert 0.7 * img.width <= out.width <= 1.5 * img.width
        assert out.size != img.size or out.tobytes() != img.tobytes()


def test_default_params_change_most_images():
    img = _line()
    aug = LineAugmenter(seed=1)
    changed = sum(aug(img).tobytes() != img.tobytes() for _ in range(10))
    assert changed >= 7


def test_deterministic_for_a_seed():
    img = _line()
    a, b, c = LineAugmenter(seed=7), LineAugmenter(seed=7), LineAugmenter(seed=8)
    outs_a = [a(img).tobytes() for _ in range(4)]
    assert outs_a == [b(img).tobytes() for _ in range(4)]
    assert outs_a != [c(img).tobytes() for _ in range(4)]


def test_ink_roughly_preserved():
    img = _line()
    ref = _ink(img)
    aug = LineAugmenter(seed=3, params=ALWAYS)
    for _ in range(8):
        assert 0.3 * ref <= _ink(aug(img)) <= 3.0 * ref


def test_other_modes_converted():
    out = LineAugmenter(seed=0)(_line().convert("RGB"))
    assert out.mode == "L"


def test_remap_identity_and_shift():
    a = np.arange(20, dtype=np.float32).reshape(4, 5)
    z = np.zeros_like(a)
    assert np.allclose(remap(a, z, z, fill=-1), a)
    shifted = remap(a, z + 1, z, fill=-1)        # out[y, x] = a[y, x + 1]
    assert np.allclose(shifted[:, :-1], a[:, 1:]) and np.allclose(shifted[:, -1], -1)


def test_elastic_field_smooth_and_scaled():
    rng = np.random.default_rng(0)
    dx, dy = elastic_field(60, 400, alpha=3.0, spacing=20, rng=rng)
    assert dx.shape == dy.shape == (60, 400)
    assert 1.0 < dx.std() < 6.0
    assert np.abs(np.diff(dx, axis=1)).max() < 1.5          # smooth: small change per pixel
    img = _line()
    assert elastic_distort(img, 0.0, 20, rng).tobytes() == img.tobytes()


def test_affine_identity_and_shear_grows_width():
    img = _line()
    same = affine(img)
    assert same.size == img.size
    assert np.abs(np.asarray(same, dtype=int) - np.asarray(img, dtype=int)).max() <= 1
    sheared = affine(img, shear=0.3, fill=235)
    assert sheared.height == img.height and sheared.width >= img.width + int(0.3 * img.height) - 1


def test_extract_hook(tmp_path):
    p = tmp_path / "line.png"
    _line().save(p)
    cfg = FeatureConfig()
    plain = extract(p, cfg)
    aug = extract(p, cfg, augment=LineAugmenter(seed=0, params=ALWAYS))
    assert aug.shape[1] == plain.shape[1] == cfg.image.height and aug.dtype == np.float32


@pytest.mark.parametrize("size", [(1, 1), (3, 2)])
def test_tiny_images(size):
    out = LineAugmenter(seed=0, params=ALWAYS)(Image.new("L", size, 200))
    assert out.mode == "L" and out.width >= 1 and out.height >= 1


# --- writer style -----------------------------------------------------------------------------

def _hline(width: int = 200, height: int = 40, row: int = 20) -> Image.Image:
    a = np.full((height, width), 230, np.uint8)
    a[row, :] = 20
    return Image.fromarray(a, mode="L")


def test_wobble_follows_the_sine():
    amp, period = 3.0, 50.0
    out = np.asarray(wobble(_hline(), amp, period, 0.0, 230), dtype=np.float64)
    assert out.shape == (40 + 2 * 3, 200)
    ink = np.clip(230 - out, 0, None)
    centre = (ink * np.arange(out.shape[0])[:, None]).sum(0) / ink.sum(0)   # ink row per column
    x = np.arange(200)
    want = 20 + 3 + amp * np.sin(2 * np.pi * x / period)                    # line moved down by the sine
    assert np.abs(centre - want).max() < 0.35
    assert ink.sum() == pytest.approx(210 * 200, rel=0.02)                 # no ink lost


def test_margins_add_paper_only():
    img = _line()
    out = add_margins(img, 7, 3, 235)
    a = np.asarray(out)
    assert out.size == (img.width, img.height + 10)
    assert (a[:7] == 235).all() and (a[-3:] == 235).all()
    assert np.array_equal(a[7:-3], np.asarray(img))


def test_ink_texture_lightens_ink_and_keeps_paper():
    img = _line()
    a = np.asarray(img, dtype=np.float64)
    out = np.asarray(ink_texture(img, 235.0, 0.6, np.random.default_rng(0)), dtype=np.float64)
    paper = a >= 235
    assert np.array_equal(out[paper], a[paper])
    ink_before, ink_after = (235 - a[~paper]).sum(), (235 - out[~paper]).sum()
    assert 0.4 * ink_before < ink_after < 0.8 * ink_before           # ~0.6 of the ink is kept
    assert (out[~paper] >= a[~paper] - 0.5).all()                     # never darker


def test_paper_texture_keeps_the_text_readable():
    img = _line()
    a = np.asarray(img, dtype=np.float64)
    out = np.asarray(paper_texture(img, 20.0, 5.0, np.random.default_rng(1)), dtype=np.float64)
    paper, ink = a == 235, a <= 60
    noise = out[paper] - 235
    assert 3.0 < noise.std() < 30.0                                   # stains and grain are there
    assert out[ink].mean() < out[paper].mean() - 100                  # ink stays far darker than paper


def test_jpeg_round_trip_is_close_and_lossy():
    img = _line()
    a = np.asarray(img, dtype=np.float64)
    lo = np.asarray(jpeg(img, 15), dtype=np.float64)
    hi = np.asarray(jpeg(img, 95), dtype=np.float64)
    assert lo.shape == a.shape
    assert 0 < np.abs(hi - a).mean() < np.abs(lo - a).mean() < 15


def test_writer_style_params_apply_every_transform_and_reproduce():
    img = _line()
    p = AugmentParams.writer_style()
    assert min(p.p_wobble, p.p_margin, p.p_ink, p.p_paper, p.p_blur, p.p_jpeg) > 0
    assert AugmentParams().p_wobble == AugmentParams().p_jpeg == 0       # off by default
    every = AugmentParams(p_morph=0, p_affine=0, p_slant=0, p_elastic=0, p_contrast=0, p_wobble=1, p_margin=1,
                          p_ink=1, p_paper=1, p_blur=1, p_jpeg=1)
    outs = [LineAugmenter(seed=3, params=every)(img) for _ in range(2)]
    assert outs[0].tobytes() == outs[1].tobytes()
    assert outs[0].height > img.height and outs[0].width == img.width
    assert np.asarray(outs[0]).std() > 0
