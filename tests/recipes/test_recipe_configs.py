"""Every recipe config loads (no unknown keys) and builds its model; conf/bilstm128.yaml keeps the
shapes of conf/bilstm.yaml so that a 64-px Hooker model can start it (``--init``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from recog.config import Config
from recog.models import build_model

ROOT = Path(__file__).resolve().parents[2]
CONFS = sorted(ROOT.glob("recipes/*/conf/*.yaml"))


@pytest.mark.parametrize("path", CONFS, ids=[f"{p.parent.parent.name}/{p.name}" for p in CONFS])
def test_recipe_config_builds_its_model(path):
    cfg = Config.load(path)
    model = build_model(cfg, 40)
    assert sum(p.numel() for p in model.parameters()) > 0


def test_hooker_128px_config_takes_every_weight_of_the_64px_one():
    conf = ROOT / "recipes/hooker/conf"
    small = build_model(Config.load(conf / "bilstm.yaml"), 85).state_dict()
    big = build_model(Config.load(conf / "bilstm128.yaml"), 85).state_dict()
    assert small.keys() == big.keys()
    assert {k: v.shape for k, v in small.items()} == {k: v.shape for k, v in big.items()}
    # and the BiLSTM sees the same number of columns per character: width / 8 of a line twice as wide
    c64, c128 = Config.load(conf / "bilstm.yaml").model, Config.load(conf / "bilstm128.yaml").model
    w64 = w128 = 1
    for (_, a), (_, b) in zip(c64.cnn_pool, c128.cnn_pool):
        w64, w128 = w64 * a, w128 * b
    assert w128 == 2 * w64
