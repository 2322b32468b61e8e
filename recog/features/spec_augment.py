"""Training-time perturbations of speech: SpecAugment masks on features, and waveform
perturbations (speed, narrow band) for perturbed copies of a training set.

SpecAugment (Park et al. 2019) without time warping: ``F`` frequency masks, each of a random width
in [0, freq_width] mel bins starting at a random bin, and ``T`` time masks, each of a random width in
[0, min(time_width, time_ratio · frames)] frames.  Masked cells are set to 0, which after CMVN is the
mean.  With Δ/ΔΔ features the same bins are masked in every block, so a masked band is gone from the
statics and their derivatives alike.  Randomness comes from torch's global generator, which the
training checkpoint saves, so a resumed run draws the same masks.

Waveform perturbations (``perturb``), applied before feature extraction:

* ``speedF`` (e.g. ``speed0.9``): resampled by F, which changes tempo and pitch together, as Kaldi's
  and ESPnet's speed perturbation (sox ``speed``) does; the utterance lasts 1/F as long.
* ``narrowband``: down to 8 kHz and back up, so nothing above 4 kHz is left: telephone bandwidth,
  so that narrow-band input is not a foreign country to a wide-band model.
* ``vtlpA`` (e.g. ``vtlp0.9``): vocal tract length perturbation (Jaitly & Hinton 2013): the waveform
  as it is, the mel filterbank's frequencies warped by A (Kaldi's piecewise-linear VTLN warp, 100 Hz
  to 500 Hz below Nyquist), as if the speaker's vocal tract were 1/A as long: formants move, tempo
  and pitch do not (``speedF`` moves all three).
"""

from __future__ import annotations

import re

import numpy as np
import torch
import torchaudio

_SPEED = re.compile(r"^speed([0-9]*\.?[0-9]+)$")
_VTLP = re.compile(r"^vtlp([0-9]*\.?[0-9]+)$")


class SpecAugment:
    def __init__(self, freq_masks: int = 2, freq_width: int = 8, time_masks: int = 2, time_width: int = 40,
                 time_ratio: float = 0.2, block: int = 0):
        """``block``: the width of one block of static features (the mel bins + energy); 0 = the
        whole feature vector is one block."""
        self.freq_masks, self.freq_width = freq_masks, freq_width
        self.time_masks, self.time_width, self.time_ratio = time_masks, time_width, time_ratio
        self.block = block

    def __call__(self, f: np.ndarray) -> np.ndarray:
        f = np.array(f, dtype=np.float32, copy=True)
        frames, dims = f.shape
        block = self.block or dims
        for _ in range(self.freq_masks):
            w = int(torch.randint(0, self.freq_width + 1, ()))
            if w and w < block:
                b0 = int(torch.randint(0, block - w + 1, ()))
                for start in range(0, dims, block):
                    f[:, start + b0 : start + b0 + w] = 0.0
        limit = min(self.time_width, int(self.time_ratio * frames))
        for _ in range(self.time_masks):
            w = int(torch.randint(0, limit + 1, ())) if limit > 0 else 0
            if w:
                t0 = int(torch.randint(0, frames - w + 1, ()))
                f[t0 : t0 + w] = 0.0
        return f


def perturbation_names(spec: str) -> list[str]:
    """``"speed0.9,speed1.1,narrowband"`` -> the names, checked; ValueError for an unknown one."""
    names = [s.strip() for s in spec.split(",") if s.strip()]
    for n in names:
        m, v = _SPEED.match(n), _VTLP.match(n)
        if not (n == "narrowband" or (m and 0.5 <= float(m.group(1)) <= 2.0 and float(m.group(1)) != 1.0)
                or (v and 0.8 <= float(v.group(1)) <= 1.2 and float(v.group(1)) != 1.0)):
            raise ValueError(f"unknown perturbation {n!r}: speedF (0.5 <= F <= 2, F != 1), vtlpA (0.8 <= A <= 1.2, "
                             "A != 1) or narrowband")
    if len(set(names)) != len(names):
        raise ValueError(f"perturbations repeated in {spec!r}")
    return names


def perturb(wav: torch.Tensor, sample_rate: int, name: str) -> torch.Tensor:
    """The waveform under perturbation ``name`` (see the module docstring)."""
    m = _SPEED.match(name)
    if m:
        factor = float(m.group(1))
        # read as if recorded at F x the rate, then resampled to the rate: 1/F as long, pitch x F
        return torchaudio.functional.resample(wav, int(round(sample_rate * factor)), sample_rate)
    if name == "narrowband":
        narrow = torchaudio.functional.resample(wav, sample_rate, 8000)
        return torchaudio.functional.resample(narrow, 8000, sample_rate)[: wav.shape[-1]]
    if _VTLP.match(name):  # the filterbank is warped instead (vtlp_warp)
        return wav
    raise ValueError(f"unknown perturbation {name!r}")


def vtlp_warp(name: str) -> float:
    """The filterbank warp factor of perturbation ``name``: A for ``vtlpA``, else 1.0."""
    v = _VTLP.match(name)
    return float(v.group(1)) if v else 1.0
