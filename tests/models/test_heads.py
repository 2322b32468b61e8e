"""Output heads: pooling reads valid frames only, class outputs never give the blank, frame outputs
refuse front ends that change the frame rate, and CTC models are what they were (old model files
load and decode identically; parameter names unchanged)."""

from __future__ import annotations

import math

import pytest
import torch

from recog.checkpoint import atomic_save, load_model, model_dict
from recog.config import Config, ConfigError
from recog.data import Example, collate
from recog.decode import greedy_batch
from recog.models import CTCModel, build_model
from recog.models.heads import Head, pool_last, pool_mean
from recog.tokens import SymbolTable


def _batch_with_nan_padding():
    h = torch.arange(2 * 4 * 4, dtype=torch.float32).view(2, 4, 4)
    lens = torch.tensor([4, 2])
    h[1, 2:] = float("nan")  # padding: must never be read
    return h, lens


def test_pool_last_takes_forward_last_valid_step_and_backward_first_step():
    h, lens = _batch_with_nan_padding()
    bi = pool_last(h, lens, split=2)
    assert bi[0].tolist() == h[0, 3, :2].tolist() + h[0, 0, 2:].tolist()
    assert bi[1].tolist() == h[1, 1, :2].tolist() + h[1, 0, 2:].tolist()
    uni = pool_last(h, lens)
    assert torch.equal(uni[1], h[1, 1]) and torch.equal(uni[0], h[0, 3])


def test_pool_mean_averages_valid_steps_only():
    h, lens = _batch_with_nan_padding()
    m = pool_mean(h, lens)
    assert torch.allclose(m[0], h[0].mean(0)) and torch.allclose(m[1], h[1, :2].mean(0))
    assert torch.isfinite(m).all()


def test_class_heads_never_give_the_blank_and_regression_is_linear():
    torch.manual_seed(0)
    lin, drop = torch.nn.Linear(4, 3), torch.nn.Identity()
    h, lens = torch.randn(2, 5, 4), torch.tensor([5, 3])
    label = Head("label", "mean")(lin, drop, h, lens)
    assert label.shape == (2, 3) and torch.isinf(label[:, 0]).all()
    assert torch.allclose(label[:, 1:].exp().sum(1), torch.ones(2))
    frame = Head("frame")(lin, drop, h, lens)
    assert frame.shape == (2, 5, 3) and torch.isinf(frame[..., 0]).all()
    reg = Head("regression", "last", "sequence")(lin, drop, h, lens)
    assert torch.allclose(reg, lin(pool_last(h, lens)))
    assert Head("regression", regression="frame")(lin, drop, h, lens).shape == (2, 5, 3)
    ctc = Head("ctc")(lin, drop, h, lens)
    assert torch.allclose(ctc, torch.log_softmax(lin(h), -1))


def _audio(*over: str) -> Config:
    return Config.load(None, ["features.modality=audio", "features.audio.kind=mfcc", "features.audio.num_ceps=3",
                              "features.audio.deltas=0", "model.hidden=6", "model.layers=2", "model.dropout=0",
                              *over])


@pytest.mark.parametrize("pool", ["last", "mean"])
@pytest.mark.parametrize("bidirectional", [True, False], ids=["bi", "uni"])
def test_a_sequence_output_is_that_of_the_sequence_alone(pool, bidirectional):
    """Batched with longer sequences under large padding values, or on its own: the same output."""
    cfg = _audio("model.frontend=none", "model.output=label", f"model.pool={pool}",
                 f"model.bidirectional={str(bidirectional).lower()}")
    torch.manual_seed(1)
    model = CTCModel(cfg, 4).eval()
    seqs = [torch.randn(n, 3) for n in (9, 3, 6)]
    with torch.no_grad():
        b = collate([Example(str(i), s, [], "") for i, s in enumerate(seqs)], value=1e4)
        batched = model(b.feats, b.lengths)[0]
        alone = torch.cat([model(s.unsqueeze(0), torch.tensor([len(s)]))[0] for s in seqs])
    assert torch.allclose(batched[:, 1:], alone[:, 1:], atol=1e-5)


@pytest.mark.parametrize("over,ok", [
    (["model.frontend=none"], True),
    (["model.frontend=stack", "model.stack=1", "model.subsample=1"], True),
    (["model.frontend=stack", "model.stack=1", "model.subsample=2"], False),
    (["model.frontend=stack", "model.stack=3"], False),
])
@pytest.mark.parametrize("output", [["model.output=frame"], ["model.output=regression", "model.regression=frame"]],
                         ids=["frame", "frame-regression"])
