"""The time loop of the LSTM variants (:mod:`.lstm_variants`), forward and backward by hand.

Written step by step with autograd, a Python LSTM records ~15 small operations per time step and
autograd replays each of them backwards; on a CPU that overhead, not the arithmetic, dominates
(``benchmarks/lstm_cells.py`` measures it).  Here the loop is one ``torch.autograd.Function``
whose forward and backward loops are TorchScript (no Python per step) and whose backward is the
LSTM's own back-propagation through time, as cuDNN computes it:

* the input projection W·x_t + b of all steps is one matmul *outside* the loop (``xp``: autograd
  differentiates it), and the loop returns ∂L/∂xp;
* inside the loop, per step, one matmul forward (R·h_{t−1}) and one backward (δpre_t·R);
* the weight gradients are one matmul each *after* the loop: ∂L/∂R = Σ_t δpre_tᵀ h_{t−1};
* the derivatives of the activations (σ' = σ(1 − σ), tanh' = 1 − tanh²) times what they meet in
  the chain rule are computed for all steps at once *before* the backward loop, so a step of it
  is a few fused multiply-adds;
* activations are written into preallocated (T, B, H) buffers (``out=``), not stacked afterwards.

Flags (``flags``: input gate, forget gate, output gate, input activation, output activation,
peepholes, coupled input-forget gate, full gate recurrence) switch terms off as in Greff et al.
2016; the equations are those of :class:`.lstm_variants.VariantLSTM`.  Pre-activation blocks
(H each) are stacked in the order i, f, z, o, leaving out absent gates (an absent or coupled forget
gate has no block); ``a`` (full gate recurrence) holds the previous activations of the gates that
have blocks, in the order i, f, o.  ``peep`` is (3, H): p_i, p_f, p_o (rows of absent ones zero).
"""

from __future__ import annotations

import warnings
from typing import List, Tuple

import torch
from torch import Tensor

def blocks(flags: List[bool]) -> Tuple[int, int, int, int, int]:
    """Block offsets (in units of H) of i, f, z, o among the pre-activations (−1: no block), and
    how many blocks there are.  ``flags``: input gate, forget gate, output gate, input activation,
    output activation, peepholes, coupled input-forget gate, full gate recurrence."""
    k = 0
    oi = -1
    of = -1
    oo = -1
    if flags[0]:
        oi = k
        k += 1
    if flags[1] and not flags[6]:
        of = k
        k += 1
    oz = k
    k += 1
    if flags[2]:
        oo = k
        k += 1
    return oi, of, oz, oo, k


