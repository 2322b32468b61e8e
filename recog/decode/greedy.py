"""Greedy (best-path) CTC decoding.

Take the most likely symbol at every frame, collapse runs of the same symbol and drop blanks.
Each emitted symbol carries the frames of its run and its peak posterior as a confidence.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .types import Hypothesis


def _to_numpy(x: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def _runs_to_hypothesis(ids: np.ndarray, vals: np.ndarray, blank: int) -> Hypothesis:
    """Build a hypothesis from per-frame argmax ``ids`` and their log-probs ``vals`` (both (T,))."""
    T = int(ids.shape[0])
    if T == 0:
        return Hypothesis(tokens=[], score=0.0)
    score = float(vals.sum())
    change = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change - 1, [T - 1]))
    syms = ids[starts]
    peak = np.maximum.reduceat(vals, starts)
    keep = syms != blank
    conf = np.clip(np.exp(peak[keep]), 0.0, 1.0)
    return Hypothesis(
        tokens=[int(s) for s in syms[keep]],
        score=score,
        start_frames=[int(s) for s in starts[keep]],
        end_frames=[int(e) for e in ends[keep]],
        confidences=[float(c) for c in conf],
    )


def greedy(logp: np.ndarray | torch.Tensor, blank: int = 0) -> Hypothesis:
    """Best-path decoding of one utterance.

    ``logp`` is a (T, V) matrix of log posteriors.  Returns a :class:`Hypothesis` whose score is
    the log probability of the best path (the sum of the per-frame maxima).
    """
    x = _to_numpy(logp)
    if x.ndim != 2:
        raise ValueError(f"expected a (T, V) matrix, got shape {x.shape}")
    if x.shape[0] == 0:
        return Hypothesis(tokens=[], score=0.0)
    ids = x.argmax(axis=1)
    vals = x[np.arange(x.shape[0]), ids]
    return _runs_to_hypothesis(ids, vals, blank)


def greedy_batch(
    logp: torch.Tensor | np.ndarray,
    lengths: torch.Tensor | Sequence[int] | np.ndarray | None = None,
    blank: int = 0,
) -> list[Hypothesis]:
    """Best-path decoding of a padded batch.

    ``logp`` is (B, T, V) log posteriors (batch first); ``lengths`` the valid frames per
    utterance (all T if None).  The argmax runs vectorised on the tensor's device; only the
    (B, T) indices and values are moved to the CPU.
    """
    if not isinstance(logp, torch.Tensor):
        logp = torch.as_tensor(np.asarray(logp))
    if logp.dim() != 3:
        raise ValueError(f"expected a (B, T, V) tensor, got shape {tuple(logp.shape)}")
    B, T, _ = logp.shape
    with torch.no_grad():
        vals, ids = logp.detach().max(dim=-1)
    vals = vals.to("cpu", torch.float64).numpy()
    ids = ids.to("cpu").numpy()
    if lengths is None:
        lens = np.full(B, T, dtype=np.int64)
    elif isinstance(lengths, torch.Tensor):
        lens = lengths.detach().to("cpu").numpy().astype(np.int64)
    else:
        lens = np.asarray(lengths, dtype=np.int64)
    if lens.shape != (B,):
        raise ValueError(f"lengths must have shape ({B},), got {lens.shape}")
    if (lens < 0).any() or (lens > T).any():
        raise ValueError(f"lengths must lie in [0, {T}]")
    return [_runs_to_hypothesis(ids[b, : lens[b]], vals[b, : lens[b]], blank) for b in range(B)]


class GreedyStream:
    """Best-path decoding of log-probs that arrive block by block: after any blocks,
    ``hypothesis()`` is ``greedy`` of all their frames (tokens, frames, confidences; the score up
    to float rounding).  A run of one symbol may span blocks: the open run (symbol, first frame,
    peak) is kept until a frame of another symbol closes it, so a symbol repeated across a block
    boundary without a blank between is one symbol, as in one pass."""

    def __init__(self, blank: int = 0):
        self.blank = blank
        self.frames = 0
        self.score = 0.0
        self.closed = Hypothesis(tokens=[], score=0.0)  # symbols of runs already ended
        self.run: tuple[int, int, int, float] | None = None  # open run: symbol, first, last frame, peak

    def push(self, logp: np.ndarray | torch.Tensor) -> None:
        x = _to_numpy(logp)
        if x.shape[0] == 0:
            return
        ids = x.argmax(axis=1)
        vals = x[np.arange(x.shape[0]), ids]
        self.score += float(vals.sum())
        change = np.flatnonzero(ids[1:] != ids[:-1]) + 1
        starts = np.concatenate(([0], change))
        ends = np.concatenate((change - 1, [x.shape[0] - 1]))
        for s, e, peak in zip(starts, ends, np.maximum.reduceat(vals, starts)):
            sym, first, last = int(ids[s]), self.frames + int(s), self.frames + int(e)
            if self.run is not None and self.run[0] == sym:  # the run goes on across the boundary
                first, peak = self.run[1], max(self.run[3], float(peak))
            else:
                self._close()
            self.run = (sym, first, last, float(peak))
        self.frames += x.shape[0]

    def _close(self) -> None:
        _add_run(self.closed, self.run, self.blank)
        self.run = None

    def hypothesis(self) -> Hypothesis:
        """The best path so far (the open run counts as a symbol)."""
        h = self.closed
        out = Hypothesis(list(h.tokens), self.score, list(h.start_frames), list(h.end_frames), list(h.confidences))
        _add_run(out, self.run, self.blank)
        return out


def _add_run(h: Hypothesis, run: tuple[int, int, int, float] | None, blank: int) -> None:
    """Append a run (symbol, first frame, last frame, peak log-prob) to ``h`` unless it is blank."""
    if run is not None and run[0] != blank:
        sym, first, last, peak = run
        h.tokens.append(sym)
        h.start_frames.append(first)
        h.end_frames.append(last)
        h.confidences.append(float(np.clip(np.exp(peak), 0.0, 1.0)))
