"""What one encoder layer computes on one input: hidden states, and for LSTMs cell states and gates.

The fused ``nn.LSTM`` kernel returns only the hidden states (and the last cell state), so the cell
states and gates of every step are recomputed here from the layer's own weights and inputs with
the equations of :class:`recog.models.rnn.PeepholeLSTM` (without its peephole terms for
``nn.LSTM``; torch orders the gates i, f, g, o in both).  Each direction's cell is watched with a
forward hook while the whole model runs: its input, initial state and output, on every call (a
model that runs long inputs in chunks calls it once per chunk).  So the hidden states shown are
what the model computed, and the recomputed ones equal them (float32 rounding aside; tested).
"""

from __future__ import annotations

import torch
from torch import nn

from .rnn import PeepholeLSTM

GATES = ("i", "f", "g", "o")  # input, forget, candidate (cell input), output


def _lstm_params(cell: nn.Module):
    """(W_ih, W_hh, bias, peepholes or None) of a one-layer unidirectional LSTM."""
    if isinstance(cell, PeepholeLSTM):
        return cell.weight_ih, cell.weight_hh, cell.bias, (cell.peep_i, cell.peep_f, cell.peep_o)
    if isinstance(cell, nn.LSTM):
        if cell.num_layers != 1 or cell.bidirectional or cell.proj_size:
            raise ValueError("only one-layer, one-direction nn.LSTM cells without projections are recomputed")
        bias = cell.bias_ih_l0 + cell.bias_hh_l0 if cell.bias else torch.zeros(cell.weight_ih_l0.shape[0])
        return cell.weight_ih_l0, cell.weight_hh_l0, bias, None
    raise ValueError(f"{type(cell).__name__} has no LSTM gates to recompute")


@torch.no_grad()
def lstm_states(cell: nn.Module, x: torch.Tensor, state=None) -> dict[str, torch.Tensor]:
    """Run an LSTM cell (``nn.LSTM`` or ``PeepholeLSTM``) over ``x`` (T, D) one step at a time from
    ``state`` (``(h0, c0)`` as ``nn.LSTM`` takes it, batch of one; None: zeros); returns ``h``,
    ``c`` and the gates ``i``, ``f``, ``g``, ``o``, each (T, H)."""
    w_ih, w_hh, bias, peep = _lstm_params(cell)
    H = w_hh.shape[1]
    proj = x.float() @ w_ih.T + bias
    h, c = (state[0].reshape(H), state[1].reshape(H)) if state is not None else (x.new_zeros(H), x.new_zeros(H))
    out: dict[str, list[torch.Tensor]] = {k: [] for k in ("h", "c") + GATES}
    for t in range(x.shape[0]):
        zi, zf, zg, zo = (proj[t] + w_hh @ h).split(H)
        if peep is not None:
            zi, zf = zi + peep[0] * c, zf + peep[1] * c
        i, f, g = torch.sigmoid(zi), torch.sigmoid(zf), torch.tanh(zg)
        c = f * c + i * g
        o = torch.sigmoid(zo + peep[2] * c if peep is not None else zo)
        h = o * torch.tanh(c)
        for k, v in zip(("h", "c") + GATES, (h, c, i, f, g, o)):
            out[k].append(v)
    return {k: torch.stack(v) if v else x.new_zeros(0, H) for k, v in out.items()}


def is_lstm(cell: nn.Module) -> bool:
    return isinstance(cell, (nn.LSTM, PeepholeLSTM))


def _direction(cell: nn.Module, calls: list, backward: bool) -> dict[str, torch.Tensor]:
    """One direction's states in time order from its recorded calls (several where the model runs
    long inputs in chunks); a backward cell saw each of its inputs reversed."""
    parts = []
    for x, state, h in calls:
        st = {"h": h}
        if is_lstm(cell):
            st.update({k if k != "h" else "h_recomputed": v for k, v in lstm_states(cell, x, state).items()})
        parts.append({k: v.flip(0) for k, v in st.items()} if backward else st)
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


@torch.no_grad()
def layer_states(model: nn.Module, feats: torch.Tensor, layer: int) -> dict[str, torch.Tensor]:
    """States of encoder layer ``layer`` (0-based) of a ``CTCModel`` on one input's features (T, D).

    Forward hooks on the layer's cells record what each was given and returned while the whole
    model runs.  Returns ``h`` (T', units): the layer's output as the model computed it, forward
    units first then backward ones; for LSTM cells also ``c`` and the gates ``i``, ``f``, ``g``,
    ``o`` in the same layout, and ``h_recomputed`` (equal to ``h``: the check that the gates
    shown are the model's), all recomputed from the recorded inputs and initial states."""
    if getattr(model, "lc_chunk", 0):
        raise ValueError("a latency-controlled BLSTM (model.chunk) runs its cells over overlapping windows: its "
                         "states over time are not one sequence to show")
    layers = model.encoder.layers
    if not 0 <= layer < len(layers):
        raise ValueError(f"--layer {layer}: the model has {len(layers)} encoder layers (0-{len(layers) - 1})")
    cells = [c for c in (layers[layer].fwd, layers[layer].bwd) if c is not None]
    calls: list[list] = [[] for _ in cells]

    def recorder(seen: list):
        def hook(module, args, output):
            seen.append((args[0][0], args[1] if len(args) > 1 else None, output[0][0]))
        return hook

    handles = [c.register_forward_hook(recorder(seen)) for c, seen in zip(cells, calls)]
    try:
        model(feats.unsqueeze(0), torch.tensor([feats.shape[0]]))
    finally:
        for h in handles:
            h.remove()
    if not calls[0]:
        raise ValueError(f"encoder layer {layer} did not run: the input is too short for the model")
    parts = [_direction(c, seen, backward=k == 1) for k, (c, seen) in enumerate(zip(cells, calls))]
    return {k: torch.cat([p[k] for p in parts], dim=-1).float() for k in parts[0]}
