"""Audio -> frames of Kaldi-compatible log-mel filterbank or MFCC features (+ energy, Δ, ΔΔ).

Reading is done with soundfile (WAV, FLAC, NIST SPHERE, ...); multi-channel audio is averaged to
mono and resampled to the configured rate with torchaudio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio

from ..config import AudioFeatures


def load_audio(path: str | Path, sample_rate: int) -> torch.Tensor:
    """Return a mono float waveform (samples,) in [-1, 1] at ``sample_rate``."""
    from . import FeatureError

    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise FeatureError(f"{path}: empty file")
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except FeatureError:
        raise
    except FileNotFoundError:
        raise FeatureError(f"{path}: no such file") from None
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise FeatureError(f"{path}: cannot decode audio ({e})") from None
    if data.shape[0] == 0:
        raise FeatureError(f"{path}: no samples")
    if not np.isfinite(data).all():
        bad = int((~np.isfinite(data)).sum())
        raise FeatureError(f"{path}: {bad} of {data.size} samples are NaN or infinite")
    wav = torch.from_numpy(data.mean(axis=1))
    if sr != sample_rate:
        wav = torchaudio.functional.resample(wav, sr, sample_rate)
    return wav


def waveform_features(wav: torch.Tensor, cfg: AudioFeatures, warp: float = 1.0) -> np.ndarray:
    """``warp``: a vocal tract length warp of the filterbank (VTLP; 1.0: none)."""
    from . import FeatureError

    w = (wav * 32768.0).unsqueeze(0)
    min_len = int(cfg.sample_rate * cfg.frame_length_ms / 1000)
    if w.shape[1] < min_len:
        raise FeatureError(f"audio shorter than one frame ({w.shape[1]} samples)")
    return add_deltas(frame_features(w, cfg, warp), cfg.deltas).numpy().astype(np.float32)


def frame_features(w: torch.Tensor, cfg: AudioFeatures, warp: float = 1.0) -> torch.Tensor:
    """Kaldi fbank or MFCC frames (T, D) of (1, samples) at 16-bit scale.  Every frame is computed
    from its own samples alone (DC removal, pre-emphasis, window, FFT), so the frames of a signal
    cut at a frame's first sample are those of the whole (``recog.features.stream``).  ``warp`` != 1
    moves the mel filters by Kaldi's piecewise-linear VTLN warp (``vtln_warp``; VTLP when random)."""
    kaldi = torchaudio.compliance.kaldi
    common = dict(
        sample_frequency=cfg.sample_rate,
        frame_length=cfg.frame_length_ms,
        frame_shift=cfg.frame_shift_ms,
        dither=cfg.dither,
        num_mel_bins=cfg.num_mel_bins,
        energy_floor=1.0,
        vtln_warp=warp,
    )
    if cfg.kind == "fbank":
        feats = kaldi.fbank(w, use_energy=cfg.energy, **common)
        if cfg.energy:  # kaldi puts energy first; we put it last
            feats = torch.cat([feats[:, 1:], feats[:, :1]], dim=1)
        return feats
    return kaldi.mfcc(w, num_ceps=cfg.num_ceps, use_energy=cfg.energy, **common)


def add_deltas(feats: torch.Tensor, n: int) -> torch.Tensor:
    """(T, D) -> (T, D·(1+n)): the frames with n orders of deltas (window 5: each order reads 2
    frames either side, the first and last frame repeated past the ends)."""
    if not n:
        return feats
    x = feats.T.unsqueeze(0)
    parts = [x]
    for _ in range(n):
        parts.append(torchaudio.functional.compute_deltas(parts[-1], win_length=5))
    return torch.cat(parts, dim=1).squeeze(0).T


def audio_features(path: str | Path | torch.Tensor, cfg: AudioFeatures, perturbation: str = "") -> np.ndarray:
    """Features of an audio file, or of samples already at ``cfg.sample_rate`` (a 1-D tensor),
    optionally of a perturbed copy (``spec_augment.perturb``)."""
    from . import FeatureError

    wav = path if isinstance(path, torch.Tensor) else load_audio(path, cfg.sample_rate)
    warp = 1.0
    if perturbation:
        from .spec_augment import perturb, vtlp_warp

        wav = perturb(wav, cfg.sample_rate, perturbation)
        warp = vtlp_warp(perturbation)
    try:
        return waveform_features(wav, cfg, warp)
    except FeatureError as e:
        raise FeatureError(f"{path}: {e}") from None
