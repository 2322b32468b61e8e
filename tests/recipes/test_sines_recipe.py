"""The regression example with a known answer (recipes/sines): generated noisy sine waves as cached
features, a tiny BiLSTM predicting their frequency far better than the mean predictor, and the
packaged model reading a wave from a .npy file."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import run_recipe
from data_prep.sines import main as prep_sines, sine_waves


def _rmse(path) -> float:
    return float(re.match(r"RMSE (\S+)", path.read_text()).group(1))


def test_a_tiny_model_beats_the_mean_predictor_by_far(tmp_path):
    work = tmp_path / "work"
    r = run_recipe("sines", tmp_path, work, "--prep-args", "--train 256 --valid 64 --test 64 --min-len 50 "
                   "--max-len 80 --noise 0.1")
    assert r.returncode == 0, r.stdout + r.stderr
    exp = work / "exp" / "debug"
    model, mean = _rmse(exp / "decode_test/score.txt"), _rmse(exp / "decode_test/score_mean.txt")
    assert mean > 2.0  # frequencies uniform in 1-10 Hz: about 9/√12 = 2.6
    assert model < 0.4 * mean, (model, mean)
    rec = json.loads((work / "data/test/manifest.jsonl").read_text().splitlines()[0])
    assert rec["feats"] == rec["path"] and rec["num_frames"] == len(np.load(rec["feats"]))
    assert json.loads((work / "data/test/features.json").read_text())["modality"] == "vector"
    # the packaged model reads a wave from a .npy file: "<id> <frequency>"
    np.save(tmp_path / "wave.npy", sine_waves(1, np.random.default_rng(7), min_len=60, max_len=60, noise=0.1)[0][0])
    t = subprocess.run([sys.executable, "-m", "recog.cli", "transcribe", "--model", str(exp / "package"),
                        str(tmp_path / "wave.npy")], capture_output=True, text=True)
    assert t.returncode == 0, t.stderr
    uid, f = t.stdout.split()
    assert uid == "wave" and 0.0 < float(f) < 12.0
    np.save(tmp_path / "two.npy", np.zeros((60, 2), np.float32))
    t = subprocess.run([sys.executable, "-m", "recog.cli", "transcribe", "--model", str(exp / "package"),
                        str(tmp_path / "two.npy")], capture_output=True, text=True)
    assert "two.npy: values of shape (60, 2), the model reads (frames, 1)" in t.stderr


def test_the_generator_draws_what_it_says(tmp_path):
    waves = sine_waves(50, np.random.default_rng(0), channels=3, min_freq=2.0, max_freq=3.0, min_len=30,
                       max_len=40, noise=0.0)
    for x, f in waves:
        assert x.shape[1] == 3 and 30 <= len(x) <= 40 and 2.0 <= f <= 3.0
        # noise-free: x(n+1) + x(n−1) = 2 cos(2π f / rate) x(n) on every channel
        np.testing.assert_allclose(x[2:] + x[:-2], 2 * np.cos(2 * np.pi * f / 100) * x[1:-1], atol=1e-5)
    with pytest.raises(SystemExit):
        prep_sines(["--out", str(tmp_path), "--bogus"])
    assert prep_sines(["--out", str(tmp_path / "d"), "--min-len", "9", "--max-len", "3"]) == 2
