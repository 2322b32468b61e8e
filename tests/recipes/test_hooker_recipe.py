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


def test_valid_fold_lists_split_the_valid_pages():
    import re
    from pathlib import Path

    from data_prep.lines import read_list

    root = Path(__file__).resolve().parents[2] / "recipes/hooker/lists"
    fold, held = read_list(root / "valid_fold.lst"), read_list(root / "valid_held.lst")
    assert (len(fold), len(held)) == (516, 144)
    assert len(set(fold) | set(held)) == 660
    page = re.compile(r"jdh_JDH_\d+_\d+_[0-9a-z]+_\d+")
    pages = {n: {page.match(i).group(0) for i in v} for n, v in (("fold", fold), ("held", held))}
    assert (len(pages["fold"]), len(pages["held"])) == (26, 8)
    assert not pages["fold"] & pages["held"]          # a page is trained on or held out, never both
