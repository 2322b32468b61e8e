"""The TIMIT recipe end to end (stages 1-7) on a small synthetic corpus in the TIMIT layout."""

from __future__ import annotations

import pytest

from conftest import run_recipe


def test_timit_recipe_on_synthetic_speech(tmp_path):
    from data_prep import espeak, synth_timit

    if not espeak.available():
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    corpus = tmp_path / "corpus"  # 20 speakers: 16 train, 2 dev, 2 test; 2 utterances each
    synth_timit.build_corpus(corpus, seed=3, jobs=1, speakers=20, utts_per_speaker=2, text="builtin", progress=False)
    work = tmp_path / "work"
    r = run_recipe("timit", corpus, work, "--dev-spk", str(corpus / "dev_spk.list"),
                   "--core-spk", str(corpus / "core_test_spk.list"), timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    exp = work / "exp" / "debug_p61"
    assert "%PER" in (exp / "decode_test" / "score.txt").read_text()
    assert "boundaries within 10 ms" in (exp / "align_test" / "score.txt").read_text()
    assert (exp / "package" / "model.pt").exists()
    # every test utterance was decoded, with its corpus id
    ids = {l.split(" ", 1)[0] for l in (exp / "decode_test" / "hyp.txt").read_text().splitlines()}
    refs = {l.split(" ", 1)[0] for l in (work / "data_p61" / "test" / "text.39").read_text().splitlines()}
    assert ids == refs and len(ids) == 4
