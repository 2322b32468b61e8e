"""Noisy sine waves and their frequencies: sequence-to-one regression with a known answer.

MATLAB's sequence-to-one regression example (predict a waveform's frequency with an LSTM), with
the data generated here.  Each sequence holds C channels of one sine wave sampled at ``--rate`` Hz,

    x_c(n) = a_c · sin(2π f n / rate + φ_c) + ε_c(n),    ε_c(n) ~ N(0, σ²),

with f ~ U[min_freq, max_freq] Hz, length T ~ U{min_len … max_len} samples, amplitude
a_c ~ U[0.5, 1.5] and phase φ_c ~ U[0, 2π) per channel; the target is f.  Predicting the training
targets' mean everywhere scores an RMSE of about (max_freq − min_freq)/√12 (2.6 Hz by default); a
model that reads the waves does much better.

Written as cached features (``features.modality: vector``, ``features.vector.dim: C``), one folder
per split, ready for ``recog train`` / ``recog decode``::

    out/<split>/npy/<id>.npy     (T, C) float32 samples (the record's path and feats)
    out/<split>/manifest.jsonl   "target": [f], "num_frames": T (and "text": f, for text)
    out/<split>/features.json    the feature settings (modality vector, dim C)
    out/<split>/text             <id> <f>: the reference for ``recog score --unit regression``
    out/<split>/mean_hyp.txt     <id> <mean of the training targets>: the mean predictor to beat
    out/tokens.txt               a table with the blank alone (regression has no classes)

Usage::

    python -m data_prep.sines --out DIR [--train 2000 --valid 200 --test 500] [--channels 1]
        [--rate 100] [--min-freq 1 --max-freq 10] [--min-len 100 --max-len 200] [--noise 0.3] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from recog.config import FeatureConfig, VectorFeatures
from recog.features.cache import write_settings
from recog.manifest import Utterance, write_text
from recog.tokens import BLANK, SymbolTable

from .common import Reporter, run_reporting_errors, write_all

PROG = "data_prep.sines"


def sine_waves(n: int, rng: np.random.Generator, channels: int = 1, rate: float = 100.0, min_freq: float = 1.0,
               max_freq: float = 10.0, min_len: int = 100, max_len: int = 200, noise: float = 0.3
               ) -> list[tuple[np.ndarray, float]]:
    """``n`` (samples (T, C), frequency in Hz) pairs, drawn as the module docstring says."""
    out = []
    for _ in range(n):
        f = float(rng.uniform(min_freq, max_freq))
        T = int(rng.integers(min_len, max_len + 1))
        a = rng.uniform(0.5, 1.5, channels)
        phi = rng.uniform(0.0, 2 * np.pi, channels)
        t = np.arange(T)[:, None] / rate
        x = a * np.sin(2 * np.pi * f * t + phi) + rng.normal(0.0, noise, (T, channels))
        out.append((x.astype(np.float32), f))
    return out


def prepare_sines(out: Path, sizes: dict[str, int], seed: int = 0, **wave) -> dict[str, list[Utterance]]:
    """Write every split of ``sizes`` (name -> count) under ``out``; ``wave``: ``sine_waves``'s options."""
    out = Path(out)
    rep = Reporter(PROG)
    if wave.get("min_len", 100) < 1 or wave.get("min_len", 100) > wave.get("max_len", 200):
        raise ValueError("--min-len must be at least 1 and at most --max-len")
    if not wave.get("min_freq", 1.0) <= wave.get("max_freq", 10.0):
        raise ValueError("--min-freq must be at most --max-freq")
    splits: dict[str, list[Utterance]] = {}
    for k, (name, n) in enumerate(sizes.items()):
        folder = out / name / "npy"
        folder.mkdir(parents=True, exist_ok=True)
        utts = []
        for i, (x, f) in enumerate(sine_waves(n, np.random.default_rng([seed, k]), **wave)):
            uid = f"{name}_{i:05d}"
            path = folder / f"{uid}.npy"
            np.save(path, x)
            utts.append(Utterance(uid, str(path), text=f"{f:.6g}", feats=str(path), num_frames=len(x),
                                  extra={"target": [round(f, 6)]}))
        splits[name] = utts
    write_all(out, splits, rep, unit="word")
    SymbolTable([BLANK], "word").write(out / "tokens.txt")  # no classes (the texts are numbers)
    dims = FeatureConfig(modality="vector", vector=VectorFeatures(dim=wave.get("channels", 1)))
    mean = float(np.mean([u.target[0] for u in splits.get("train", [])])) if splits.get("train") else 0.0
    for name, utts in splits.items():
        write_settings(out / name, dims)
        write_text(out / name / "mean_hyp.txt", sorted((u.id, f"{mean:.6g}") for u in utts))
        f = np.array([u.target[0] for u in utts])
        if len(f):
            rep.info(f"{name}: {len(utts)} waves, f {f.min():.2f}-{f.max():.2f} Hz, the mean predictor's RMSE "
                     f"{np.sqrt(np.mean((f - mean) ** 2)):.3f} Hz")
    rep.summary(splits, out)
    return splits


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="recog prep sines", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="output directory (train/ valid/ test/ + tokens.txt)")
    for name, n in (("train", 2000), ("valid", 200), ("test", 500)):
        ap.add_argument(f"--{name}", type=int, default=n, help=f"{name} sequences (default {n})")
    ap.add_argument("--channels", type=int, default=1, help="channels per wave (features.vector.dim)")
    ap.add_argument("--rate", type=float, default=100.0, help="samples per second")
    ap.add_argument("--min-freq", type=float, default=1.0, help="lowest frequency (Hz)")
    ap.add_argument("--max-freq", type=float, default=10.0, help="highest frequency (Hz)")
    ap.add_argument("--min-len", type=int, default=100, help="shortest wave (samples)")
    ap.add_argument("--max-len", type=int, default=200, help="longest wave (samples)")
    ap.add_argument("--noise", type=float, default=0.3, help="standard deviation of the added Gaussian noise")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    sizes = {k: v for k, v in (("train", a.train), ("valid", a.valid), ("test", a.test)) if v > 0}
    return run_reporting_errors(PROG, lambda: prepare_sines(
        a.out, sizes, a.seed, channels=a.channels, rate=a.rate, min_freq=a.min_freq, max_freq=a.max_freq,
        min_len=a.min_len, max_len=a.max_len, noise=a.noise))


if __name__ == "__main__":
    sys.exit(main())
