"""The Hooker recipe end to end (stages 1-6) on a generated corpus in the same layout."""

from __future__ import annotations

import subprocess
import sys

from conftest import make_line_corpus, run_recipe


def test_hooker_recipe_runs_all_stages_and_resumes(tmp_path):
    corpus = make_line_corpus(tmp_path / "corpus", n_train=12, n_valid=3, n_test=3)
    work = tmp_path / "work"
    r = run_recipe("hooker", corpus, work)
    assert r.returncode == 0, r.stdout + r.stderr
    exp = work / "exp" / "debug"
    for f in ("config.yaml", "cmd.txt", "log", "metrics.csv", "best.pt", "last.pt",
              "decode_test/hyp.txt", "decode_test/score_char.txt", "package/model.pt"):
        assert (exp / f).exists(), f
    assert "%CER" in (exp / "decode_test/score_char.txt").read_text()
    hyp_ids = [l.split(" ", 1)[0] for l in (exp / "decode_test/hyp.txt").read_text().splitlines()]
    assert hyp_ids == [f"test{i:03d}" for i in range(3)]
    # a second run finds every stage complete: data and features are skipped, training resumes at its end
    r2 = run_recipe("hooker", corpus, work)
    assert r2.returncode == 0, r2.stdout + r2.stderr
    assert "stage 1: " in r2.stdout and "exists, skipped" in r2.stdout
    assert "resumed from" in r2.stdout
    # --train-set: train on a cleaned copy of the training manifest (recog filter)
    clean = subprocess.run([sys.executable, "-m", "recog.cli", "filter", "--model", str(exp / "best.pt"),
                            "--data", str(work / "feats/train"), "--out", str(work / "feats/train_clean"),
                            "--max-er", "100"], capture_output=True, text=True)
    assert clean.returncode == 0 and "kept 12, rejected 0" in clean.stderr, clean.stderr
    r3 = run_recipe("hooker", corpus, work, "--stage", "3", "--stop-stage", "3", "--tag", "clean",
                    "--train-set", "train_clean")
    assert r3.returncode == 0, r3.stdout + r3.stderr
    assert f"--train {work}/feats/train_clean " in (work / "exp/clean/cmd.txt").read_text()
