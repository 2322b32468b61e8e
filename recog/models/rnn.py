"""Stacked (bi)directional recurrent encoders over padded batches.

Batches stay padded (``pack_padded_sequence`` leaves the fast oneDNN path and trains about five
times slower on the CPU), yet every utterance's output is exactly what it would be on its own: the
forward direction is causal, so padding after the end cannot reach valid frames, and the backward
direction runs forward over each sequence *reversed within its own length* and is reversed back.

Left-padded batches (padding before each sequence) are run the same way: each direction's cell
sees the sequence's valid frames first, in its order, and the padding after them, so a batch
padded on either side gives the same valid-frame outputs (``valid_first`` / ``restore``).

Long sequences can be run in chunks of N frames (``encoder(x, lengths, chunk=N)``, MATLAB's
``SequenceLength``): a unidirectional encoder carries every layer's state from one chunk to the
next, detached, so its outputs are those of the unsplit run while gradients stop at chunk
boundaries (truncated backpropagation through time); a bidirectional one runs every chunk on its
own, as a backward direction has no state to carry forward.

Cells: ``lstm``, ``gru``, ``rnn`` (tanh) use torch's fused kernels; ``peephole_lstm`` (Gers &
Schmidhuber 2000: the gates also see the cell state through diagonal weights) and the variants of
Greff et al. 2016 (``lstm_nig``, ``lstm_nfg``, ``lstm_nog``, ``lstm_niaf``, ``lstm_noaf``, ``lstm_np``,
``lstm_cifg``, ``lstm_fgr``) are :mod:`.lstm_variants`, their time loop with a hand-written backward
:mod:`.lstm_kernel`.
"""

from __future__ import annotations

import torch
from torch import nn

from .lstm_variants import VARIANTS, PeepholeLSTM, VariantLSTM  # noqa: F401  (PeepholeLSTM: its old home)


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence of a (B, T, D) batch within its own length; padding stays in place."""
    B, T = x.shape[:2]
    t = torch.arange(T, device=x.device).unsqueeze(0).expand(B, T)
    L = lengths.to(x.device).unsqueeze(1)
    idx = torch.where(t < L, L - 1 - t, t)
    return x.gather(1, idx.unsqueeze(-1).expand_as(x))


def shift(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Rotate each sequence of a (B, T, D) batch: ``out[b, t] = x[b, (t + k_b) mod T]``."""
    T = x.shape[1]
    t = torch.arange(T, device=x.device).unsqueeze(0)
    idx = (t + k.to(x.device).unsqueeze(1)) % T
    return x.gather(1, idx.unsqueeze(-1).expand_as(x))


def align(x: torch.Tensor, lengths: torch.Tensor, to: str) -> torch.Tensor:
    """Move each sequence's valid frames to the start (``to="right"``: padding on the right) or to
    the end (``to="left"``) of a (B, T, D) batch padded on the other side."""
    L = lengths.to(x.device)
    return shift(x, x.shape[1] - L) if to == "right" else shift(x, L)


def valid_first(x: torch.Tensor, lengths: torch.Tensor, padding: str, reverse: bool = False) -> torch.Tensor:
    """Each sequence's valid frames first (reversed with ``reverse``), its padding after them, for a
    batch padded on the ``padding`` side.  With length L in T frames, output frame t is input frame

        right:           t                           right, reversed:  L−1−t  (t < L), else t
        left:            (t + T − L) mod T           left, reversed:   T−1−t
    """
    if padding == "right":
        return reverse_padded(x, lengths) if reverse else x
    return x.flip(1) if reverse else align(x, lengths, "right")


def restore(y: torch.Tensor, lengths: torch.Tensor, padding: str, reverse: bool = False) -> torch.Tensor:
    """The inverse of :func:`valid_first`: outputs back in the input's layout."""
    if padding == "right":
        return reverse_padded(y, lengths) if reverse else y
    return y.flip(1) if reverse else align(y, lengths, "left")


