"""The english_phones recipe end to end (stages 1-7) on two tiny corpora: speechocean762's Kaldi
layout and FSDD's file naming, mixed with weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from conftest import make_kaldi_corpus, run_script


def test_english_phones_recipe_mixes_corpora_and_scores_each(tmp_path):
    so = make_kaldi_corpus(tmp_path / "so762")
    fsdd = tmp_path / "fsdd" / "recordings"
    fsdd.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for spk in ("ann", "bob", "cat"):
        for digit in (1, 2):
            sf.write(str(fsdd / f"{digit}_{spk}_0.wav"), rng.uniform(-0.3, 0.3, 6000).astype(np.float32), 8000)
    root = Path(__file__).resolve().parents[2]
    work = tmp_path / "work"
    r = run_script(["bash", str(root / "recipes/english_phones/run.sh"), "--so762", str(so), "--fsdd",
                        str(tmp_path / "fsdd"), "--weights", "so762=1,fsdd=2", "--work", str(work), "--conf",
                        "conf/debug.yaml", "--so762-valid-speakers", "1", "train.threads=1"], timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    mix = json.loads((work / "feats" / "train_mix" / "mix.json").read_text())
    # weight 2: every usable FSDD training record twice
    assert mix["fsdd"]["weight"] == 2.0 and mix["fsdd"]["in_mix"] == 2 * mix["fsdd"]["usable"]
    exp = work / "exp" / "debug"
    for name in ("so762", "fsdd"):
        assert "%PER" in (exp / f"decode_test_{name}" / "score.txt").read_text()
    assert "gender utts ref_len errors PER%" in (exp / "decode_test_so762" / "score.txt").read_text()
    assert (exp / "package" / "model.pt").exists()
