"""Framewise phone classification (recipes/framewise) end to end on a tiny TIMIT-layout corpus
whose phones are tones of their own: frame labels from the .PHN times, a tiny model per encoder
(BiLSTM, LSTM, MLP) that must beat the majority class on held-out speakers, and the table."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import soundfile as sf

from conftest import run_script

ROOT = Path(__file__).resolve().parents[2]
TONES = {"aa": 300.0, "s": 2400.0, "m": 700.0}  # each phone a tone; h# silence


def _speaker(d: Path, spk: int, rng) -> None:
    d.mkdir(parents=True)
    for u in range(3):
        phones = ["h#"] + [str(p) for p in rng.choice(list(TONES), 5)] + ["h#"]
        lens = rng.integers(1200, 3200, len(phones))
        x, rows, t = [], [], 0
        for p, n in zip(phones, lens):
            tt = np.arange(n) / 16000
            x.append(0.0 * tt if p == "h#" else 0.3 * np.sin(2 * np.pi * TONES[p] * (1 + 0.02 * spk) * tt))
            rows.append(f"{t} {t + n} {p}")
            t += n
        wav = np.concatenate(x) + 0.003 * rng.standard_normal(t)
        sf.write(d / f"SI{100 * spk + u}.WAV", wav.astype(np.float32), 16000, format="WAV")
        (d / f"SI{100 * spk + u}.PHN").write_text("\n".join(rows) + "\n")


def _corpus(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for k in range(6):
        _speaker(root / "TRAIN" / "DR1" / f"MTR{k}0", k, rng)
    for k, name in enumerate(["MDV00", "MCT00"]):
        _speaker(root / "TEST" / "DR1" / name, 10 + k, rng)
    (root / "dev_spk.list").write_text("mdv00\n")
    (root / "core_test_spk.list").write_text("mct00\n")
    return root


def test_framewise_recipe_on_a_tone_corpus(tmp_path):
    corpus, work = _corpus(tmp_path / "timit"), tmp_path / "work"
    cmd = ["bash", str(ROOT / "recipes/framewise/run.sh"), "--synth", str(corpus), "--work", str(work),
           "--conf", str(ROOT / "recipes/framewise/conf/debug.yaml"), "--models", "debug",
           "train.threads=1", "train.epochs=15", "train.lr=0.01"]
    r = run_script(cmd, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    # every frame labelled, from the .PHN times (h# folded to sil)
    rec = (work / "synth/frames/test/manifest.jsonl").read_text().splitlines()[0]
    import json

    rec = json.loads(rec)
    labels = rec["frame_labels"].split()
    assert len(labels) == rec["num_frames"] and set(labels) <= {"sil", "aa", "s", "m"} and labels[0] == "sil"
    table = (work / "RESULTS-table.md").read_text()
    acc = float(re.search(r"\| synth \| debug \| [^|]+ \| ([0-9.]+) \|", table).group(1))
    # the majority class (sil or one tone) is at most about half the frames
    counts = np.unique(labels, return_counts=True)[1]
    assert acc > 100 * counts.max() / counts.sum() + 10, table


def test_greff_script_runs_framewise_variants_into_tagged_experiments(tmp_path):
    corpus, work = _corpus(tmp_path / "timit"), tmp_path / "work"
    cmd = ["bash", str(ROOT / "recipes/seqmnist/greff.sh"), "--task", "framewise", "--corpus", str(corpus),
           "--work", str(work), "--seeds", "1", "--variants", "lstm_cifg", "model.hidden=8", "train.epochs=2",
           "train.threads=1"]
    r = run_script(cmd, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    exp = work / "synth/exp/blstm_lstm_cifg_s1"
    cfg = (exp / "config.yaml").read_text()
    assert "cell: lstm_cifg" in cfg and "bidirectional: true" in cfg and "output: frame" in cfg
    acc = float((exp / "decode_test/score.txt").read_text().split()[1])
    assert (work / "greff-framewise.tsv").read_text().startswith(f"lstm_cifg\t1\t{acc:.2f}\t")
    assert "| **lstm_cifg** | 1 |" in (work / "greff-framewise.md").read_text()