def _script(fn):
    """``fn`` compiled by TorchScript (deprecated in torch 2.14, still the fastest CPU loop here:
    benchmarks/lstm_cells.py); the plain Python function where scripting is unavailable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return torch.jit.script(fn)
    except Exception:  # pragma: no cover - a torch without TorchScript
        return fn


def _forward(xp: Tensor, w_hh: Tensor, peep: Tensor, w_gg: Tensor, h0: Tensor, c0: Tensor, a0: Tensor,
             flags: List[bool], save: bool) -> Tuple[Tensor, Tensor, Tensor, List[Tensor]]:
    """xp (T, B, K·H) time-major.  Returns h_0 … h_T (T + 1, B, H), the last c and a, and with
    ``save`` what the backward loop reads: i, f, z, o, s (T, B, H; empty where the variant has
    none), c_0 … c_T and a_0 … a_T (FGR; else empty).  Without ``save`` the activations of a step
    are written over by the next one."""
    T, B, H = xp.shape[0], xp.shape[1], h0.shape[1]
    ig, fg, og, iact, oact, pp, cifg, fgr = (flags[0], flags[1], flags[2], flags[3], flags[4], flags[5],
                                             flags[6], flags[7])
    own_f = fg and not cifg
    oi, of, oz, oo, k = blocks(flags)
    n_a = int(ig) + int(own_f) + int(og)
    m = T if save else 1
    I = xp.new_empty([m if ig else 0, B, H])
    F = xp.new_empty([m if fg else 0, B, H])
    Z = xp.new_empty([m, B, H])
    O = xp.new_empty([m if og else 0, B, H])
    S = xp.new_empty([m if oact else 0, B, H])
    Cx = xp.new_empty([T + 1 if save else 2, B, H])
    A = xp.new_empty([(T + 1 if save else 2) if fgr else 0, B, n_a * H])
    Y = xp.new_empty([T + 1, B, H])
    Cx[0] = c0
    Y[0] = h0
    if fgr:
        A[0] = a0
    w_t = w_hh.t()
    g_t = w_gg.t()
    q = 0
    for t in range(T):
        j = t if save else 0                                                # this step's activations
        p = t if save else t % 2                                            # c_{t−1}, a_{t−1}
        q = t + 1 if save else (t + 1) % 2                                  # c_t, a_t
        c = Cx[p]
        cn = Cx[q]
        pre = torch.addmm(xp[t], Y[t], w_t)                                 # W x_t + b + R h_{t−1}
        gr = torch.mm(A[p], g_t) if fgr else pre                            # FGR: + R_g a_{t−1}
        n = 0
        own: List[Tensor] = []
        i = c
        if ig:
            zi = pre[:, oi * H:(oi + 1) * H]
            if fgr:
                zi = zi + gr[:, n * H:(n + 1) * H]
                n += 1
            if pp:
                zi = torch.addcmul(zi, peep[0], c)
            i = torch.sigmoid(zi, out=I[j])                                 # i_t = σ(… + p_i ⊙ c_{t−1})
            own.append(i)
        f = c
        if own_f:
            zf = pre[:, of * H:(of + 1) * H]
            if fgr:
                zf = zf + gr[:, n * H:(n + 1) * H]
                n += 1
            if pp:
                zf = torch.addcmul(zf, peep[1], c)
            f = torch.sigmoid(zf, out=F[j])                                 # f_t = σ(… + p_f ⊙ c_{t−1})
            own.append(f)
        elif cifg:
            f = F[j].copy_(1.0 - i)                                         # CIFG: f_t = 1 − i_t
        zz = pre[:, oz * H:(oz + 1) * H]
        z = torch.tanh(zz, out=Z[j]) if iact else Z[j].copy_(zz)            # z_t = g(…)
        if fg:
            torch.mul(f, c, out=cn)                                         # c_t = f_t ⊙ c_{t−1}
        else:
            cn.copy_(c)                                                     # (NFG: f_t = 1)
        if ig:
            cn.addcmul_(i, z)                                               #       + i_t ⊙ z_t
        else:
            cn.add_(z)                                                      # (NIG: i_t = 1)
        s = torch.tanh(cn, out=S[j]) if oact else cn                        # s_t = h(c_t)
        if og:
            zo = pre[:, oo * H:(oo + 1) * H]
            if fgr:
                zo = zo + gr[:, n * H:(n + 1) * H]
            if pp:
                zo = torch.addcmul(zo, peep[2], cn)
            o = torch.sigmoid(zo, out=O[j])                                 # o_t = σ(… + p_o ⊙ c_t)
            own.append(o)
            torch.mul(o, s, out=Y[t + 1])                                   # h_t = o_t ⊙ s_t
        else:
            Y[t + 1].copy_(s)                                               # (NOG: o_t = 1)
        if fgr:
            torch.cat(own, 1, out=A[q])                                     # a_t = [i_t, f_t, o_t]
    saved: List[Tensor] = []
    if save:
        saved = [I, F, Z, O, S, Cx, Y, A]
    return Y, Cx[q], (A[q] if fgr else a0), saved


def _backward(dy: Tensor, dh: Tensor, dc: Tensor, da: Tensor, w_hh: Tensor, peep: Tensor, w_gg: Tensor,
              saved: List[Tensor], flags: List[bool]
              ) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Back-propagation through time.  dy (T, B, H): ∂L/∂h_t from above; dh, dc, da: ∂L/∂ of the
    last state; ``saved``: what ``_forward`` kept.  Returns ∂L/∂xp (T, B, K·H), ∂L/∂R, ∂L/∂peep
    (3, H), ∂L/∂R_g and ∂L/∂ of the initial h, c, a."""
    I, F, Z, O, S, Cx, Y, A = saved[0], saved[1], saved[2], saved[3], saved[4], saved[5], saved[6], saved[7]
    T, B, H = dy.shape[0], dy.shape[1], dy.shape[2]
    ig, fg, og, iact, oact, pp, cifg, fgr = (flags[0], flags[1], flags[2], flags[3], flags[4], flags[5],
                                             flags[6], flags[7])
    own_f = fg and not cifg
    oi, of, oz, oo, k = blocks(flags)
    Cp = Cx[:-1]
    C = Cx[1:]
    # For all steps at once, the factors that take ∂L/∂h_t, ∂L/∂c_t and ∂L/∂a_t to the pre-activations:
    ds = (1.0 - S * S) if oact else Z[:0]                      # ∂s/∂c = tanh'(c) (NOAF: 1)
    s = S if oact else C
    Go = O * (1.0 - O) if og else Z[:0]                        # σ'(zo)
    Ko = s * Go if og else Z[:0]                               # ∂h/∂zo = s ⊙ σ'
    has_kc = og or oact
    Kc = (O * ds if oact else O) if og else ds                 # ∂h/∂c (through s)
    Gi = I * (1.0 - I) if ig else Z[:0]
    Ki = Z[:0]
    if ig:
        Ki = Gi * (Z - Cp) if cifg else Gi * Z                 # ∂c/∂zi (CIFG: f = 1 − i as well)
    Gf = F * (1.0 - F) if own_f else Z[:0]
    Kf = Gf * Cp if own_f else Z[:0]                           # ∂c/∂zf
    has_kz = iact or ig
    Kz = Z[:0]
    if iact:
        Kz = (1.0 - Z * Z) * I if ig else 1.0 - Z * Z          # ∂c/∂zz = i ⊙ g'
    elif ig:
        Kz = I
    dX = dy.new_empty([T, B, k * H])                           # ∂L/∂ pre-activations
    n_a = int(ig) + int(own_f) + int(og)
    DG = dy.new_empty([T if fgr else 0, B, n_a * H])           # ∂L/∂ gate pre-activations (FGR)
    dc = dc.clone()
    for t in range(T - 1, -1, -1):
        dh = dh + dy[t]
        dx = dX[t]
        n = 0
        da_i = dh
        da_f = dh
        da_o = dh
        if fgr:
            if ig:
                da_i = da[:, n * H:(n + 1) * H]
                n += 1
            if own_f:
                da_f = da[:, n * H:(n + 1) * H]
                n += 1
            if og:
                da_o = da[:, n * H:(n + 1) * H]
        dzo = dh
        if og:
            dzo = torch.mul(dh, Ko[t], out=dx[:, oo * H:(oo + 1) * H])
            if fgr:
                dzo.addcmul_(da_o, Go[t])
        if has_kc:
            dc.addcmul_(dh, Kc[t])
        else:
            dc.add_(dh)
        if og and pp:
            dc.addcmul_(dzo, peep[2])                          # o_t peeks at c_t
        dzi = dh
        if ig:
            dzi = torch.mul(dc, Ki[t], out=dx[:, oi * H:(oi + 1) * H])
            if fgr:
                dzi.addcmul_(da_i, Gi[t])
        dzf = dh
        if own_f:
            dzf = torch.mul(dc, Kf[t], out=dx[:, of * H:(of + 1) * H])
            if fgr:
                dzf.addcmul_(da_f, Gf[t])
        if has_kz:
            torch.mul(dc, Kz[t], out=dx[:, oz * H:(oz + 1) * H])
        else:
            dx[:, oz * H:(oz + 1) * H].copy_(dc)
        if fg:
            dc.mul_(F[t])                                      # ∂L/∂c_{t−1} through f_t ⊙ c_{t−1}
        if pp and ig:
            dc.addcmul_(dzi, peep[0])                          # and through the peepholes of i_t, f_t
        if pp and own_f:
            dc.addcmul_(dzf, peep[1])
        dh = torch.mm(dx, w_hh)                                # ∂L/∂h_{t−1} through R
        if fgr:
            gates: List[Tensor] = []
            if ig:
                gates.append(dzi)
            if own_f:
                gates.append(dzf)
            if og:
                gates.append(dzo)
            da = torch.mm(torch.cat(gates, 1, out=DG[t]), w_gg)  # ∂L/∂a_{t−1} through R_g
    dw_hh = torch.mm(dX.reshape(-1, k * H).t(), Y[:-1].reshape(-1, H))
    dpeep = torch.zeros_like(peep)
    if pp and ig:
        dpeep[0] = (dX[:, :, oi * H:(oi + 1) * H] * Cp).sum([0, 1])
    if pp and own_f:
        dpeep[1] = (dX[:, :, of * H:(of + 1) * H] * Cp).sum([0, 1])
    if pp and og:
        dpeep[2] = (dX[:, :, oo * H:(oo + 1) * H] * C).sum([0, 1])
    dw_gg = torch.zeros_like(w_gg)
    if fgr:
        dw_gg = torch.mm(DG.reshape(-1, n_a * H).t(), A[:-1].reshape(-1, n_a * H))
    return dX, dw_hh, dpeep, dw_gg, dh, dc, da


