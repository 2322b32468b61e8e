"""Cached feature folders (``recog features --out DIR``): the settings they were computed with,
and one loader for their ``.npy`` files used by both training and decoding.

``DIR/features.json`` records the feature settings (modality and that modality's options).  A
model whose settings differ would read features it was not trained on, and the error rate would
simply be worse, with no error anywhere; ``check_settings`` turns that into an error naming the
folder and the differing options.  Folders written before the file existed are not checked.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..config import FeatureConfig
from . import FeatureError

SETTINGS = "features.json"


def settings_of(cfg: FeatureConfig) -> dict:
    """What cached features depend on: the modality and its options (CMVN is applied on loading)."""
    return {"modality": cfg.modality, cfg.modality: asdict(getattr(cfg, cfg.modality))}


def write_settings(folder: str | os.PathLike, cfg: FeatureConfig) -> None:
    Path(folder, SETTINGS).write_text(json.dumps(settings_of(cfg), indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _folder(manifest_or_folder: str | os.PathLike) -> Path:
    p = Path(manifest_or_folder)
    return p if p.is_dir() else p.parent


def check_settings(manifest_or_folder: str | os.PathLike, cfg: FeatureConfig, against: str = "model") -> None:
    """Raise FeatureError when the folder's cached features were computed with other settings than
    ``cfg`` (the ``against``'s: a model's, or the config of a run)."""
    path = _folder(manifest_or_folder) / SETTINGS
    if not path.exists():
        return
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise FeatureError(f"{path}: cannot read the feature settings ({e})") from None
    want = settings_of(cfg)
    diffs = []
    if saved.get("modality") != want["modality"]:
        diffs.append(f"modality: cached {saved.get('modality')!r}, {against} {want['modality']!r}")
    else:
        # an option missing from the file came later, and its default is what the folder was computed with
        defaults = asdict(type(getattr(cfg, cfg.modality))())
        got, exp = {**defaults, **(saved.get(cfg.modality) or {})}, want[cfg.modality]
        for k in sorted(set(got) | set(exp)):
            if got.get(k) != exp.get(k):
                diffs.append(f"{cfg.modality}.{k}: cached {got.get(k)!r}, {against} {exp.get(k)!r}")
    if diffs:
        raise FeatureError(
            f"{path.parent}: cached features were computed with other settings than the {against}'s ("
            + "; ".join(diffs) + f"); compute them with the {against}'s settings (`recog features`) into a new folder")


def copy_settings(src_folder: str | os.PathLike, dst_folder: str | os.PathLike) -> None:
    """Carry ``features.json`` (if any) to a folder that reuses ``src_folder``'s cached files."""
    src = _folder(src_folder) / SETTINGS
    if src.exists():
        Path(dst_folder, SETTINGS).write_bytes(src.read_bytes())


def load_cached(uid: str, feats: str) -> np.ndarray:
    """A record's cached feature matrix as float32; FeatureError naming the file and record."""
    try:
        return np.load(feats).astype(np.float32)
    except FileNotFoundError:
        raise FeatureError(f"{feats}: cached features not found (record {uid})") from None
    except (OSError, ValueError) as e:
        raise FeatureError(f"{feats}: cannot read cached features of {uid} ({e})") from None