def detach_state(state):
    """A recurrent state (a tensor, or an LSTM's (h, c)) cut from the graph."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def make_cell(cell: str, input_size: int, hidden: int) -> nn.Module:
    if cell == "lstm":
        return nn.LSTM(input_size, hidden, batch_first=True)
    if cell == "gru":
        return nn.GRU(input_size, hidden, batch_first=True)
    if cell == "rnn":
        return nn.RNN(input_size, hidden, batch_first=True, nonlinearity="tanh")
    if cell == "peephole_lstm":
        return PeepholeLSTM(input_size, hidden)
    if cell in VARIANTS:
        return VariantLSTM(input_size, hidden, cell)
    raise ValueError(f"unknown recurrent cell {cell!r}")


class BiRNNLayer(nn.Module):
    def __init__(self, cell: str, input_size: int, hidden: int, bidirectional: bool = True):
        super().__init__()
        self.fwd = make_cell(cell, input_size, hidden)
        self.bwd = make_cell(cell, input_size, hidden) if bidirectional else None

    def run(self, x: torch.Tensor, lengths: torch.Tensor, padding: str = "right", state=None):
        """Outputs (B, T, dirs·H) in ``x``'s layout, and the forward direction's state after the
        last frame (the state at each sequence's end where the batch is right-padded and the
        sequence fills it).  ``state``: the forward direction's initial state (None: zeros)."""
        out, last = self.fwd(valid_first(x, lengths, padding), state)
        out = restore(out, lengths, padding)
        if self.bwd is None:
            return out, last
        rev, _ = self.bwd(valid_first(x, lengths, padding, reverse=True))
        return torch.cat([out, restore(rev, lengths, padding, reverse=True)], dim=-1), last

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, padding: str = "right") -> torch.Tensor:
        return self.run(x, lengths, padding)[0]


class RecurrentEncoder(nn.Module):
    def __init__(self, cell: str, input_size: int, hidden: int, layers: int, bidirectional: bool, dropout: float):
        super().__init__()
        dirs = 2 if bidirectional else 1
        self.layers = nn.ModuleList(
            BiRNNLayer(cell, input_size if i == 0 else hidden * dirs, hidden, bidirectional) for i in range(layers)
        )
        self.dropout = nn.Dropout(dropout)
        self.output_size = hidden * dirs
        self.bidirectional = bidirectional

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, padding: str = "right", chunk: int = 0) -> torch.Tensor:
        """(B, T, D) padded on the ``padding`` side -> (B, T, output_size) in the same layout; with
        ``chunk`` > 0 and longer batches, run in chunks of that many frames (:meth:`chunked`)."""
        if chunk and x.shape[1] > chunk:
            return self.chunked(x, lengths, padding, chunk)
        for i, layer in enumerate(self.layers):
            if i > 0:
                x = self.dropout(x)
            x = layer(x, lengths, padding)
        return x

    def chunked(self, x: torch.Tensor, lengths: torch.Tensor, padding: str, n: int) -> torch.Tensor:
        """Cut every sequence into chunks of ``n`` frames from its first frame (its last chunk
        shorter) and run the chunks through all layers in turn.  Unidirectional: every layer's
        state goes on to the next chunk, detached.  Within a right-aligned batch only a sequence's
        last chunk is short, so the state carried is always the one at a chunk's true end."""
        if padding == "left":
            x = align(x, lengths, "right")
        states: list = [None] * len(self.layers)
        outs = []
        for start in range(0, x.shape[1], n):
            piece, piece_lengths = x[:, start : start + n], (lengths - start).clamp(0, n)
            for i, layer in enumerate(self.layers):
                if i > 0:
                    piece = self.dropout(piece)
                piece, last = layer.run(piece, piece_lengths, "right", states[i])
                states[i] = None if self.bidirectional else detach_state(last)
            outs.append(piece)
        y = torch.cat(outs, dim=1)
        return align(y, lengths, "left") if padding == "left" else y
