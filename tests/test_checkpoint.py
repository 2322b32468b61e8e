"""Model files: weights_only loading, packaging, averaging, bad files, init from another model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recog.checkpoint import FORMAT, atomic_save, load_file, load_model, model_dict, package
from recog.config import Config
from recog.features.cmvn import CMVN
from recog.finetune import load_encoder
from recog.models import CTCModel
from recog.tokens import SymbolTable

SMALL = [
    "features.image.height=16",
    "model.cnn_channels=[2, 4]",
    "model.cnn_pool=[[2, 2], [2, 1]]",
    "model.hidden=4",
    "model.layers=1",
]


def _model(symbols: SymbolTable, seed: int = 0, overrides: list[str] | None = None):
    cfg = Config.load(None, SMALL + list(overrides or []))
    torch.manual_seed(seed)
    m = CTCModel(cfg, len(symbols))
    with torch.no_grad():  # non-default batch-norm statistics, so buffers must be saved too
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
                mod.num_batches_tracked.fill_(seed + 1)
    return cfg, m.eval()


SYMS = SymbolTable.from_texts(["the cat"])


def test_save_load_round_trip(tmp_path):
    cfg, m = _model(SYMS)
    cmvn = CMVN(np.linspace(0, 1, 16), np.linspace(1, 2, 16))
    p = tmp_path / "exp" / "model.pt"
    atomic_save(model_dict(m, cfg, SYMS, cmvn, meta={"epoch": 3, "cer": 0.25}), p)
    assert [x.name for x in p.parent.iterdir()] == ["model.pt"]  # no temporary left behind

    d = torch.load(p, weights_only=True)  # plain tensors, strings and numbers only
    assert d["format"] == FORMAT and d["symbols"] == SYMS.symbols and d["unit"] == "char"
    assert d["meta"] == {"epoch": 3, "cer": 0.25}

    lm = load_model(p)
    assert lm.cfg == cfg and lm.symbols == SYMS and lm.meta["epoch"] == 3
    np.testing.assert_array_equal(lm.cmvn.mean, cmvn.mean)
    assert not lm.model.training
    x = torch.rand(2, 22, 16)
    lengths = torch.tensor([22, 15])
    with torch.no_grad():
        y0, l0 = m(x, lengths)
        y1, l1 = lm.model(x, lengths)
    assert torch.equal(y0, y1) and torch.equal(l0, l1)
    # a directory finds model.pt in it
    assert load_model(p.parent).symbols == SYMS


def test_package_strips_train_state(tmp_path):
    cfg, m = _model(SYMS)
    d = model_dict(m, cfg, SYMS, None, meta={"epoch": 1})
    d["train_state"] = {"step": 17, "optimizer": {"lr": torch.tensor(0.1)}}
    src = tmp_path / "last.pt"
    atomic_save(d, src)
    out = package(src, tmp_path / "pkg", meta={"note": "x"})
    assert out == tmp_path / "pkg" / "model.pt"
    p = torch.load(out, weights_only=True)
    assert "train_state" not in p
    assert p["meta"] == {"epoch": 1, "note": "x"}
    for k, v in d["state_dict"].items():
        assert torch.equal(p["state_dict"][k], v), k


def test_package_averages_weights(tmp_path):
    cfg, m1 = _model(SYMS, seed=1)
    _, m2 = _model(SYMS, seed=2)
    atomic_save(model_dict(m1, cfg, SYMS, None), tmp_path / "a.pt")
    atomic_save(model_dict(m2, cfg, SYMS, None), tmp_path / "b.pt")
    out = package(tmp_path / "a.pt", tmp_path / "avg.pt", average=[tmp_path / "b.pt"])
    assert out == tmp_path / "avg.pt"
    avg = torch.load(out, weights_only=True)["state_dict"]
    s1, s2 = m1.state_dict(), m2.state_dict()
    n_differ = 0
    for k in s1:
        if s1[k].is_floating_point():
            n_differ += not torch.equal(s1[k], s2[k])
            torch.testing.assert_close(avg[k], (s1[k] + s2[k]) / 2, rtol=0, atol=1e-7)
            assert avg[k].dtype == s1[k].dtype
        else:  # integer counters are taken from the first checkpoint
            assert not torch.equal(s1[k], s2[k])
            assert torch.equal(avg[k], s1[k]), k
    assert n_differ > 5  # the two models really differ
    load_model(out)  # and the result is a valid model


def test_text_file_is_not_a_model(tmp_path):
    p = tmp_path / "notes.pt"
    p.write_text("just some text\n")
    with pytest.raises(ValueError) as e:
        load_model(p)
    assert str(p) in str(e.value)


def test_plain_dict_is_not_a_model(tmp_path):
    p = tmp_path / "plain.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, p)
    with pytest.raises(ValueError) as e:
        load_file(p)
    assert str(p) in str(e.value) and "not a recog model" in str(e.value)
    torch.save(torch.zeros(3), p)
    with pytest.raises(ValueError, match="not a recog model"):
        load_file(p)


def test_missing_model_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_model(tmp_path / "nope.pt")


def test_load_encoder_with_different_symbols(tmp_path):
    src_syms = SymbolTable(["<blk>", "a", "b", "c"])
    dst_syms = SymbolTable(["<blk>", "b", "d", "a", "e"])
    cfg, src = _model(src_syms, seed=1)
    atomic_save(model_dict(src, cfg, src_syms, None), tmp_path / "src.pt")
    _, dst = _model(dst_syms, seed=2)
    before = {k: v.clone() for k, v in dst.state_dict().items()}

    logged: list[str] = []
    load_encoder(dst, tmp_path / "src.pt", dst_syms, log=logged.append)
    after, s = dst.state_dict(), src.state_dict()
    for k in s:
        if not k.startswith("output."):
            assert torch.equal(after[k], s[k]), k  # front end and encoder copied (buffers too)
    W, b, sW, sb = after["output.weight"], after["output.bias"], s["output.weight"], s["output.bias"]
    assert W.shape == (5, 8)
    # shared symbols: <blk> 0->0, b 2->1, a 1->3
    for i, j in ((0, 0), (1, 2), (3, 1)):
        assert torch.equal(W[i], sW[j]) and torch.equal(b[i], sb[j])
    # d and e keep their initialisation
    for i in (2, 4):
        assert torch.equal(W[i], before["output.weight"][i]) and torch.equal(b[i], before["output.bias"][i])
        assert not torch.equal(W[i], sW[0])
    assert "output rows for 3 of 5 symbols kept" in logged[0]


def test_load_encoder_same_symbols_copies_everything(tmp_path):
    cfg, src = _model(SYMS, seed=1)
    atomic_save(model_dict(src, cfg, SYMS, None), tmp_path / "src.pt")
    _, dst = _model(SYMS, seed=2)
    load_encoder(dst, tmp_path / "src.pt", SYMS, log=lambda *_: None)
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v), k


def test_load_encoder_skips_mismatched_shapes(tmp_path):
    cfg, src = _model(SYMS, seed=1)
    atomic_save(model_dict(src, cfg, SYMS, None), tmp_path / "src.pt")
    _, dst = _model(SYMS, seed=2, overrides=["model.hidden=6"])  # same CNN, wider LSTM
    before = {k: v.clone() for k, v in dst.state_dict().items()}
    logged: list[str] = []
    load_encoder(dst, tmp_path / "src.pt", SYMS, log=logged.append)
    after = dst.state_dict()
    assert torch.equal(after["frontend.blocks.0.0.weight"], src.state_dict()["frontend.blocks.0.0.weight"])
    assert torch.equal(after["encoder.layers.0.fwd.weight_hh_l0"], before["encoder.layers.0.fwd.weight_hh_l0"])
    assert torch.equal(after["output.weight"], before["output.weight"])  # hidden size differs: no rows
    assert "skipped" in logged[0] and "output rows for 0 of" in logged[0]


def test_init_into_a_cnn_with_residual_blocks_keeps_the_output(tmp_path):
    """Growing a trained model deeper with --init: new residual blocks start as the identity."""
    cfg, src = _model(SYMS, seed=1)
    atomic_save(model_dict(src, cfg, SYMS, None), tmp_path / "src.pt")
    _, dst = _model(SYMS, seed=2, overrides=["model.cnn_residual=[1, 2]"])
    assert len(dst.frontend.residual[0]) == 1 and len(dst.frontend.residual[1]) == 2
    logged: list[str] = []
    load_encoder(dst, tmp_path / "src.pt", SYMS, log=logged.append)
    assert "0 skipped" in logged[0]
    x = torch.rand(2, 11, 16)
    lengths = torch.tensor([11, 7])
    with torch.no_grad():
        ys, _ = src(x, lengths)
        yd, _ = dst(x, lengths)
    torch.testing.assert_close(yd, ys)
    # and the blocks are not inert: once their last scale moves, the output does too
    with torch.no_grad():
        dst.frontend.residual[1][0].second[-1].weight.fill_(0.5)
        yd2, _ = dst(x, lengths)
    assert not torch.allclose(yd2, ys, atol=1e-3)
