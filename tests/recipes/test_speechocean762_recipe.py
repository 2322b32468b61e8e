"""The speechocean762 recipe end to end (stages 1-6) on a tiny corpus in its Kaldi layout."""

from __future__ import annotations

import subprocess

from conftest import make_kaldi_corpus, run_recipe


def test_speechocean762_recipe_on_a_tiny_kaldi_corpus(tmp_path):
    corpus = make_kaldi_corpus(tmp_path / "so762")
    work = tmp_path / "work"
    r = run_recipe("speechocean762", corpus, work, "--valid-speakers", "1", "--perturb", "speed1.1")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    exp = work / "exp" / "debug"
    score = (exp / "decode_test" / "score.txt").read_text()
    assert "%PER" in score and "speaker utts ref_len errors PER%" in score and "\nf " in score
    # the perturbed copies were trained on: 3 speakers x 2 utterances, twice
    assert "12 train / 2 valid utterances" in (exp / "log").read_text()
    ids = {line.split(" ", 1)[0] for line in (exp / "decode_test" / "hyp.txt").read_text().splitlines()}
    assert ids == {"00090000", "00090001"}
    assert (exp / "package" / "model.pt").exists()
    # the valid speaker is none of the train speakers
    spk = lambda s: {line.split()[1] for line in (work / "data" / s / "utt2spk").read_text().splitlines()}  # noqa: E731
    assert len(spk("valid")) == 1 and not spk("valid") & spk("train")


def test_recipe_help():
    from pathlib import Path

    run = Path(__file__).resolve().parents[2] / "recipes" / "speechocean762" / "run.sh"
    h = subprocess.run(["bash", str(run), "--help"], capture_output=True, text=True)
    assert h.returncode == 0 and "speechocean762" in h.stdout and "Stages:" in h.stdout
