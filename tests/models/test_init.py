"""model.init: keras starts fused recurrent layers as Keras does (Glorot input kernels, orthogonal
recurrent kernels, zero biases but an LSTM forget gate at 1, Glorot output layer); torch leaves
PyTorch's defaults."""

from __future__ import annotations

import math

import pytest
import torch

from recog.config import Config
from recog.models import CTCModel


def _model(cell: str, init: str) -> CTCModel:
    torch.manual_seed(0)
    cfg = Config.load(None, ["features.modality=image", "features.image.height=28", "features.image.frames=rows",
                             "model.frontend=none", f"model.cell={cell}", "model.hidden=16", "model.layers=2",
                             "model.bidirectional=true", "model.output=label", f"model.init={init}"])
    return CTCModel(cfg, 11)


@pytest.mark.parametrize("cell, gates", [("lstm", 4), ("gru", 3), ("rnn", 1)])
def test_keras_scheme(cell, gates):
    m = _model(cell, "keras")
    rnns = [mod for mod in m.modules() if isinstance(mod, torch.nn.RNNBase)]
    assert len(rnns) == 4                                           # 2 layers x 2 directions
    for rnn in rnns:
        h = rnn.hidden_size
        w_ih, w_hh = rnn.weight_ih_l0, rnn.weight_hh_l0
        bound = math.sqrt(6 / (w_ih.shape[1] + gates * h))
        assert w_ih.abs().max() <= bound and w_ih.abs().max() > 0.8 * bound
        assert torch.allclose(w_hh.T @ w_hh, torch.eye(h), atol=1e-5)   # orthonormal columns
        want = torch.zeros(gates * h)
        if cell == "lstm":
            want[h:2 * h] = 1.0                                      # forget gate (order i, f, g, o)
        assert torch.equal(rnn.bias_ih_l0.detach(), want)
        assert torch.equal(rnn.bias_hh_l0.detach(), torch.zeros(gates * h))
    assert torch.equal(m.output.bias.detach(), torch.zeros(11))
    assert m.output.weight.abs().max() <= math.sqrt(6 / (32 + 11))


def test_torch_scheme_is_pytorch_default():
    m = _model("lstm", "torch")
    rnn = next(mod for mod in m.modules() if isinstance(mod, torch.nn.LSTM))
    assert rnn.bias_ih_l0.abs().max() > 0 and rnn.bias_ih_l0.abs().max() <= 1 / math.sqrt(16)
    torch.manual_seed(0)
    ref = torch.nn.LSTM(28, 16, batch_first=True)
    assert torch.equal(ref.weight_ih_l0, rnn.weight_ih_l0)          # the same draw as a plain nn.LSTM


def test_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="model.init"):
        _model("lstm", "xavier")


def test_writer_style_needs_augment():
    from recog.config import ConfigError

    with pytest.raises(ConfigError, match="train.augment=true"):
        Config.load(None, ["train.writer_style=true"])
    assert Config.load(None, ["train.writer_style=true", "train.augment=true"]).train.writer_style
