"""Leave-one-speaker-out digit classification (recipes/fsdd_digits) on a tiny corpus in FSDD's
layout: every digit a tone burst of its own, every speaker a slightly different pitch and loudness,
so a tiny label model must learn the digits well above chance for speakers it never heard."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import soundfile as sf

from conftest import run_recipe

SPEAKERS = ["ann", "bob", "cyd", "dan"]


def _corpus(root: Path) -> Path:
    rng = np.random.default_rng(0)
    d = root / "recordings"
    d.mkdir(parents=True)
    t = np.arange(int(0.3 * 8000)) / 8000
    for s, spk in enumerate(SPEAKERS):
        for digit in range(10):
            for k in range(4):
                f = (250 + 120 * digit) * (1 + 0.03 * s)
                env = (t > 0.08) & (t < 0.22)  # silence around the tone: per-utterance CMVN keeps it
                x = (0.2 + 0.1 * s) * env * np.sin(2 * np.pi * f * t) + 0.01 * rng.standard_normal(len(t))
                sf.write(d / f"{digit}_{spk}_{k}.wav", x.astype(np.float32), 8000)
    return root


def test_every_speaker_held_out_in_turn(tmp_path):
    work = tmp_path / "work"
    r = run_recipe("fsdd_digits", _corpus(tmp_path / "fsdd"), work, "train.epochs=12", timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    table = (work / "exp-debug.md").read_text()
    rows = dict(re.findall(r"^\| (\w+) \| 40 \| ([0-9.]+) \|$", table, re.M))
    assert sorted(rows) == SPEAKERS, table
    mean = float(re.search(r"mean of 4 speakers \| \| ([0-9.]+)", table).group(1))
    assert abs(mean - np.mean([float(v) for v in rows.values()])) < 0.01
    assert mean > 50.0, table  # chance: 10 %
    # the test speaker is never in training or valid data of its fold
    for spk in SPEAKERS:
        train = (work / spk / "data/train/text").read_text()
        assert f"_{spk}_" not in train and f"_{spk}_" in (work / spk / "data/test/text").read_text()
    # --perturb trains on the copies too, --init starts every fold from a model's encoder
    init = work / "ann/exp/debug/best.pt"
    r = run_recipe("fsdd_digits", tmp_path / "fsdd", work, "--speakers", "ann bob cyd", "--tag", "sp",
                   "--perturb", "speed1.1", "--init", str(init), "--stop-stage", "3", "train.epochs=1")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for spk in ("ann", "bob", "cyd"):
        n_train = len((work / spk / "data/train/text").read_text().splitlines())
        assert len((work / spk / "feats/train_sp/text").read_text().splitlines()) == 2 * n_train
        cmd = (work / spk / "exp/sp/cmd.txt").read_text()
        assert f"--train {work}/{spk}/feats/train_sp " in cmd and f"--init {init}" in cmd
    assert "initialised from" in r.stdout + r.stderr
    # another list makes the copies again (one fold is enough to show it)
    r = run_recipe("fsdd_digits", tmp_path / "fsdd", work, "--speakers", "ann bob cyd", "--tag", "sp2",
                   "--perturb", "speed0.9,vtlp1.1", "--stage", "2", "--stop-stage", "2")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for spk in ("ann", "bob", "cyd"):
        n_train = len((work / spk / "data/train/text").read_text().splitlines())
        assert len((work / spk / "feats/train_sp/text").read_text().splitlines()) == 3 * n_train
        assert (work / spk / "feats/train_sp/perturb.txt").read_text().strip() == "speed0.9,vtlp1.1"
