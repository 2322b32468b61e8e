"""The seqMNIST recipe end to end (stages 1-6) on tiny IDX files in MNIST's layout, and the packaged
model transcribing a 28×28 PNG digit to ``<id> <digit>``."""

from __future__ import annotations

import subprocess
import sys

from PIL import Image

from conftest import make_mnist_corpus, mnist_digits, run_recipe


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
