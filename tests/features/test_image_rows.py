"""``features.image.frames: rows``: each image row is a frame (seqMNIST reads a digit top to bottom)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from recog.config import Config, ConfigError, ImageFeatures
from recog.features import extract, feature_dim
from recog.features.cache import check_settings, write_settings
from recog.features.image import image_features

MNIST_LIKE = dict(height=28, frames="rows", contrast=False, invert=False, fill_mask=False, pad=0)


def _digit(seed: int = 0) -> np.ndarray:
    """A 28×28 grey image as MNIST stores one: 0 background, strokes up to 255, all levels used."""
    rng = np.random.default_rng(seed)
    a = np.zeros((28, 28), np.uint8)
    a[6:22, 9:19] = rng.integers(0, 256, (16, 10))
    a[0, 0], a[27, 27] = 255, 1
    return a


def test_a_28_pixel_image_goes_in_as_its_pixels_over_255(tmp_path):
    a = _digit()
    Image.fromarray(a, mode="L").save(tmp_path / "d.png")
    f = image_features(tmp_path / "d.png", ImageFeatures(**MNIST_LIKE))
    assert f.shape == (28, 28) and f.dtype == np.float32
    np.testing.assert_array_equal(f, a.astype(np.float32) / 255.0)  # frame t = row t, unchanged
    cfg = Config.load(None, [f"features.image.{k}={v}" for k, v in MNIST_LIKE.items()])
    assert feature_dim(cfg.features) == 28
    np.testing.assert_array_equal(extract(tmp_path / "d.png", cfg.features), f)


def test_rows_are_scaled_to_the_width_and_padded_above_and_below():
    img = Image.fromarray(np.tile(np.linspace(0, 255, 40).astype(np.uint8), (20, 1)), mode="L")  # 40 wide, 20 high
    f = image_features(img, ImageFeatures(height=10, frames="rows", contrast=False, invert=False, fill_mask=False,
                                          pad=2))
    assert f.shape == (5 + 4, 10)                          # 20 rows × 10/40, and 2 white rows each side
    assert np.all(f[:2] == 1.0) and np.all(f[-2:] == 1.0)
    assert np.all(np.diff(f[2]) > 0)                       # a row is still the row: dark left, bright right
    cols = image_features(img, ImageFeatures(height=10, contrast=False, invert=False, fill_mask=False, pad=0))
    assert cols.shape == (20, 10)                          # columns (the default): 40 × 10/20 frames of 10


def test_the_frame_direction_is_a_feature_setting(tmp_path):
    with pytest.raises(ConfigError, match="features.image.frames"):
        Config.load(None, ["features.image.frames=diagonal"])
    rows = Config.load(None, ["features.image.frames=rows"]).features
    write_settings(tmp_path, Config.load(None).features)
    with pytest.raises(ValueError, match="frames: cached 'columns'"):
        check_settings(tmp_path, rows)
    # folders written before the option existed were computed column by column: still accepted
    import json

    s = json.loads((tmp_path / "features.json").read_text())
    del s["image"]["frames"]
    (tmp_path / "features.json").write_text(json.dumps(s))
    check_settings(tmp_path, Config.load(None).features)
    with pytest.raises(ValueError, match="frames"):
        check_settings(tmp_path, rows)
