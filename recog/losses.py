"""The training loss of each output type (``model.output``), one small function each.

Every function returns the loss *summed over the batch's utterances* (the training loop divides by
the global batch size, which keeps N processes with batch B on the trajectory of one with N·B) and
the number of utterances whose loss was not finite (zeroed, never propagated).  Per utterance:

* ctc: −log p(transcript | x), summed over the alignments (torch's ``ctc_loss``).
* label: cross-entropy −log p(c | x).
* frame: mean cross-entropy over the utterance's valid frames, (1/L) Σ_{t<L} −log p(c_t | x).
* regression: mean squared error over the target's values (and valid frames),
  (1/(L·D)) Σ_t Σ_d (y_td − ŷ_td)².

Model outputs and targets come with each sequence's valid frames first (see recog.data.pad_targets).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from .data import Batch
from .models.heads import valid_mask


def _finite(per_utt: torch.Tensor) -> tuple[torch.Tensor, int]:
    bad = ~torch.isfinite(per_utt)
    return torch.where(bad, torch.zeros_like(per_utt), per_utt).sum(), int(bad.sum())


def ctc_loss(logp: torch.Tensor, out_lens: torch.Tensor, labels: torch.Tensor, label_lens: torch.Tensor):
    """Summed CTC loss over the batch and the number of utterances whose loss was not finite
    (those are zeroed, never propagated)."""
    per_utt = F.ctc_loss(
        logp.transpose(0, 1).float(), labels, out_lens, label_lens, blank=0, reduction="none", zero_infinity=True
    )
    bad = int((per_utt == 0).logical_and(label_lens > 0).sum())
    return per_utt.sum(), bad


def _ctc(out: torch.Tensor, out_lens: torch.Tensor, b: Batch, device) -> tuple[torch.Tensor, int]:
    return ctc_loss(out, out_lens, b.labels.to(device), b.label_lengths.to(device))


def label_loss(logp: torch.Tensor, out_lens: torch.Tensor, b: Batch, device) -> tuple[torch.Tensor, int]:
    """logp (B, C), targets (B,)."""
    return _finite(F.nll_loss(logp.float(), b.targets.to(device), reduction="none"))


def frame_loss(logp: torch.Tensor, out_lens: torch.Tensor, b: Batch, device) -> tuple[torch.Tensor, int]:
    """logp (B, T, C), targets (B, T) with -100 past each end."""
    tgt = b.targets.to(device)
    nll = F.nll_loss(logp.float().transpose(1, 2), tgt, reduction="none", ignore_index=-100)  # (B, T)
    return _finite(nll.sum(1) / (tgt != -100).sum(1).clamp(min=1))


def regression_loss(y: torch.Tensor, out_lens: torch.Tensor, b: Batch, device) -> tuple[torch.Tensor, int]:
    """y and targets (B, D) per sequence, or (B, T, D) per frame (masked by the lengths)."""
    err = (y.float() - b.targets.to(device)) ** 2
    if err.dim() == 2:
        return _finite(err.mean(1))
    keep = valid_mask(out_lens, err.shape[1], err.device).unsqueeze(-1)
    total = torch.where(keep, err, 0.0).sum((1, 2))
    return _finite(total / (out_lens.to(err.device).clamp(min=1) * err.shape[2]))


LOSSES: dict[str, Callable] = {"ctc": _ctc, "label": label_loss, "frame": frame_loss, "regression": regression_loss}


def loss_function(output: str) -> Callable[[torch.Tensor, torch.Tensor, Batch, torch.device], tuple[torch.Tensor, int]]:
    """``loss(outputs, output_lengths, batch, device)`` -> (summed loss, non-finite count)."""
    return LOSSES[output]