_forward_py, _backward_py = _forward, _backward
_forward, _backward = _script(_forward), _script(_backward)


class LSTMLoop(torch.autograd.Function):
    """y, h_T, c_T, a_T = loop(xp, R, peep, R_g, h_0, c_0, a_0); xp (T, B, K·H) time-major."""

    @staticmethod
    def forward(ctx, xp, w_hh, peep, w_gg, h0, c0, a0, flags):
        Y, c, a, saved = _forward(xp, w_hh, peep, w_gg, h0, c0, a0, flags, True)
        ctx.flags = flags
        ctx.save_for_backward(w_hh, peep, w_gg, *saved)
        return Y[1:], Y[-1], c, a.clone()

    @staticmethod
    def backward(ctx, dy, dh, dc, da):
        w_hh, peep, w_gg, *saved = ctx.saved_tensors  # gradients of unused outputs arrive as zeros
        grads = _backward(dy.contiguous(), dh, dc, da, w_hh, peep, w_gg, saved, ctx.flags)
        dxp, dw_hh, dpeep, dw_gg, dh0, dc0, da0 = grads
        return dxp, dw_hh, dpeep, dw_gg, dh0, dc0, da0, None


def run_loop(xp: Tensor, w_hh: Tensor, peep: Tensor, w_gg: Tensor, h0: Tensor, c0: Tensor, a0: Tensor,
             flags: List[bool]) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """The loop with the hand-written backward where gradients are wanted, else the forward loop
    alone; under autocast in float32 (the loops write into buffers of one dtype)."""
    args = (xp, w_hh, peep, w_gg, h0, c0, a0)
    if torch.is_autocast_enabled(xp.device.type):
        with torch.autocast(xp.device.type, enabled=False):
            return run_loop(*[v.float() for v in args], flags)
    if torch.is_grad_enabled() and any(t.requires_grad for t in args):
        return LSTMLoop.apply(*args, flags)
    Y, c, a, _ = _forward(xp, w_hh, peep, w_gg, h0, c0, a0, flags, False)
    return Y[1:], Y[-1], c, a
