"""Recurrent encoders: peephole LSTM against hand formulas, and batching that never changes an
utterance's output (padding must not reach valid frames in either direction)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recog.config import Config
from recog.features import feature_dim
from recog.models import CTCModel
from recog.models.frontends import StackFrontend
from recog.models.rnn import BiRNNLayer, PeepholeLSTM, RecurrentEncoder, reverse_padded


def test_reverse_padded_known_answer():
    x = torch.tensor([[1.0, 2, 3, 4], [5, 6, 7, 8]]).unsqueeze(-1)  # (2, 4, 1)
    y = reverse_padded(x, torch.tensor([4, 2]))
    assert y.shape == (2, 4, 1)
    assert y.squeeze(-1).tolist() == [[4, 3, 2, 1], [6, 5, 7, 8]]
    # reversing twice is the identity
    assert torch.equal(reverse_padded(y, torch.tensor([4, 2])), x)


def test_reverse_padded_multidim_and_length_one():
    x = torch.arange(2 * 3 * 2, dtype=torch.float32).view(2, 3, 2)
    y = reverse_padded(x, torch.tensor([1, 3]))
    assert torch.equal(y[0], x[0])  # length 1: nothing moves
    assert torch.equal(y[1], x[1].flip(0))


# ---- peephole LSTM against explicit formulas -------------------------------------------------


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def _hand_step(cell: PeepholeLSTM, x, h, c):
    """One step of the peephole LSTM written out gate by gate (numpy, float64)."""
    H = cell.hidden_size
    W = cell.weight_ih.detach().double().numpy()
    U = cell.weight_hh.detach().double().numpy()
    b = cell.bias.detach().double().numpy()
    pi = cell.peep_i.detach().double().numpy()
    pf = cell.peep_f.detach().double().numpy()
    po = cell.peep_o.detach().double().numpy()
    Wi, Wf, Wg, Wo = W[:H], W[H : 2 * H], W[2 * H : 3 * H], W[3 * H :]
    Ui, Uf, Ug, Uo = U[:H], U[H : 2 * H], U[2 * H : 3 * H], U[3 * H :]
    bi, bf, bg, bo = b[:H], b[H : 2 * H], b[2 * H : 3 * H], b[3 * H :]
    i = _sig(Wi @ x + Ui @ h + pi * c + bi)          # input gate peeks at c_{t-1}
    f = _sig(Wf @ x + Uf @ h + pf * c + bf)          # forget gate peeks at c_{t-1}
    g = np.tanh(Wg @ x + Ug @ h + bg)
    c_new = f * c + i * g
    o = _sig(Wo @ x + Uo @ h + po * c_new + bo)      # output gate peeks at c_t
    h_new = o * np.tanh(c_new)
    return h_new, c_new


def _tiny_peephole(seed=0):
    torch.manual_seed(seed)
    cell = PeepholeLSTM(3, 2)
    with torch.no_grad():
        for p in cell.parameters():
            p.uniform_(-0.8, 0.8)  # peepholes and bias non-zero and large enough to matter
    return cell


def test_peephole_one_step_matches_hand_computation():
    cell = _tiny_peephole()
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 3)
    h0 = rng.uniform(-1, 1, 2)
    c0 = rng.uniform(-1, 1, 2)
    h_ref, c_ref = _hand_step(cell, x, h0, c0)

    xt = torch.tensor(x, dtype=torch.float32).unsqueeze(0).unsqueeze(0)  # (1, 1, 3)
    state = (torch.tensor(h0, dtype=torch.float32).view(1, 1, 2), torch.tensor(c0, dtype=torch.float32).view(1, 1, 2))
    with torch.no_grad():
        out, (h1, c1) = cell(xt, state)
    np.testing.assert_allclose(out[0, 0].numpy(), h_ref, atol=1e-6)
    np.testing.assert_allclose(h1[0, 0].numpy(), h_ref, atol=1e-6)
    np.testing.assert_allclose(c1[0, 0].numpy(), c_ref, atol=1e-6)

    # the peepholes really take part: zeroing them changes the answer
    with torch.no_grad():
        cell.peep_o.zero_()
        out2, _ = cell(xt, state)
    assert not np.allclose(out2[0, 0].numpy(), h_ref, atol=1e-4)


def test_peephole_sequence_matches_repeated_hand_steps():
    cell = _tiny_peephole(seed=1)
    rng = np.random.default_rng(1)
    xs = rng.uniform(-1, 1, (2, 3, 3))  # batch 2, 3 steps, input 3
    with torch.no_grad():
        out, (hT, cT) = cell(torch.tensor(xs, dtype=torch.float32))
    assert out.shape == (2, 3, 2) and hT.shape == (1, 2, 2) and cT.shape == (1, 2, 2)
    for b in range(2):
        h, c = np.zeros(2), np.zeros(2)  # default initial state is zero
        for t in range(3):
            h, c = _hand_step(cell, xs[b, t], h, c)
            np.testing.assert_allclose(out[b, t].numpy(), h, atol=1e-6)
        np.testing.assert_allclose(hT[0, b].numpy(), h, atol=1e-6)
        np.testing.assert_allclose(cT[0, b].numpy(), c, atol=1e-6)


def test_peephole_forget_bias_initialised_to_one():
    cell = PeepholeLSTM(3, 4)
    assert torch.all(cell.bias[4:8] == 1.0)
    assert torch.all(cell.bias[:4] == 0.0) and torch.all(cell.bias[8:] == 0.0)


# ---- batching invariance -------------------------------------------------------------------

CELLS = ["lstm", "peephole_lstm", "gru", "rnn"]


@pytest.mark.parametrize("cell", CELLS)
def test_encoder_same_alone_and_batched(cell):
    torch.manual_seed(0)
    enc = RecurrentEncoder(cell, 3, 4, layers=2, bidirectional=True, dropout=0.5).eval()
    T_short, T_long = 3, 7
    long = torch.randn(T_long, 3)
    short = torch.randn(T_short, 3)
    batch = torch.zeros(2, T_long, 3)
    batch[0] = long
    batch[1, :T_short] = short
    batch[1, T_short:] = 5.0  # junk padding: must not leak into valid frames either way
    lengths = torch.tensor([T_long, T_short])
    with torch.no_grad():
        yb = enc(batch, lengths)
        ys = enc(short.unsqueeze(0), torch.tensor([T_short]))
        yl = enc(long.unsqueeze(0), torch.tensor([T_long]))
    assert yb.shape == (2, T_long, 8)
    torch.testing.assert_close(yb[1, :T_short], ys[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(yb[0], yl[0], atol=1e-5, rtol=0)

    # The backward direction starts at each utterance's own last frame: at the short utterance's
    # last valid frame it has seen only that frame.  Check in the first layer ...
    layer0 = enc.layers[0]
    H = 4
    with torch.no_grad():
        h1 = layer0(batch, lengths)
        only_last, _ = layer0.bwd(short[T_short - 1 :].unsqueeze(0))
        torch.testing.assert_close(h1[1, T_short - 1, H:], only_last[0, 0], atol=1e-5, rtol=0)
        # ... and in the second layer, whose input is the first layer's output
        only_last2, _ = enc.layers[1].bwd(h1[1:2, T_short - 1 : T_short])
        torch.testing.assert_close(yb[1, T_short - 1, H:], only_last2[0, 0], atol=1e-5, rtol=0)
        # whereas a naive backward pass over the padded batch would have started at frame T_long-1
        naive, _ = layer0.bwd(batch.flip(1))
        assert not torch.allclose(naive.flip(1)[1, T_short - 1], h1[1, T_short - 1, H:], atol=1e-3)


def test_unidirectional_layer_is_the_forward_cell():
    torch.manual_seed(0)
    layer = BiRNNLayer("gru", 3, 4, bidirectional=False).eval()
    x = torch.randn(2, 5, 3)
    with torch.no_grad():
        ref, _ = layer.fwd(x)
        out = layer(x, torch.tensor([5, 2]))
    assert out.shape == (2, 5, 4)
    torch.testing.assert_close(out, ref)


def _small_image_cfg(*overrides: str) -> Config:
    return Config.load(None, [
        "features.image.height=32",
        "model.cnn_channels=[4, 8]",
        "model.cnn_pool=[[2, 2], [2, 1]]",
        "model.hidden=8",
        "model.layers=2",
        *overrides,
    ])


def _small_audio_cfg() -> Config:
    return Config.load(None, [
        "features.modality=audio",
        "model.frontend=stack",
        "model.stack=3",
        "model.subsample=2",
        "model.hidden=8",
        "model.layers=2",
    ])


@pytest.mark.parametrize("short_len", [13, 14])  # odd and even lengths through width pooling
@pytest.mark.parametrize("residual", ["[]", "[1, 2]"])
def test_cnn_model_same_alone_and_batched(short_len, residual):
    cfg = _small_image_cfg(f"model.cnn_residual={residual}")
    torch.manual_seed(0)
    model = CTCModel(cfg, num_classes=6)
    # non-trivial batch-norm statistics and scales, so eval mode is not the identity and the
    # residual blocks (whose last scale starts at 0) take part
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
    model.eval()
    D, T_long = 32, 21
    g = torch.Generator().manual_seed(1)
    short = torch.rand(short_len, D, generator=g)
    long = torch.rand(T_long, D, generator=g)
    batch = torch.zeros(2, T_long, D)
    batch[0, :short_len] = short  # zero padding, as collate makes it
    batch[1] = long
    lengths = torch.tensor([short_len, T_long])
    with torch.no_grad():
        yb, lb = model(batch, lengths)
        ys, ls = model(short.unsqueeze(0), torch.tensor([short_len]))
        yl, ll = model(long.unsqueeze(0), torch.tensor([T_long]))
    assert lb.tolist() == model.output_lengths(lengths).tolist()
    assert lb.tolist() == [short_len // 2, T_long // 2]
    assert ls.tolist() == [short_len // 2] and ys.shape[1] == short_len // 2
    assert yb.shape == (2, T_long // 2, 6)
    n = int(ls[0])
    torch.testing.assert_close(yb[0, :n], ys[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(yb[1], yl[0], atol=1e-5, rtol=0)
    # log-probabilities
    torch.testing.assert_close(yb.exp().sum(-1), torch.ones(2, T_long // 2), atol=1e-5, rtol=0)


def test_audio_model_same_alone_and_batched():
    cfg = _small_audio_cfg()
    D = feature_dim(cfg.features)
    assert D == 123
    torch.manual_seed(0)
    model = CTCModel(cfg, num_classes=5).eval()
    assert model.frontend.output_size == 3 * D
    T_short, T_long = 10, 17
    g = torch.Generator().manual_seed(2)
    short = torch.randn(T_short, D, generator=g)
    long = torch.randn(T_long, D, generator=g)
    batch = torch.zeros(2, T_long, D)
    batch[0] = long
    batch[1, :T_short] = short
    lengths = torch.tensor([T_long, T_short])
    with torch.no_grad():
        yb, lb = model(batch, lengths)
        ys, ls = model(short.unsqueeze(0), torch.tensor([T_short]))
    # (T - stack) // subsample + 1
    assert lb.tolist() == [(T_long - 3) // 2 + 1, (T_short - 3) // 2 + 1] == [8, 4]
    assert lb.tolist() == model.output_lengths(lengths).tolist()
    assert ls.tolist() == [4] and ys.shape[1] == 4
    torch.testing.assert_close(yb[1, :4], ys[0], atol=1e-5, rtol=0)


def test_cnn_residual_needs_one_count_per_block():
    with pytest.raises(ValueError, match="cnn_residual"):
        CTCModel(_small_image_cfg("model.cnn_residual=[1]"), 5)
    with pytest.raises(ValueError, match="cnn_residual"):
        CTCModel(_small_image_cfg("model.cnn_residual=[1, -1]"), 5)


def test_cnn_frontend_rejects_audio():
    with pytest.raises(ValueError, match="frontend=cnn"):
        CTCModel(Config.load(None, ["features.modality=audio"]), 5)


def test_stack_frontend_known_answer():
    fe = StackFrontend(input_dim=2, stack=3, subsample=2)
    assert fe.output_size == 6
    x = torch.arange(10, dtype=torch.float32).view(1, 5, 2)  # frames [0,1] [2,3] [4,5] [6,7] [8,9]
    y, lens = fe(x, torch.tensor([5]))
    assert y.shape == (1, 2, 6)
    assert y[0].tolist() == [[0, 1, 2, 3, 4, 5], [4, 5, 6, 7, 8, 9]]
    assert lens.tolist() == [2]
    assert fe.output_lengths(torch.tensor([2, 3, 4, 5, 6, 7])).tolist() == [0, 1, 1, 2, 2, 3]


def test_stack_frontend_identity():
    fe = StackFrontend(input_dim=4)
    x = torch.randn(2, 3, 4)
    y, lens = fe(x, torch.tensor([3, 1]))
    assert y is x and lens.tolist() == [3, 1]
