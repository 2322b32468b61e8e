"""Decoder output types."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Hypothesis:
    """One decoded label sequence with per-symbol timing.

    ``tokens``: symbol indices (no blanks, repeats already collapsed);
    ``score``: log probability (best-path log prob for greedy decoding, total prefix
    probability ``log(p_blank + p_nonblank)`` for beam search);
    ``start_frames`` / ``end_frames``: first and last frame of each emitted symbol (inclusive);
    ``confidences``: per symbol, the maximum posterior probability over its frames, in [0, 1].
    """

    tokens: list[int]
    score: float
    start_frames: list[int] = field(default_factory=list)
    end_frames: list[int] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tokens)
