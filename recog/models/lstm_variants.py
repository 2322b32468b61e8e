"""The LSTM variants of Greff et al. 2016 ("LSTM: A Search Space Odyssey"), one cell with switches.

The vanilla LSTM (``peephole_lstm``, Gers & Schmidhuber 2000) with block input z, input gate i,
forget gate f, output gate o, peepholes p and cell state c; σ the logistic sigmoid, g = h = tanh:

    z_t = g(W_z x_t + R_z h_{t−1} + b_z)
    i_t = σ(W_i x_t + R_i h_{t−1} + p_i ⊙ c_{t−1} + b_i)
    f_t = σ(W_f x_t + R_f h_{t−1} + p_f ⊙ c_{t−1} + b_f)
    c_t = f_t ⊙ c_{t−1} + i_t ⊙ z_t
    o_t = σ(W_o x_t + R_o h_{t−1} + p_o ⊙ c_t + b_o)
    h_t = o_t ⊙ h(c_t)

and each variant changes one thing (``model.cell``):

=============  =====================================  =======================================
cell           Greff et al.                           change
=============  =====================================  =======================================
lstm_nig       NIG: no input gate                     i_t = 1
lstm_nfg       NFG: no forget gate                    f_t = 1 (c_t = c_{t−1} + i_t ⊙ z_t: a sum)
lstm_nog       NOG: no output gate                    o_t = 1
lstm_niaf      NIAF: no input activation function     g(x) = x
lstm_noaf      NOAF: no output activation function    h(x) = x
lstm_np        NP: no peepholes                       p_i = p_f = p_o = 0 (not parameters)
lstm_cifg      CIFG: coupled input and forget gate    f_t = 1 − i_t (no W_f, R_f, b_f, p_f)
lstm_fgr       FGR: full gate recurrence              every gate also reads all gates' previous
                                                      activations: + Σ_{g∈{i,f,o}} R_{g→·} g_{t−1}
=============  =====================================  =======================================

A removed gate has no weights (parameter counts follow the variant).  Weights are stacked in the
order i, f, z, o (torch's i, f, g, o), so ``peephole_lstm`` keeps the parameter names and layout of
the cell it replaces (``weight_ih``, ``weight_hh``, ``bias``, ``peep_i``, ``peep_f``, ``peep_o``)
and model files trained with it load unchanged.  FGR adds ``weight_gg`` (3H × 3H) and carries the
gates' activations in its state: ``(h, c, a)`` instead of ``(h, c)``.

Initialisation: uniform in ±1/√H as torch's LSTM (FGR's gate-to-gate weights ±1/√(3H), their fan-in),
peepholes too, biases 0 except the forget gate's, 1 (Gers et al.).  The time loop with its
hand-written backward is :mod:`.lstm_kernel`.
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass

import torch
from torch import nn

from .lstm_kernel import blocks, run_loop


@dataclass(frozen=True)
class Variant:
    input_gate: bool = True
    forget_gate: bool = True
    output_gate: bool = True
    input_activation: bool = True   # g = tanh (False: identity)
    output_activation: bool = True  # h = tanh (False: identity)
    peepholes: bool = True
    coupled: bool = False           # f = 1 − i (CIFG)
    full_recurrence: bool = False   # FGR

    def flags(self) -> list[bool]:
        """In :mod:`.lstm_kernel`'s order (the fields' order)."""
        return list(astuple(self))


VARIANTS: dict[str, Variant] = {
    "peephole_lstm": Variant(),
    "lstm_nig": Variant(input_gate=False),
    "lstm_nfg": Variant(forget_gate=False),
    "lstm_nog": Variant(output_gate=False),
    "lstm_niaf": Variant(input_activation=False),
    "lstm_noaf": Variant(output_activation=False),
    "lstm_np": Variant(peepholes=False),
    "lstm_cifg": Variant(coupled=True),
    "lstm_fgr": Variant(full_recurrence=True),
}


class VariantLSTM(nn.Module):
    """Unidirectional LSTM variant (``VARIANTS``), batch-first, called like ``nn.LSTM``:
    ``y, state = cell(x, state)`` with x (B, T, D), y (B, T, H) and state ``(h, c)`` of (1, B, H)
    each (FGR: ``(h, c, a)``, a (1, B, 3H)); None starts from zeros."""

    def __init__(self, input_size: int, hidden_size: int, variant: str = "peephole_lstm"):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown LSTM variant {variant!r}; known: {', '.join(VARIANTS)}")
        self.input_size, self.hidden_size, self.variant = input_size, hidden_size, variant
        v = VARIANTS[variant]
        self.flags = v.flags()
        H = hidden_size
        oi, of, oz, oo, k = blocks(self.flags)
        self.weight_ih = nn.Parameter(torch.empty(k * H, input_size))
        self.weight_hh = nn.Parameter(torch.empty(k * H, H))
        self.bias = nn.Parameter(torch.zeros(k * H))
        # peepholes of the gates that have blocks
        self.peeps = [n for n, o in (("peep_i", oi), ("peep_f", of), ("peep_o", oo)) if o >= 0] if v.peepholes else []
        for n in self.peeps:
            self.register_parameter(n, nn.Parameter(torch.empty(H)))
        self.n_gates = sum(o >= 0 for o in (oi, of, oo))
        bound = 1.0 / math.sqrt(H)
        for w in (self.weight_ih, self.weight_hh, *(getattr(self, n) for n in self.peeps)):  # the order of the
            nn.init.uniform_(w, -bound, bound)                                                # cell it replaces
        if v.full_recurrence:
            n = self.n_gates * H
            self.weight_gg = nn.Parameter(torch.empty(n, n).uniform_(-1 / math.sqrt(n), 1 / math.sqrt(n)))
        if of >= 0:
            with torch.no_grad():
                self.bias[of * H : (of + 1) * H].fill_(1.0)  # forget-gate bias 1 (Gers et al.)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, variant={self.variant}"

    def _peep(self) -> torch.Tensor:
        """(3, H): p_i, p_f, p_o (zero rows for the gates without peepholes)."""
        rows = [getattr(self, n) if n in self.peeps else self.bias.new_zeros(self.hidden_size)
                for n in ("peep_i", "peep_f", "peep_o")]
        return torch.stack(rows)

    def forward(self, x: torch.Tensor, state=None):
        B, T, D = x.shape
        H = self.hidden_size
        fgr = self.flags[-1]
        # W x_t + b for every step in one matmul, time-major: (T, B, K·H)
        xp = torch.addmm(self.bias, x.transpose(0, 1).reshape(T * B, D), self.weight_ih.T).view(T, B, -1)
        zeros = x.new_zeros(B, H)
        a0 = x.new_zeros(B, self.n_gates * H if fgr else 0)
        if state is None:
            h0, c0 = zeros, zeros
        else:
            h0, c0 = state[0][0], state[1][0]
            if fgr and len(state) > 2:
                a0 = state[2][0]
        w_gg = self.weight_gg if fgr else x.new_zeros(0, 0)
        y, h, c, a = run_loop(xp, self.weight_hh, self._peep(), w_gg, h0, c0, a0, self.flags)
        last = (h.unsqueeze(0), c.unsqueeze(0)) + ((a.unsqueeze(0),) if fgr else ())
        return y.transpose(0, 1).contiguous(), last


class PeepholeLSTM(VariantLSTM):
    """The vanilla LSTM of Greff et al. (peepholes and a forget gate): ``model.cell=peephole_lstm``."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size, "peephole_lstm")
