"""Feature extraction: the same code at training and at inference.

``extract(path, cfg)`` returns a float32 matrix (frames, dims): columns (or rows) of a normalised
image, frames of log-mel filterbank/MFCC features, or precomputed vectors read from a .npy file.
Unreadable input raises ``FeatureError`` naming the file and the problem.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import FeatureConfig

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".pgm", ".ppm"}
AUDIO_SUFFIXES = {".wav", ".flac", ".sph", ".ogg", ".oga", ".opus", ".mp3", ".nist", ".aiff", ".aif"}


class FeatureError(ValueError):
    """Input that cannot be turned into features; the message names the file."""


class NoContent(FeatureError):
    """Readable input with nothing in it to recognise (a blank page, a 1x1 image): transcribed as
    empty, with a warning, rather than read as a confident symbol."""


def check_content(grey: np.ndarray, path: str | Path) -> None:
    """Raise NoContent for an image without writing: under 2 pixels high or wide, or fewer than 16
    grey levels between its darkest and brightest pixels."""
    if min(grey.shape) < 2 or int(grey.max()) - int(grey.min()) < 16:
        raise NoContent(f"{path}: the image holds no writing ({grey.shape[1]}x{grey.shape[0]} px, grey levels "
                        f"{int(grey.min())}-{int(grey.max())}); transcribed as empty")


def modality_of(path: str | Path) -> str | None:
    suf = Path(path).suffix.lower()
    if suf in IMAGE_SUFFIXES:
        return "image"
    if suf in AUDIO_SUFFIXES:
        return "audio"
    if suf == ".npy":
        return "vector"
    return None


def vector_features(path, dim: int, name: str = "") -> np.ndarray:
    """Precomputed features (``features.modality: vector``): a .npy file of (frames, dim) values
    (or (frames,) for dim 1), used as they are."""
    from .cache import load_cached

    f = load_cached(name or str(path), str(path))
    if f.ndim == 1 and dim == 1:
        f = f[:, None]
    if f.ndim != 2 or f.shape[1] != dim or f.shape[0] == 0:
        raise FeatureError(f"{path}: values of shape {f.shape}, the model reads (frames, {dim}) "
                           "(features.vector.dim)")
    return f


def extract(path, cfg: FeatureConfig, augment=None, perturbation: str = "",
            require_content: bool = False, name: str = "") -> np.ndarray:
    """``path``: a file, or a grey PIL image (image models) or a 1-D tensor of samples at the
    configured rate (audio models), ``name`` saying what it is;
    ``augment``: an image augmenter; ``perturbation``: a waveform perturbation of audio;
    ``require_content``: raise NoContent for an image without writing (inference)."""
    if cfg.modality == "image":
        from .image import image_features

        return image_features(path, cfg.image, augment=augment, require_content=require_content, name=name)
    if cfg.modality == "vector":
        return vector_features(path, cfg.vector.dim, name)
    from .audio import audio_features

    try:
        return audio_features(path, cfg.audio, perturbation)
    except FeatureError as e:
        raise FeatureError(f"{name}: {e}" if name and not str(e).startswith(name) else str(e)) from None


def feature_dim(cfg: FeatureConfig) -> int:
    if cfg.modality == "image":
        return cfg.image.height
    if cfg.modality == "vector":
        return cfg.vector.dim
    a = cfg.audio
    if a.kind == "fbank":
        base = a.num_mel_bins + (1 if a.energy else 0)
    else:
        base = a.num_ceps  # Kaldi's MFCC energy replaces C0 instead of adding a column
    return base * (1 + a.deltas)
