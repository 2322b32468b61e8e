"""Audio features computed as the samples arrive, equal to the whole signal's features.

``AudioFeatureStream.push(samples)`` returns the feature frames that no later sample can change;
``push(samples, final=True)`` ends the signal and returns the rest.  The frames are those of
``waveform_features`` on the whole signal (to float rounding), because:

* framing (Kaldi, ``snip_edges``): frame t covers samples [t·S, t·S + N) (S: shift, N: length,
  in samples) and is computed from them alone.  Frame t is ready once sample t·S + N − 1 has
  arrived; the samples before the next frame's first one are dropped.
* deltas (window 5): Δ_t = Σ_{n=1,2} n·(c_{t+n} − c_{t−n}) / 10, with the first and last frame
  repeated past the ends; ΔΔ the same over Δ.  Each order reads 2 frames ahead, so with ``d``
  orders frame t is ready once frame t + 2d has arrived (40 ms for Δ+ΔΔ at a 10 ms shift); the
  repeated last frame applies at the real end only, with ``final``.  Deltas are recomputed over
  a window that starts 2d frames before the first frame wanted, whose left edge is then never read.
* resampling (``StreamResampler``, when the samples come at another rate than the model's):
  torchaudio's windowed-sinc resampler with o input and n output samples per block (the rates
  divided by their gcd) computes output block j from input samples [j·o − w, (j+1)·o + w) with
  zeros past both ends.  Block j is ready once sample (j+1)·o + w − 1 has arrived; each call
  resamples a segment that starts a whole number of blocks (at least w samples) before it.

Dither (``features.audio.dither`` > 0) adds random noise to every frame, so a stream and the
whole file then differ by the noise: they agree only without dither.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torchaudio

from ..config import AudioFeatures
from .audio import add_deltas, frame_features


class StreamResampler:
    """Resample a signal that arrives in pieces; the outputs are those of resampling it whole."""

    def __init__(self, orig: int, new: int, lowpass_filter_width: int = 6, rolloff: float = 0.99):
        g = math.gcd(orig, new)
        self.orig_rate, self.new_rate = orig, new
        self.o, self.n = orig // g, new // g
        # torchaudio's filter half-width in input samples (``_get_sinc_resample_kernel``)
        self.w = math.ceil(lowpass_filter_width * self.o / (min(self.o, self.n) * rolloff))
        self.m = -(-self.w // self.o)  # whole blocks of left context that cover w samples
        self.buf = torch.zeros(0)
        self.start = 0                 # absolute index of buf[0]: a multiple of o
        self.block = 0                 # next output block
        self.seen = 0                  # input samples so far

    def push(self, x: torch.Tensor, final: bool = False) -> torch.Tensor:
        if self.o == self.n:
            return x
        self.buf = torch.cat([self.buf, x.float()])
        self.seen += x.numel()
        end = self.seen
        if final:
            last = -(-self.n * end // self.o)  # output samples in all: ceil(n·L / o)
            count = last - self.block * self.n
        else:
            ready = (end - self.w) // self.o   # blocks whose support has arrived
            count = max(0, ready - self.block) * self.n
        if count <= 0 or self.buf.numel() == 0:
            return torch.zeros(0)
        y = torchaudio.functional.resample(self.buf, self.orig_rate, self.new_rate)
        first = (self.block - self.start // self.o) * self.n
        out = y[first : first + count]
        self.block += count // self.n
        keep = max(0, (self.block - self.m) * self.o)
        self.buf, self.start = self.buf[keep - self.start :], keep
        return out


class AudioFeatureStream:
    """Samples at ``cfg.sample_rate`` in, the feature frames ready so far out (see the module)."""

    def __init__(self, cfg: AudioFeatures):
        self.cfg = cfg
        # torchaudio's own rounding of frame shift and length to samples
        self.shift = int(cfg.sample_rate * cfg.frame_shift_ms * 0.001)
        self.length = int(cfg.sample_rate * cfg.frame_length_ms * 0.001)
        self.samples = torch.zeros(0)  # from the next frame's first sample on
        self.base = torch.zeros(0, 0)  # frames without deltas, from frame ``base_start`` on
        self.base_start = 0
        self.frames = 0                # base frames computed so far
        self.done = 0                  # full frames (with deltas) returned so far

    @property
    def lookahead(self) -> int:
        """Base frames after a frame that its deltas read (2 per order)."""
        return 2 * self.cfg.deltas

    def push(self, samples: torch.Tensor, final: bool = False) -> np.ndarray:
        self._frame(samples.float())
        ready = self.frames if final else max(0, self.frames - self.lookahead)
        if ready <= self.done:
            return np.zeros((0, self._dim()), np.float32)
        w0 = max(0, self.done - self.lookahead)
        window = self.base[w0 - self.base_start : self.frames - self.base_start]
        out = add_deltas(window, self.cfg.deltas)[self.done - w0 : ready - w0]
        self.done = ready
        keep = max(0, ready - self.lookahead)
        self.base, self.base_start = self.base[keep - self.base_start :], keep
        return out.numpy().astype(np.float32)

    def _frame(self, samples: torch.Tensor) -> None:
        """Add the base frames whose samples have all arrived."""
        self.samples = torch.cat([self.samples, samples])
        n = 1 + (self.samples.numel() - self.length) // self.shift if self.samples.numel() >= self.length else 0
        if not n:
            return
        used = (n - 1) * self.shift + self.length
        f = frame_features((self.samples[:used] * 32768.0).unsqueeze(0), self.cfg)
        self.base = f if self.base.numel() == 0 else torch.cat([self.base, f])
        self.frames += n
        self.samples = self.samples[n * self.shift :]

    def _dim(self) -> int:
        from . import feature_dim
        from ..config import FeatureConfig

        return feature_dim(FeatureConfig(modality="audio", audio=self.cfg))
