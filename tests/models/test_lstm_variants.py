"""The LSTM variants of Greff et al. 2016 (models/lstm_variants.py, loop in models/lstm_kernel.py):
each against its equations written out step by step, each removed gate really gone, gradients
(the hand-written backward against finite differences), and bidirectional use in the encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import functional_call

from recog.config import Config
from recog.models import build_model
from recog.models.lstm_variants import VARIANTS, PeepholeLSTM, VariantLSTM
from recog.models.rnn import RecurrentEncoder

NAMES = list(VARIANTS)


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def _params(cell: VariantLSTM) -> dict[str, np.ndarray]:
    return {n: p.detach().double().numpy() for n, p in cell.named_parameters()}


def reference(cell: VariantLSTM, x: np.ndarray, h=None, c=None, a=None):
    """The variant's equations (the table in lstm_variants.py) one step at a time in float64 for
    one sequence x (T, D); returns every h_t (T, H) and the last c and a."""
    v = VARIANTS[cell.variant]
    P = _params(cell)
    H = cell.hidden_size
    own_f = v.forget_gate and not v.coupled
    names = [g for g, on in (("i", v.input_gate), ("f", own_f), ("z", True), ("o", v.output_gate)) if on]
    W = {g: P["weight_ih"][k * H:(k + 1) * H] for k, g in enumerate(names)}
    R = {g: P["weight_hh"][k * H:(k + 1) * H] for k, g in enumerate(names)}
    b = {g: P["bias"][k * H:(k + 1) * H] for k, g in enumerate(names)}
    p = {g: P.get(f"peep_{g}", np.zeros(H)) for g in "ifo"}
    gates = [g for g in names if g != "z"]
    Rg = {g: P["weight_gg"][k * H:(k + 1) * H] for k, g in enumerate(gates)} if v.full_recurrence else {}
    h = np.zeros(H) if h is None else h
    c = np.zeros(H) if c is None else c
    a = np.zeros(len(gates) * H) if a is None else a
    hs = []
    for xt in x:
        pre = {g: W[g] @ xt + R[g] @ h + b[g] + (Rg[g] @ a if g in Rg else 0.0) for g in names}
        i = _sig(pre["i"] + p["i"] * c) if v.input_gate else 1.0
        if own_f:
            f = _sig(pre["f"] + p["f"] * c)
        else:
            f = 1.0 - i if v.coupled else 1.0
        z = np.tanh(pre["z"]) if v.input_activation else pre["z"]
        c = f * c + i * z
        o = _sig(pre["o"] + p["o"] * c) if v.output_gate else 1.0
        h = o * (np.tanh(c) if v.output_activation else c)
        a = np.concatenate([{"i": i, "f": f, "o": o}[g] * np.ones(H) for g in gates]) if gates else a
        hs.append(h)
    return np.array(hs), c, a


def _cell(name: str, D: int = 3, H: int = 4, seed: int = 0, scale: float = 0.8) -> VariantLSTM:
    torch.manual_seed(seed)
    cell = VariantLSTM(D, H, name)
    with torch.no_grad():
        for q in cell.parameters():
            q.uniform_(-scale, scale)  # peepholes, biases and gate weights all large enough to matter
    return cell


@pytest.mark.parametrize("name", NAMES)
def test_each_variant_follows_its_equations(name):
    cell = _cell(name)
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (2, 6, 3))
    H = 4
    n_a = 3 * H if name == "lstm_fgr" else 0
    h0, c0, a0 = rng.uniform(-1, 1, (2, H)), rng.uniform(-1, 1, (2, H)), rng.uniform(0, 1, (2, n_a))
    state = tuple(torch.tensor(s, dtype=torch.float32).unsqueeze(0) for s in ((h0, c0, a0) if n_a else (h0, c0)))
    for grad in (False, True):  # the forward loop alone (inference) and the one that saves for backward
        with torch.set_grad_enabled(grad):
            y, last = cell(torch.tensor(x, dtype=torch.float32), state)
        for b in range(2):
            hs, c, a = reference(cell, x[b], h0[b], c0[b], a0[b] if n_a else None)
            np.testing.assert_allclose(y[b].detach().numpy(), hs, atol=1e-5)
            np.testing.assert_allclose(last[0][0, b].detach().numpy(), hs[-1], atol=1e-5)
            np.testing.assert_allclose(last[1][0, b].detach().numpy(), c, atol=1e-5)
            if n_a:
                np.testing.assert_allclose(last[2][0, b].detach().numpy(), a, atol=1e-5)
    assert len(last) == (3 if n_a else 2)


def _vanilla_with(cell: VariantLSTM, gate: str) -> VariantLSTM:
    """A vanilla (peephole) cell computing what ``cell`` (one gate removed) computes, but with that
    gate present and held open: its weights zero, its bias 10⁴ (σ = 1 in float32)."""
    H = cell.hidden_size
    full = VariantLSTM(cell.input_size, H, "peephole_lstm")
    order = [g for g in "ifzo" if g != gate]
    with torch.no_grad():
        for q in full.parameters():
            q.zero_()
        for k, g in enumerate(order):
            dst = slice("ifzo".index(g) * H, ("ifzo".index(g) + 1) * H)
            full.weight_ih[dst] = cell.weight_ih[k * H:(k + 1) * H]
            full.weight_hh[dst] = cell.weight_hh[k * H:(k + 1) * H]
            full.bias[dst] = cell.bias[k * H:(k + 1) * H]
        g = "ifzo".index(gate)
        full.bias[g * H:(g + 1) * H] = 1e4
        for n in cell.peeps:
            getattr(full, n).copy_(getattr(cell, n))
    return full


@pytest.mark.parametrize("name, gate", [("lstm_nig", "i"), ("lstm_nfg", "f"), ("lstm_nog", "o")])
def test_a_removed_gate_is_a_gate_held_open(name, gate):
    cell = _cell(name)
    assert cell.weight_ih.shape[0] == 3 * 4 and f"peep_{gate}" not in dict(cell.named_parameters())
    x = torch.randn(3, 7, 3)
    with torch.no_grad():
        torch.testing.assert_close(cell(x)[0], _vanilla_with(cell, gate)(x)[0], atol=1e-5, rtol=0)


def test_without_a_forget_gate_the_cell_state_sums_the_inputs():
    """NFG: c_T = c_0 + Σ_t i_t ⊙ z_t.  With no recurrent weights or peepholes, i_t and z_t depend on
    x_t alone, so c_T is the sum of one-step cell states, whatever the order of the steps; with
    a forget gate (vanilla) the order matters."""
    x = torch.randn(1, 6, 3)
    for name, sums in (("lstm_nfg", True), ("peephole_lstm", False)):
        cell = _cell(name)
        with torch.no_grad():
            cell.weight_hh.zero_()
            for n in cell.peeps:
                getattr(cell, n).zero_()
            c_all = cell(x)[1][1]
            c_rev = cell(x.flip(1))[1][1]
            c_sum = sum(cell(x[:, t:t + 1])[1][1] for t in range(6))
        assert torch.allclose(c_all, c_sum, atol=1e-5) == sums
        assert torch.allclose(c_all, c_rev, atol=1e-5) == sums


def test_coupled_gate_no_peepholes_and_no_gate_recurrence_are_what_they_say():
    x = torch.randn(2, 5, 3)
    cifg = _cell("lstm_cifg")
    assert cifg.weight_ih.shape[0] == 3 * 4 and cifg.peeps == ["peep_i", "peep_o"]
    npv = _cell("lstm_np")
    assert npv.peeps == [] and not any(n.startswith("peep") for n, _ in npv.named_parameters())
    vanilla = VariantLSTM(3, 4, "peephole_lstm")
    vanilla.load_state_dict({**npv.state_dict(), **{n: torch.zeros(4) for n in ("peep_i", "peep_f", "peep_o")}})
    fgr = _cell("lstm_fgr")
    plain = VariantLSTM(3, 4, "peephole_lstm")
    plain.load_state_dict({k: v for k, v in fgr.state_dict().items() if k != "weight_gg"})
    with torch.no_grad():
        torch.testing.assert_close(npv(x)[0], vanilla(x)[0], atol=1e-6, rtol=0)
        assert not torch.allclose(fgr(x)[0], plain(x)[0], atol=1e-3)  # the gates' recurrence takes part
        fgr.weight_gg.zero_()
        torch.testing.assert_close(fgr(x)[0], plain(x)[0], atol=1e-6, rtol=0)


def test_peephole_lstm_keeps_the_parameters_of_the_cell_it_replaces():
    cell = PeepholeLSTM(3, 4)
    assert [(n, tuple(p.shape)) for n, p in cell.named_parameters()] == [
        ("weight_ih", (16, 3)), ("weight_hh", (16, 4)), ("bias", (16,)), ("peep_i", (4,)), ("peep_f", (4,)),
        ("peep_o", (4,))]
    assert torch.all(cell.bias[4:8] == 1.0) and torch.all(cell.bias[:4] == 0) and torch.all(cell.bias[8:] == 0)
    assert torch.all(VariantLSTM(3, 4, "lstm_cifg").bias == 0)


@pytest.mark.parametrize("name", NAMES)
def test_hand_written_backward_matches_finite_differences(name):
    cell = _cell(name).double()
    x = torch.randn(2, 4, 3, dtype=torch.double, requires_grad=True)
    n_state = 3 if name == "lstm_fgr" else 2
    sizes = (4, 4, 12)
    state = tuple(torch.rand(1, 2, sizes[k], dtype=torch.double, requires_grad=True) for k in range(n_state))
    names = [n for n, _ in cell.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in cell.parameters())

    def run(x, *rest):
        st, ps = rest[:n_state], rest[n_state:]
        y, last = functional_call(cell, dict(zip(names, ps)), (x, st))
        return (y,) + last

    assert torch.autograd.gradcheck(run, (x, *state, *params), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_parameter_of_a_model(name):
    cfg = Config.load(None, ["features.modality=audio", "features.audio.kind=mfcc", "features.audio.num_ceps=3",
                             "features.audio.deltas=0", "model.frontend=none", f"model.cell={name}",
                             "model.hidden=5", "model.layers=2", "model.dropout=0", "model.output=label"])
    torch.manual_seed(0)
    model = build_model(cfg, 4)
    logp, _ = model(torch.randn(3, 9, 3), torch.tensor([9, 6, 2]))
    logp[:, 1:].sum().backward()
    for n, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, n


@pytest.mark.parametrize("padding", ["right", "left"])
@pytest.mark.parametrize("name", NAMES)
def test_bidirectional_outputs_do_not_depend_on_padding(name, padding):
    torch.manual_seed(0)
    enc = RecurrentEncoder(name, 3, 4, layers=2, bidirectional=True, dropout=0.5).eval()
    long, short = torch.randn(7, 3), torch.randn(3, 3)
    batch = torch.full((2, 7, 3), 5.0)  # junk padding
    batch[0] = long
    if padding == "right":
        batch[1, :3] = short
    else:
        batch[1, 4:] = short
    with torch.no_grad():
        yb = enc(batch, torch.tensor([7, 3]), padding)
        ys = enc(short.unsqueeze(0), torch.tensor([3]))
        yl = enc(long.unsqueeze(0), torch.tensor([7]))
    valid = yb[1, :3] if padding == "right" else yb[1, 4:]
    torch.testing.assert_close(valid, ys[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(yb[0], yl[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["lstm_fgr", "lstm_cifg"])
def test_state_carried_across_chunks_is_the_unchunked_run(name):
    """data.sequence_length=N: a unidirectional encoder carries every layer's state (FGR: h, c and
    the gates' activations) from chunk to chunk."""
    torch.manual_seed(0)
    enc = RecurrentEncoder(name, 3, 4, layers=2, bidirectional=False, dropout=0.0).eval()
    x, lengths = torch.randn(2, 10, 3), torch.tensor([10, 7])
    with torch.no_grad():
        whole = enc(x, lengths)
        chunked = enc(x, lengths, chunk=3)
    torch.testing.assert_close(chunked[0], whole[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(chunked[1, :7], whole[1, :7], atol=1e-5, rtol=0)


def test_autocast_runs_the_loop_in_float32():
    cell = _cell("peephole_lstm")
    x = torch.randn(2, 5, 3)
    with torch.no_grad():
        ref = cell(x)[0]
    for grad in (False, True):
        with torch.set_grad_enabled(grad), torch.autocast("cpu", dtype=torch.bfloat16):
            y = cell(x)[0]
        assert y.dtype == torch.float32
        torch.testing.assert_close(y.detach(), ref, atol=0.05, rtol=0)  # the input projection ran in bf16