def test_frame_outputs_need_one_output_per_input_frame(over, ok, output):
    cfg = _audio(*over, *output)
    if ok:
        assert CTCModel(cfg, 3).per_frame
    else:
        with pytest.raises(ValueError, match="needs one output per input frame"):
            CTCModel(cfg, 3)


def test_a_cnn_that_pools_height_only_keeps_the_frame_rate():
    cfg = Config.load(None, ["features.image.height=16", "model.cnn_channels=[4]", "model.cnn_pool=[[2,1]]",
                             "model.hidden=4", "model.layers=1", "model.output=frame"])
    assert CTCModel(cfg, 3).per_frame
    with pytest.raises(ValueError, match="turns 100 frames into 50"):
        CTCModel(Config.load(None, ["features.image.height=16", "model.cnn_channels=[4]", "model.cnn_pool=[[2,2]]",
                                    "model.output=frame"]), 3)


def test_padding_value_must_be_finite():
    with pytest.raises(ConfigError, match="padding_value"):
        Config.load(None, ["data.padding_value=.nan"])


# ---- CTC models are unaffected ------------------------------------------------------------------

# parameter names of a model file written before model.output existed (this config, CNN + BiLSTM)
OLD_KEYS = [
    "frontend.blocks.0.0.weight", "frontend.blocks.0.1.weight", "frontend.blocks.0.1.bias",
    "frontend.blocks.0.1.running_mean", "frontend.blocks.0.1.running_var", "frontend.blocks.0.1.num_batches_tracked",
    "frontend.blocks.1.0.weight", "frontend.blocks.1.1.weight", "frontend.blocks.1.1.bias",
    "frontend.blocks.1.1.running_mean", "frontend.blocks.1.1.running_var", "frontend.blocks.1.1.num_batches_tracked",
    "encoder.layers.0.fwd.weight_ih_l0", "encoder.layers.0.fwd.weight_hh_l0", "encoder.layers.0.fwd.bias_ih_l0",
    "encoder.layers.0.fwd.bias_hh_l0", "encoder.layers.0.bwd.weight_ih_l0", "encoder.layers.0.bwd.weight_hh_l0",
    "encoder.layers.0.bwd.bias_ih_l0", "encoder.layers.0.bwd.bias_hh_l0", "output.weight", "output.bias",
]
NEW_MODEL_KEYS = ["output", "pool", "regression"]


def _old_style_file(tmp_path):
    """A CTC model file as the code before model.output wrote it: no data section, no output keys."""
    cfg = Config.load(None, ["features.image.height=16", "model.cnn_channels=[8,16]", "model.cnn_pool=[[2,2],[2,1]]",
                             "model.hidden=12", "model.layers=1"])
    symbols = SymbolTable.from_texts(["abc cab"])
    torch.manual_seed(3)
    model = build_model(cfg, len(symbols)).eval()
    d = model_dict(model, cfg, symbols, None)
    del d["config"]["data"]
    for k in NEW_MODEL_KEYS:
        del d["config"]["model"][k]
    atomic_save(d, tmp_path / "old.pt")
    return model, tmp_path / "old.pt"


def test_an_old_ctc_model_file_loads_and_decodes_identically(tmp_path):
    model, path = _old_style_file(tmp_path)
    assert list(model.state_dict()) == OLD_KEYS
    lm = load_model(path)
    assert lm.cfg.model.output == "ctc" and lm.cfg.data.sequence_length == "longest"
    assert lm.cfg.data.padding_direction == "right" and lm.model.chunk == 0
    from recog.infer import Transcriber

    tr = Transcriber(path)
    g = torch.Generator().manual_seed(4)
    exs = [Example(f"u{i}", torch.rand(n, 16, generator=g), [], "") for i, n in enumerate((40, 23, 31))]
    b = collate(exs)
    with torch.no_grad():
        want, lens = model(b.feats, b.lengths)
    got = tr.log_probs(exs)
    for i, lp in enumerate(got):
        assert torch.equal(lp, want[i, : lens[i]])
    hyps = [h[0] for h in tr.decode_examples(exs)]
    assert [h.tokens for h in hyps] == [h.tokens for h in greedy_batch(want, lens)]
    assert all(math.isclose(a.score, b.score) for a, b in zip(hyps, greedy_batch(want, lens)))
