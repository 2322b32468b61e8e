"""Typed configuration: YAML round trip, overrides with types, and loud errors for typos."""

from __future__ import annotations

import pytest

from recog.config import Config, ConfigError


def test_defaults_round_trip(tmp_path):
    c = Config()
    p = tmp_path / "config.yaml"
    c.dump(p)
    back = Config.load(p)
    assert back == c
    assert back.to_dict() == c.to_dict()


def test_non_default_round_trip(tmp_path):
    c = Config.load(None, ["train.lr=2.5e-4", "model.cnn_pool=[[2,2],[1,1]]", "model.cnn_channels=[3,5]",
                           "features.modality=audio", "decode.beam=7", "features.image.deslant=true"])
    p = tmp_path / "c.yaml"
    c.dump(p)
    back = Config.load(p)
    assert back == c
    assert back.model.cnn_pool == [[2, 2], [1, 1]]
    assert back.features.modality == "audio"
    assert back.train.lr == pytest.approx(2.5e-4)


def test_yaml_and_overrides_apply_with_types(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("train:\n  epochs: 5\n  lr: 0.01\nmodel:\n  hidden: 32\n  cell: gru\n")
    c = Config.load(p, ["train.lr=3e-4", "model.cnn_channels=[8,16]", "features.image.height=48"])
    # from the file
    assert c.train.epochs == 5 and type(c.train.epochs) is int
    assert c.model.hidden == 32 and c.model.cell == "gru"
    # overrides win over the file and have the declared types
    assert c.train.lr == pytest.approx(3e-4)
    assert type(c.train.lr) is float
    assert c.model.cnn_channels == [8, 16]
    assert all(type(x) is int for x in c.model.cnn_channels)
    assert c.features.image.height == 48 and type(c.features.image.height) is int
    # untouched values keep their defaults
    assert c.train.batch_size == Config().train.batch_size
    assert c.features.image.pad == Config().features.image.pad


def test_exponent_in_yaml_file_is_a_float(tmp_path):
    # PyYAML reads "3e-4" (no dot) as a string; the config must still take it as a number
    p = tmp_path / "c.yaml"
    p.write_text("train:\n  lr: 3e-4\n  min_lr: 1e-6\n")
    c = Config.load(p)
    assert c.train.lr == pytest.approx(3e-4) and type(c.train.lr) is float
    assert c.train.min_lr == pytest.approx(1e-6)


def test_int_accepted_for_float():
    c = Config.load(None, ["train.lr=1"])
    assert c.train.lr == 1.0 and type(c.train.lr) is float


def test_unknown_top_level_key(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("trian:\n  epochs: 3\n")
    with pytest.raises(ConfigError, match="trian"):
        Config.load(p)


def test_unknown_nested_key(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("features:\n  image:\n    heigth: 48\n")
    with pytest.raises(ConfigError) as e:
        Config.load(p)
    assert "heigth" in str(e.value)
    assert "features.image" in str(e.value)


def test_unknown_key_via_override():
    with pytest.raises(ConfigError, match="epochz"):
        Config.load(None, ["train.epochz=3"])
    with pytest.raises(ConfigError, match="bogus"):
        Config.load(None, ["bogus.x=1"])


def test_wrong_type_raises():
    with pytest.raises(ConfigError, match="train.epochs"):
        Config.load(None, ["train.epochs=abc"])
    with pytest.raises(ConfigError, match="train.lr"):
        Config.load(None, ["train.lr=fast"])
    with pytest.raises(ConfigError, match="model.bidirectional"):
        Config.load(None, ["model.bidirectional=1"])
    with pytest.raises(ConfigError, match="model.cnn_channels"):
        Config.load(None, ["model.cnn_channels=8"])
    with pytest.raises(ConfigError, match=r"model.cnn_channels\[1\]"):
        Config.load(None, ["model.cnn_channels=[8, x]"])
    # a float is not an integer
    with pytest.raises(ConfigError, match="train.epochs"):
        Config.load(None, ["train.epochs=2.5"])


def test_invalid_choice_raises():
    with pytest.raises(ConfigError) as e:
        Config.load(None, ["model.cell=xyz"])
    assert "model.cell" in str(e.value) and "xyz" in str(e.value)
    with pytest.raises(ConfigError, match="features.modality"):
        Config.load(None, ["features.modality=video"])


def test_malformed_override_raises():
    with pytest.raises(ConfigError, match="key.sub=value"):
        Config.load(None, ["train.lr"])


def test_section_given_a_scalar_raises(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("train: 3\n")
    with pytest.raises(ConfigError, match="train"):
        Config.load(p)
