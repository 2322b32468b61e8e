"""Decoder output types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass
class Hypothesis:
    """One decoded label sequence with per-symbol timing.

    ``tokens``: symbol indices (no blanks, repeats already collapsed);
    ``score``: log probability (best-path log prob for greedy decoding, total prefix
    probability ``log(p_blank + p_nonblank)`` for beam search, plus the weighted LM score and
    insertion bonus when an LM is fused);
    ``start_frames`` / ``end_frames``: first and last frame of each emitted symbol (inclusive);
    ``confidences``: per symbol, the maximum posterior probability over its frames, in [0, 1];
    ``am_score``: the acoustic part of ``score`` (defaults to ``score``);
    ``lm_score``: the language-model log probability (natural log, including ``</s>``) when the
    beam search fused an LM, else 0.  With LM weight ``alpha`` and insertion bonus ``beta``,
    ``score == am_score + alpha * lm_score + beta * units`` (units: symbols or words, see
    :func:`recog.decode.beam.prefix_beam_search`).
    """

    tokens: list[int]
    score: float
    start_frames: list[int] = field(default_factory=list)
    end_frames: list[int] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    am_score: Optional[float] = None
    lm_score: float = 0.0

    def __post_init__(self) -> None:
        if self.am_score is None:
            self.am_score = self.score

    def __len__(self) -> int:
        return len(self.tokens)
