"""Cached feature folders: the settings file, its check, and the shared .npy loader."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import TINY, make_line_corpus
from recog.cli import main
from recog.config import Config
from recog.features import FeatureError
from recog.features.cache import SETTINGS, check_settings, copy_settings, load_cached, write_settings


def _cfg(*over: str) -> Config:
    return Config.load(None, TINY + list(over))


def test_settings_round_trip_and_each_difference_is_named(tmp_path):
    write_settings(tmp_path, _cfg().features)
    check_settings(tmp_path, _cfg().features)                      # the same settings: no error
    check_settings(tmp_path / "manifest.jsonl", _cfg("train.lr=0.5").features)  # not a feature option
    check_settings(tmp_path, _cfg("features.cmvn=true").features)  # CMVN is applied on loading
    with pytest.raises(FeatureError) as e:
        check_settings(tmp_path, _cfg("features.image.dewarp=true", "features.image.pad=0").features)
    msg = str(e.value)
    assert str(tmp_path) in msg
    assert "image.dewarp: cached False, model True" in msg and "image.pad: cached 4, model 0" in msg
    with pytest.raises(FeatureError, match="modality: cached 'image', model 'audio'"):
        check_settings(tmp_path, _cfg("features.modality=audio").features)


def test_folders_without_settings_pass_and_a_bad_file_is_named(tmp_path):
    check_settings(tmp_path, _cfg().features)  # written before features.json existed
    (tmp_path / SETTINGS).write_text("{not json")
    with pytest.raises(FeatureError, match="features.json: cannot read the feature settings"):
        check_settings(tmp_path, _cfg().features)


def test_copy_settings(tmp_path):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir(), (tmp_path / "c").mkdir()
    write_settings(tmp_path / "a", _cfg("features.image.dewarp=true").features)
    copy_settings(tmp_path / "a" / "manifest.jsonl", tmp_path / "b")
    assert (tmp_path / "b" / SETTINGS).read_bytes() == (tmp_path / "a" / SETTINGS).read_bytes()
    copy_settings(tmp_path / "c", tmp_path / "b")  # nothing to copy: b keeps its file
    assert (tmp_path / "b" / SETTINGS).exists() and not (tmp_path / "c" / SETTINGS).exists()


def test_load_cached_names_file_and_record(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((3, 2), np.float16))
    f = load_cached("x", str(tmp_path / "x.npy"))
    assert f.dtype == np.float32 and f.shape == (3, 2)
    with pytest.raises(FeatureError, match=r"y\.npy: cached features not found \(record y\)"):
        load_cached("y", str(tmp_path / "y.npy"))
    (tmp_path / "z.npy").write_bytes(b"garbage")
    with pytest.raises(FeatureError, match=r"z\.npy: cannot read cached features of z"):
        load_cached("z", str(tmp_path / "z.npy"))


def test_features_cli_writes_settings_and_decode_refuses_other_settings(tmp_path, capsys):
    """`recog features` records its settings; a model trained with other settings is refused on
    those cached features (it would silently score worse), and accepted on its own."""
    from recog.checkpoint import atomic_save, model_dict
    from recog.models import build_model
    from recog.tokens import SymbolTable

    make_line_corpus(tmp_path / "corpus", n_train=2, n_valid=1, n_test=1)
    assert main(["prep", "lines", "--corpus", str(tmp_path / "corpus"), "--out", str(tmp_path / "data")]) == 0
    assert main(["features", "--data", str(tmp_path / "data/test"), "--out", str(tmp_path / "feats"), *TINY]) == 0
    assert '"dewarp": false' in (tmp_path / "feats" / SETTINGS).read_text()
    # rerunning reuses finished files, so other settings into the same folder are refused
    assert main(["features", "--data", str(tmp_path / "data/test"), "--out", str(tmp_path / "feats"), *TINY,
                 "features.image.dewarp=true"]) == 2
    assert "other settings than the config's (image.dewarp: cached False, config True)" in capsys.readouterr().err
    symbols = SymbolTable.read(tmp_path / "data/tokens.txt")
    for name, extra in (("same", []), ("other", ["features.image.dewarp=true"])):
        cfg = _cfg(*extra)
        atomic_save(model_dict(build_model(cfg, len(symbols)), cfg, symbols, None), tmp_path / f"{name}.pt")
    capsys.readouterr()
    assert main(["decode", "--model", str(tmp_path / "same.pt"), "--data", str(tmp_path / "feats")]) == 0
    assert main(["decode", "--model", str(tmp_path / "other.pt"), "--data", str(tmp_path / "feats")]) == 2
    err = capsys.readouterr().err
    assert "other settings than the model's (image.dewarp: cached False, model True)" in err
