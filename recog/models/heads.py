"""What the model outputs on top of the encoder (``model.output``):

* ``ctc``: per-frame log-probabilities over the symbols, blank included (B, T, V).
* ``frame``: per-frame log-probabilities over the classes (B, T, C); index 0 (the symbol table's
  blank) is never a class: its logit is -inf, so the rest form the distribution.
* ``label``: one distribution per sequence (B, C), from the pooled encoder output.
* ``regression``: real values, per sequence (B, D, pooled) or per frame (B, T, D).

Pooling turns a padded (B, T, H) batch of encoder outputs into one vector per sequence, reading
valid frames only (the batch has each sequence's valid frames first):

* ``last`` (MATLAB's ``OutputMode="last"``): the forward direction's last valid step, which has
  seen the whole sequence, with the backward direction's first step, which has too;
  for a unidirectional encoder the last valid step alone.
      pooled_b = [h→_b(L_b − 1) ; h←_b(0)]
* ``mean``: the average of the valid steps, pooled_b = (1/L_b) Σ_{t<L_b} h_b(t).

All outputs are float32 (log-softmax and losses sum many small terms), as under bf16 autocast.
"""

from __future__ import annotations

import torch
from torch import nn

def per_frame(output: str, regression: str = "sequence") -> bool:
    """Whether a model with ``model.output`` (and ``model.regression``) gives one output per frame."""
    return output in ("ctc", "frame") or (output == "regression" and regression == "frame")


def valid_mask(lengths: torch.Tensor, T: int, device=None) -> torch.Tensor:
    """(B, T) booleans: frame t of sequence b is valid (t < L_b)."""
    return torch.arange(T, device=device).unsqueeze(0) < lengths.to(device).unsqueeze(1)


def pool_last(h: torch.Tensor, lengths: torch.Tensor, split: int | None = None) -> torch.Tensor:
    """[forward at L−1 ; backward at 0] per sequence; ``split``: the forward direction's width
    (None: unidirectional, the whole vector at L−1)."""
    rows = torch.arange(h.shape[0], device=h.device)
    last = h[rows, (lengths.to(h.device) - 1).clamp(min=0)]
    if split is None:
        return last
    return torch.cat([last[:, :split], h[:, 0, split:]], dim=-1)


def pool_mean(h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean over each sequence's valid frames (padding never enters, whatever it holds)."""
    keep = valid_mask(lengths, h.shape[1], h.device).unsqueeze(-1)
    total = torch.where(keep, h, 0.0).sum(1)
    return total / lengths.to(h.device).clamp(min=1).unsqueeze(1).to(h.dtype)


def pool(h: torch.Tensor, lengths: torch.Tensor, mode: str, split: int | None = None) -> torch.Tensor:
    if mode == "last":
        return pool_last(h, lengths, split)
    if mode == "mean":
        return pool_mean(h, lengths)
    raise ValueError(f"unknown pooling {mode!r}")


def check_frame_rate(frontend: nn.Module, what: str) -> None:
    """Per-frame targets need one output per input frame: refuse a front end that changes the
    number of frames (stacking, subsampling, pooling along time) rather than guess how targets
    would follow it."""
    n = torch.arange(1, 200)
    got = frontend.output_lengths(n)
    if not torch.equal(got, n):
        raise ValueError(
            f"{what} needs one output per input frame, but the front end turns 100 frames into {int(got[99])}: "
            "use model.frontend=none, stack with model.stack=1 and model.subsample=1, or a cnn whose "
            "model.cnn_pool widths (second numbers) are all 1")


class Head(nn.Module):
    """Applies the output layer (the model's ``output`` Linear, kept there so that parameter names
    never depend on the output type) for ``model.output``; no parameters of its own."""

    def __init__(self, output: str, pooling: str = "last", regression: str = "sequence", split: int | None = None):
        super().__init__()
        self.kind, self.pooling, self.split = output, pooling, split
        self.frames = per_frame(output, regression)

    def forward(self, linear: nn.Linear, dropout: nn.Module, h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if not self.frames:
            h = pool(h, lengths, self.pooling, self.split)
        z = linear(dropout(h)).float()
        if self.kind == "regression":
            return z
        if self.kind != "ctc":  # index 0 is the table's blank: never a class
            z = z.masked_fill(torch.arange(z.shape[-1], device=z.device) == 0, float("-inf"))
        return torch.log_softmax(z, dim=-1)
