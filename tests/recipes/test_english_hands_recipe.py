"""The english_hands recipe end to end (stages 1-6) on a tiny Hooker-layout corpus and a tiny
synthetic IAM-layout corpus: the union symbol table, the weighted mix, writer-style training,
and a score per test set."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import make_iam_corpus, make_line_corpus, run_script

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess:
    cmd = ["bash", str(ROOT / "recipes/english_hands/run.sh"),
           "--conf", str(ROOT / "recipes/english_hands/conf/debug.yaml"), *args, "train.threads=1"]
    return run_script(cmd, timeout=300)


def test_english_hands_recipe_mixes_both_corpora(tmp_path):
    from recog.tokens import SymbolTable

    hooker = make_line_corpus(tmp_path / "hooker", n_train=8, n_valid=2, n_test=2, seed=1)
    (hooker / "lines" / "train000.gt.txt").write_text("Kew £5 [sic]\n")      # symbols only this corpus has
    for v in ("valid000", "valid001"):                                         # symbols the train lines have
        (hooker / "lines" / f"{v}.gt.txt").write_text("Kew [5]\n")
    synth = make_iam_corpus(tmp_path / "synth", n_train=6, n_valid=4, n_test=3, seed=2)
    work = tmp_path / "work"
    r = _run("--hooker", str(hooker), "--synth", str(synth), "--work", str(work),
             "--weights", "hooker=2,synth=0.5", "--valid-synth", "0.5")
    assert r.returncode == 0, r.stdout + r.stderr
    union = SymbolTable.read(work / "data/tokens.txt")
    for part in ("hooker", "synth"):
        assert set(SymbolTable.read(work / f"data/{part}/tokens.txt").symbols) <= set(union.symbols)
    assert {"£", "[", "]"} <= set(union.symbols) and union.symbols[0] == SymbolTable.read(
        work / "data/hooker/tokens.txt").symbols[0]
    mix = [json.loads(l) for l in (work / "feats/train_mix/manifest.jsonl").read_text().splitlines()]
    corpora = [u["id"].split("-", 1)[0] for u in mix]
    assert corpora.count("hooker") == 16 and corpora.count("synth") == 3      # weights 2 and 0.5
    valid = (work / "feats/valid_mix/text").read_text().splitlines()
    assert sum(l.startswith("hooker-") for l in valid) == 2                  # every Hooker valid line
    assert 1 <= sum(l.startswith("synth-") for l in valid) <= 2                # half the synthetic ones that fit
    exp = work / "exp/debug"
    assert "writer_style: true" in (exp / "config.yaml").read_text()
    for s in ("hooker/valid", "hooker/test", "synth/test"):
        assert "%CER" in (exp / f"decode_{s}/score_char.txt").read_text()
    assert [l.split(" ", 1)[0] for l in (exp / "decode_synth/test/hyp.txt").read_text().splitlines()] == \
        [f"c03-003-{i:02d}" for i in range(3)]
    assert (exp / "package/model.pt").exists()


def test_english_hands_recipe_refuses_a_missing_synthetic_corpus(tmp_path):
    hooker = make_line_corpus(tmp_path / "hooker", n_train=2, n_valid=1, n_test=1)
    r = _run("--hooker", str(hooker), "--synth", str(tmp_path / "nothing"), "--work", str(tmp_path / "w"))
    assert r.returncode == 2 and "--synth-lines" in r.stderr
