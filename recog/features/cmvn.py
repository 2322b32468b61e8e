"""Mean/variance normalisation of features (``features.cmvn``).

* ``global``: one mean and standard deviation per dimension, accumulated over the training
  features (``CMVN``, stored in the model).  Carries the training speakers' and channels' average
  into every input: a new voice or microphone stays shifted.
* ``utterance``: every input normalised by its own statistics (``UtteranceCMVN``), so a constant
  channel or vocal-tract offset in the log spectrum is removed, x' = (x - mean_t x) / std_t x.
* ``speaker``: every speaker's frames normalised by that speaker's statistics over the data set at
  hand (``SpeakerCMVN``; Kaldi's ``apply-cmvn --utt2spk``): the vocal tract and channel offset of
  a speaker estimated from all of that speaker's speech rather than one utterance.  A model keeps
  no statistics: training computes them for its train and valid speakers, ``recog decode`` for a
  manifest's speakers; an input without a known speaker (a file given to ``recog transcribe``)
  is normalised on its own, as with ``utterance``.
* ``none``.

* ``running``: frame t normalised by the mean and variance of frames 0..t (``RunningCMVN``),
  what a stream can compute: train with it and streaming is exact.  With ``features.cmvn_prior: N``
  the training set's global statistics count as N frames seen before the first (online CMVN with a
  prior, as Kaldi's ``OnlineCmvn`` starts from global statistics): the first frames of an input are
  normalised by something close to the average voice rather than by themselves alone.

Streams (``recog.stream``) cannot wait for an utterance's end, so a ``utterance`` model streams
with ``running`` statistics: the same however the frames are cut into chunks, equal to
``utterance`` at the last frame only (early frames differ the most), so it reads a stream less
well than whole inputs.  ``global`` and ``none`` work frame by frame and stream exactly.
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


class SpeakerCMVN:
    """Per-speaker CMVN (``features.cmvn: speaker``): ``fit`` estimates one ``CMVN`` per speaker from
    the records' cached features; ``__call__(f, speaker)`` applies it, or per-utterance CMVN for a
    speaker it was not fitted on (or None)."""

    def __init__(self):
        self.stats: dict[str, CMVN] = {}
        self._utt = UtteranceCMVN()

    def fit(self, utts, load) -> "SpeakerCMVN":
        """``utts``: records (``speaker``, ``feats``); ``load(u)``: a record's raw features.  Records
        without a speaker or cached features are left out (they will be normalised alone)."""
        groups: dict[str, list] = {}
        for u in utts:
            if u.speaker and u.feats:
                groups.setdefault(u.speaker, []).append(u)
        self.stats = {spk: CMVN.estimate(load(u) for u in us) for spk, us in groups.items()}
        return self

    def __call__(self, f: np.ndarray, speaker: str | None = None) -> np.ndarray:
        stats = self.stats.get(speaker) if speaker else None
        return stats(f).astype(np.float32, copy=False) if stats is not None else self._utt(f)

    def state(self) -> None:
        return None


def apply(norm, f: np.ndarray, speaker: str | None) -> np.ndarray:
    """``norm(f)``, with the record's speaker for a ``SpeakerCMVN``."""
    return norm(f, speaker) if isinstance(norm, SpeakerCMVN) else norm(f)


class RunningCMVN:
    """Streaming stand-in for ``UtteranceCMVN``: frame t normalised by the statistics of frames
    0..t, x'_t = (x_t − m_t) / s_t with m_t = (1/(t+1)) Σ_{u≤t} x_u, s_t² = (1/(t+1)) Σ_{u≤t} x_u² − m_t²
    (s_t at least 1e-5; frame 0 becomes 0).  Stateful: one instance per stream."""

    def __init__(self, prior: CMVN | None = None, frames: int = 0):
        """``prior``: global statistics counted as ``frames`` frames before the first."""
        self.n, self.s, self.ss = 0, 0.0, 0.0
        if prior is not None and frames > 0:
            mean, var = prior.mean.astype(np.float64), prior.std.astype(np.float64) ** 2
            self.n, self.s, self.ss = int(frames), frames * mean, frames * (var + mean**2)

    def __call__(self, f: np.ndarray) -> np.ndarray:
        f64 = f.astype(np.float64)
        s = self.s + np.cumsum(f64, axis=0)
        ss = self.ss + np.cumsum(f64**2, axis=0)
        n = self.n + np.arange(1, f.shape[0] + 1, dtype=np.float64)[:, None]
        if f.shape[0]:
            self.n, self.s, self.ss = int(n[-1, 0]), s[-1], ss[-1]
        mean = s / n
        std = np.sqrt(np.maximum(ss / n - mean**2, 0))
        return ((f64 - mean) / np.maximum(std, 1e-5)).astype(np.float32)


class PrefixCMVN:
    """``features.cmvn: running`` on whole utterances: ``RunningCMVN`` afresh for every input (from
    the global statistics ``prior`` counted as ``frames`` frames, when given)."""

    def __init__(self, prior: CMVN | None = None, frames: int = 0):
        self.prior, self.frames = prior, frames

    def __call__(self, f: np.ndarray) -> np.ndarray:
        return self.stream()(f)

    def stream(self) -> RunningCMVN:
        return RunningCMVN(self.prior, self.frames)

    def state(self) -> dict | None:
        return self.prior.state() if self.prior is not None and self.frames > 0 else None


def stream_normaliser(norm):
    """The normaliser a stream uses in place of a model's (``normaliser``): a fresh
    ``RunningCMVN`` for ``utterance``, ``speaker`` and ``running`` (with a ``running`` model's
    prior), the same one otherwise (it reads one frame at a time)."""
    if isinstance(norm, PrefixCMVN):
        return norm.stream()
    return RunningCMVN() if isinstance(norm, (UtteranceCMVN, SpeakerCMVN)) else norm


def normaliser(mode: str, stats: dict | None, prior_frames: int = 0):
    """The normaliser a model uses: per-utterance, its global statistics (whenever it has
    them; for ``running`` the prior of ``prior_frames`` frames), or none."""
    if mode == "utterance":
        return UtteranceCMVN()
    if mode == "running":
        if stats is not None and prior_frames > 0:
            return PrefixCMVN(CMVN.from_state(stats), prior_frames)
        return PrefixCMVN()
    if mode == "speaker":
        return SpeakerCMVN()
    if stats is not None:
        return CMVN.from_state(stats)
    return None
