"""The seqMNIST recipe end to end (stages 1-6) on tiny IDX files in MNIST's layout, the packaged
model transcribing a 28×28 PNG digit to ``<id> <digit>``, and the Greff comparison script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image

from conftest import make_mnist_corpus, mnist_digits, run_recipe, run_script

ROOT = Path(__file__).resolve().parents[2]


def test_seqmnist_recipe_scores_the_last_epoch_and_packages_a_digit_reader(tmp_path):
    corpus = make_mnist_corpus(tmp_path / "mnist", n_train=40, n_test=10)
    work = tmp_path / "work"
    r = run_recipe("seqmnist", corpus, work, "--valid", "8")
    assert r.returncode == 0, r.stdout + r.stderr
    exp = work / "exp" / "debug"
    for f in ("config.yaml", "metrics.csv", "last.pt", "best.pt", "decode_test/hyp.txt", "decode_test/score.txt",
              "package/model.pt"):
        assert (exp / f).exists(), f
    assert f"decode (beam 0; 0 = greedy) with {exp}/last.pt" in r.stdout
    assert f"package {exp}/last.pt" in r.stdout
    assert (exp / "decode_test/score.txt").read_text().startswith("%ACC ")
    hyp = [line.split() for line in (exp / "decode_test/hyp.txt").read_text().splitlines()]
    assert [h[0] for h in hyp] == [f"test_{k:05d}" for k in range(10)]
    assert all(len(h) == 2 and h[1] in "0123456789" for h in hyp)
    cfg = (exp / "config.yaml").read_text()
    assert "sort_by_length: false" in cfg and "schedule: constant" in cfg and "frames: rows" in cfg
    # a user's digit, as MNIST stores one, through the packaged model
    images, labels = mnist_digits(1, seed=5)
    Image.fromarray(images[0], mode="L").save(tmp_path / "digit.png")
    t = subprocess.run([sys.executable, "-m", "recog.cli", "transcribe", "--model", str(exp / "package"),
                        str(tmp_path / "digit.png")], capture_output=True, text=True)
    assert t.returncode == 0, t.stderr
    uid, digit = t.stdout.split()
    assert uid == "digit" and digit in "0123456789"
    # a rerun skips the data, finds the features and resumes training at its end
    r2 = run_recipe("seqmnist", corpus, work, "--valid", "8", "--stop-stage", "3")
    assert r2.returncode == 0, r2.stdout + r2.stderr
    assert "exists, skipped" in r2.stdout and "resumed from" in r2.stdout


def test_greff_script_trains_each_variant_and_seed_and_tests_them_against_vanilla(tmp_path):
    corpus = make_mnist_corpus(tmp_path / "mnist", n_train=40, n_test=10)
    work = tmp_path / "work"
    cmd = ["bash", str(ROOT / "recipes/seqmnist/greff.sh"), "--task", "seqmnist", "--corpus", str(corpus),
           "--work", str(work), "--valid", "8", "--seeds", "1 2", "--variants", "peephole_lstm lstm_nfg lstm_bogus",
           "model.hidden=8", "train.epochs=2", "train.threads=1"]
    r = run_script(cmd, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for v in ("peephole_lstm", "lstm_nfg"):
        for s in (1, 2):
            exp = work / "exp" / f"g_{v}_s{s}"
            assert (exp / "decode_test/score.txt").read_text().startswith("%ACC "), exp
            assert f"cell: {v}" in (exp / "config.yaml").read_text() and f"seed: {s}" in (exp / "config.yaml").read_text()
    # a variant that fails is reported and left out; the others are tabulated
    assert "lstm_bogus seed 1 failed" in r.stderr
    tsv = [line.split("\t") for line in (work / "greff-seqmnist.tsv").read_text().splitlines()]
    assert [(t[0], t[1]) for t in tsv] == [("peephole_lstm", "1"), ("peephole_lstm", "2"), ("lstm_nfg", "1"), ("lstm_nfg", "2")]
    accs = [float(t[2]) for t in tsv]
    assert all(0 <= a <= 100 for a in accs) and all(float(t[3]) >= 0 for t in tsv)
    md = (work / "greff-seqmnist.md").read_text()
    assert "| **peephole_lstm** | 2 |" in md and "| lstm_nfg | 2 |" in md and "lstm_bogus" not in md
    # a rerun finds every scored run and trains nothing
    r2 = run_script(cmd[:-3] + ["--stop-stage", "1"], timeout=600)
    assert r2.returncode == 0 and r2.stdout.count("scored, skipped") == 4, r2.stdout[-2000:]
