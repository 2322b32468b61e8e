"""recog filter: a trained model splits a manifest at an utterance error rate."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import TINY
from recog.checkpoint import atomic_save, model_dict
from recog.cleanup import filter_manifest, utterance_error_rate
from recog.cli import main
from recog.config import Config
from recog.features import feature_dim
from recog.manifest import Utterance, read_manifest, read_text, write_manifest
from recog.models import build_model
from recog.tokens import SymbolTable


def test_utterance_error_rate_known_answers():
    assert utterance_error_rate("abcd", "abcd", "char") == 0.0
    assert utterance_error_rate("abcd", "abxd", "char") == 25.0
    assert utterance_error_rate("ab", "", "char") == 100.0
    assert utterance_error_rate("a b", "a", "word") == 50.0
    assert utterance_error_rate("", "", "char") == 0.0 and utterance_error_rate("", "x", "char") == 100.0


@pytest.fixture
def says_a(tmp_path):
    """A model that reads every input as "a" (all output weight on the symbol 'a'), and a manifest
    of four records with cached features, one of them pointing at a missing feature file."""
    cfg = Config.load(None, TINY)
    symbols = SymbolTable.from_texts(["abxyz"])
    model = build_model(cfg, len(symbols))
    with torch.no_grad():
        model.output.weight.zero_()
        model.output.bias.fill_(-10.0)
        model.output.bias[symbols.index["a"]] = 10.0
    atomic_save(model_dict(model, cfg, symbols, None), tmp_path / "model.pt")
    dim = feature_dim(cfg.features)
    utts = []
    for uid, text in [("u1", "a"), ("u2", "ab"), ("u3", "xyz"), ("u4", "a")]:
        feats = tmp_path / "feats" / "npy" / f"{uid}.npy"
        feats.parent.mkdir(parents=True, exist_ok=True)
        if uid != "u4":
            np.save(feats, np.random.default_rng(0).random((40, dim), dtype=np.float32))
        utts.append(Utterance(uid, f"/corpus/{uid}.png", text, feats=str(feats), num_frames=40))
    write_manifest(tmp_path / "feats" / "manifest.jsonl", utts)
    torch.save({"mean": torch.zeros(dim), "std": torch.ones(dim)}, tmp_path / "feats" / "cmvn.pt")
    return tmp_path


def test_filter_keeps_utterances_at_or_below_the_threshold(says_a):
    logged = []
    res = filter_manifest(says_a / "model.pt", says_a / "feats", says_a / "clean", max_er=50, log=logged.append)
    # "a" -> 0%, "ab" -> 50% (kept: at most the threshold), "xyz" -> 100%; u4's features are missing
    assert [u.id for u in res.kept] == ["u1", "u2"]
    assert [(u.id, er, hyp) for u, er, hyp in res.rejected] == [("u3", 100.0, "a")]
    assert len(res.failed) == 1 and "u4.npy" in res.failed[0]
    kept = read_manifest(says_a / "clean")
    assert [(u.id, u.text, u.feats) for u in kept] == [(u.id, u.text, u.feats) for u in res.kept]
    assert read_text(says_a / "clean" / "text") == {"u1": "a", "u2": "ab"}
    assert (says_a / "clean" / "rejected.tsv").read_text().splitlines()[1:] == ["u3\t100.0\txyz\ta"]
    assert (says_a / "clean" / "cmvn.pt").exists()
    assert any("kept 2, rejected 1" in m for m in logged)


def test_filter_cli_reports_and_refuses_its_own_folder(says_a, capsys):
    rc = main(["filter", "--model", str(says_a / "model.pt"), "--data", str(says_a / "feats"),
               "--out", str(says_a / "clean"), "--max-er", "0"])
    err = capsys.readouterr().err
    assert rc == 1 and "u4.npy" in err and "kept 1, rejected 2" in err  # u4 could not be decoded
    assert [u.id for u in read_manifest(says_a / "clean")] == ["u1"]
    rc = main(["filter", "--model", str(says_a / "model.pt"), "--data", str(says_a / "feats"),
               "--out", str(says_a / "feats"), "--max-er", "50"])
    assert rc == 2 and "must differ" in capsys.readouterr().err


def test_decode_reports_a_missing_feature_file_and_decodes_the_rest(says_a, capsys):
    rc = main(["decode", "--model", str(says_a / "model.pt"), "--data", str(says_a / "feats")])
    out, err = capsys.readouterr()
    assert rc == 1
    assert out.splitlines() == ["u1 a", "u2 a", "u3 a"]
    assert "u4.npy: cached features not found (record u4)" in err and "1 record(s) could not be decoded" in err


def test_filter_leaves_out_a_record_without_transcript(says_a):
    utts = read_manifest(says_a / "feats")
    utts[0].text = None
    write_manifest(says_a / "feats" / "manifest.jsonl", utts[:3])
    logged = []
    res = filter_manifest(says_a / "model.pt", says_a / "feats", says_a / "clean", max_er=50, log=logged.append)
    assert [u.id for u in res.kept] == ["u2"] and res.failed == ["u1: no transcript"]
    assert any("record u1 has no transcript" in m for m in logged)
