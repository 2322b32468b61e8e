"""Global CMVN statistics: exact estimates, normalisation, and a weights_only round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recog.features.cmvn import CMVN


def test_estimate_known_answer():
    a = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    b = np.array([[5.0, 6.0]], dtype=np.float32)
    c = CMVN.estimate([a, b])
    np.testing.assert_allclose(c.mean, [3.0, 4.0], rtol=1e-6)
    # population variance of (1, 3, 5) is 8/3 in both columns
    np.testing.assert_allclose(c.std, [np.sqrt(8 / 3)] * 2, rtol=1e-6)
    assert c.mean.dtype == np.float32 and c.std.dtype == np.float32


def test_estimate_matches_numpy_over_uneven_chunks():
    rng = np.random.default_rng(0)
    chunks = [rng.normal(3.0, 2.0, (n, 5)).astype(np.float32) for n in (7, 1, 30)]
    allf = np.concatenate(chunks)
    c = CMVN.estimate(iter(chunks))  # a generator is fine
    np.testing.assert_allclose(c.mean, allf.mean(0), rtol=1e-5)
    np.testing.assert_allclose(c.std, allf.std(0), rtol=1e-5)


def test_apply_gives_zero_mean_unit_variance():
    rng = np.random.default_rng(1)
    chunks = [rng.normal([1.0, -4.0, 10.0], [0.5, 3.0, 7.0], (n, 3)).astype(np.float32) for n in (50, 80)]
    c = CMVN.estimate(chunks)
    out = np.concatenate([c(f) for f in chunks])
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(0), 1.0, atol=1e-5)


def test_constant_column_does_not_divide_by_zero():
    c = CMVN.estimate([np.array([[2.0, 1.0], [2.0, 3.0]], dtype=np.float32)])
    assert c.std[0] == pytest.approx(1e-5)
    out = c(np.array([[2.0, 2.0]], dtype=np.float32))
    assert np.isfinite(out).all() and out[0, 0] == 0.0 and out[0, 1] == 0.0


def test_empty_raises():
    with pytest.raises(ValueError, match="no frames"):
        CMVN.estimate([])


def test_identity():
    c = CMVN.identity(4)
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    np.testing.assert_array_equal(c(x), x)


def test_state_round_trip(tmp_path):
    c = CMVN(np.array([1.5, -2.0, 0.25]), np.array([0.5, 2.0, 3.0]))
    p = tmp_path / "cmvn.pt"
    torch.save({"cmvn": c.state()}, p)
    d = torch.load(p, weights_only=True)
    back = CMVN.from_state(d["cmvn"])
    np.testing.assert_array_equal(back.mean, c.mean)
    np.testing.assert_array_equal(back.std, c.std)
    x = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    np.testing.assert_array_equal(back(x), c(x))
    # state() holds copies: changing them does not touch the original
    s = c.state()
    s["mean"][0] = 100.0
    assert c.mean[0] == 1.5
