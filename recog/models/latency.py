"""Latency-controlled bidirectional encoders (LC-BLSTM: Chen & Huo 2016; Zhang et al. 2016).

A bidirectional encoder must see a sequence's end before its first output: its backward direction
starts there.  In LC mode (``model.chunk: Nc``, ``model.right_context: Nr``, frames after the
front end) the sequence is cut into chunks of Nc frames, and chunk k is computed from the
*window* of frames [k·Nc, k·Nc + Nc + Nr): the chunk and the Nr frames after it.  In every layer

* the forward direction runs over the chunk from its state at the end of chunk k − 1 (zeros
  for k = 0), and that state, at the end of chunk k, goes on to chunk k + 1; from the same
  state it also runs over the window's Nr context frames, whose states are dropped;
* the backward direction runs over the whole window from zeros at its last frame, so what it
  read in the right context is dropped when the window is done.

A layer's output on the window (chunk and context, both directions) is the next layer's input on
that window: the context frames go through every layer, so that the top layer's backward
direction at the chunk's last frame has read Nr frames beyond it in every layer.  The outputs
of the chunk's frames are kept; those of the context frames are dropped (chunk k + 1 computes
them again, with its own context).

An output frame is therefore known Nr frames after the end of its chunk: a latency of at most
Nc + Nr frames instead of the whole sequence.  Training runs the same computation on whole
utterances (``lc_encode``: the chunks' forward passes one after the other, the context passes
and the backward passes of all windows as one batch), so training and streaming
(``lc_stack`` on one window at a time, ``recog.models.streaming``) compute the same function.
With Nc at least a sequence's length the one window is the whole sequence: the ordinary BLSTM.
Gradients flow through the forward state from chunk to chunk (nothing is detached).
"""

from __future__ import annotations

import torch

from .rnn import BiRNNLayer, align, reverse_padded


def windows(x: torch.Tensor, lengths: torch.Tensor, nc: int, nr: int
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A right-padded (B, T, D) batch cut into windows (B, K, Nc + Nr, D), K = ⌈T / Nc⌉, with each
    window's valid chunk frames (B, K) and valid context frames (B, K)."""
    B, T, D = x.shape
    K = -(-T // nc)
    x = torch.nn.functional.pad(x, (0, 0, 0, K * nc + nr - T))
    w = x.unfold(1, nc + nr, nc).permute(0, 1, 3, 2)  # (B, K, Nc + Nr, D)
    start = torch.arange(K, device=x.device).unsqueeze(0) * nc
    L = lengths.to(x.device).unsqueeze(1)
    return w, (L - start).clamp(0, nc), (L - start - nc).clamp(0, nr)


def _stack_states(states: list, B: int):
    """K states of (1, B, H) (or LSTM (h, c) pairs) -> one of (1, B·K, H), window b·K + k."""
    if isinstance(states[0], tuple):
        return tuple(_stack_states([s[i] for s in states], B) for i in range(len(states[0])))
    s = torch.stack(states, dim=2)  # (1, B, K, H)
    return s.reshape(1, B * s.shape[2], s.shape[3])


def lc_layer(layer: BiRNNLayer, w: torch.Tensor, keep: torch.Tensor, ctx: torch.Tensor, nc: int, state=None):
    """One layer over windows (B, K, Nc + Nr, D): outputs (B, K, Nc + Nr, 2H) and the forward
    state at the end of the last chunk.  ``state``: the forward state before the first chunk."""
    B, K, W, D = w.shape
    outs, ends = [], []
    for k in range(K):  # h→ carries on from chunk to chunk
        out, state = layer.fwd(w[:, k, :nc], state)
        outs.append(out)
        ends.append(state)
    fwd = torch.stack(outs, dim=1)
    if W > nc:  # the context frames, from each chunk's end state: (B·K) windows in one call
        out, _ = layer.fwd(w[:, :, nc:].reshape(B * K, W - nc, D), _stack_states(ends, B))
        fwd = torch.cat([fwd, out.view(B, K, W - nc, -1)], dim=2)
    n = (keep + ctx).reshape(B * K)
    rev, _ = layer.bwd(reverse_padded(w.reshape(B * K, W, D), n))  # h← from zeros at each window's end
    bwd = reverse_padded(rev, n).view(B, K, W, -1)
    return torch.cat([fwd, bwd], dim=-1), state


def lc_stack(encoder, w: torch.Tensor, keep: torch.Tensor, ctx: torch.Tensor, nc: int, states: list
             ) -> tuple[torch.Tensor, list]:
    """All layers of ``encoder`` (a bidirectional ``RecurrentEncoder``) over windows; ``states``:
    each layer's forward state before the first chunk (None: zeros).  Returns the top layer's
    windows and each layer's forward state after the last chunk."""
    states = list(states)
    for i, layer in enumerate(encoder.layers):
        if i > 0:
            w = encoder.dropout(w)
        w, states[i] = lc_layer(layer, w, keep, ctx, nc, states[i])
    return w, states


def lc_encode(encoder, x: torch.Tensor, lengths: torch.Tensor, padding: str, nc: int, nr: int) -> torch.Tensor:
    """The encoder in LC mode over a padded (B, T, D) batch -> (B, T, 2H) in the same layout."""
    if padding == "left":
        x = align(x, lengths, "right")
    B, T, _ = x.shape
    w, keep, ctx = windows(x, lengths, nc, nr)
    top, _ = lc_stack(encoder, w, keep, ctx, nc, [None] * len(encoder.layers))
    y = top[:, :, :nc].reshape(B, -1, top.shape[-1])[:, :T]
    return align(y, lengths, "left") if padding == "left" else y
