"""Mean/variance normalisation of features (``features.cmvn``).

* ``global``: one mean and standard deviation per dimension, accumulated over the training
  features (``CMVN``, stored in the model).  Carries the training speakers' and channels' average
  into every input: a new voice or microphone stays shifted.
* ``utterance``: every input normalised by its own statistics (``UtteranceCMVN``), so a constant
  channel or vocal-tract offset in the log spectrum is removed, x' = (x - mean_t x) / std_t x.
* ``none``.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import torch


class CMVN:
    def __init__(self, mean: np.ndarray, std: np.ndarray):
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.maximum(np.asarray(std, dtype=np.float32), 1e-5)

    @classmethod
    def identity(cls, dim: int) -> "CMVN":
        return cls(np.zeros(dim), np.ones(dim))

    @classmethod
    def estimate(cls, feats: Iterable[np.ndarray]) -> "CMVN":
        n, s, ss = 0, None, None
        for f in feats:
            f64 = f.astype(np.float64)
            if s is None:
                s, ss = f64.sum(0), (f64**2).sum(0)
            else:
                s += f64.sum(0)
                ss += (f64**2).sum(0)
            n += f.shape[0]
        if not n:
            raise ValueError("no frames to estimate CMVN statistics from")
        mean = s / n
        var = np.maximum(ss / n - mean**2, 0.0)
        return cls(mean, np.sqrt(var))

    def __call__(self, f: np.ndarray) -> np.ndarray:
        return (f - self.mean) / self.std

    def state(self) -> dict:
        return {"mean": torch.from_numpy(self.mean.copy()), "std": torch.from_numpy(self.std.copy())}

    @classmethod
    def from_state(cls, d: dict) -> "CMVN":
        return cls(np.asarray(d["mean"]), np.asarray(d["std"]))


class UtteranceCMVN:
    """Per-utterance mean and variance normalisation: needs no statistics, so ``state()`` is None."""

    def __call__(self, f: np.ndarray) -> np.ndarray:
        f = f.astype(np.float32, copy=False)
        mean = f.mean(0)
        std = np.sqrt(np.maximum((f.astype(np.float64) ** 2).mean(0) - mean.astype(np.float64) ** 2, 0))
        return (f - mean) / np.maximum(std, 1e-5).astype(np.float32)

    def state(self) -> None:
        return None


def normaliser(mode: str, stats: dict | None):
    """The normaliser a model uses: per-utterance, its global statistics (whenever it has
    them), or none."""
    if mode == "utterance":
        return UtteranceCMVN()
    if stats is not None:
        return CMVN.from_state(stats)
    return None
