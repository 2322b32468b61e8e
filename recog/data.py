"""Datasets, a length-bucketed batch sampler and the padding collate.

Batches follow ``data.*`` (MATLAB's batching options): padding on the right or the left with
``padding_value``, cut to the batch's shortest sequence (``sequence_length: shortest``, training
only), and length-sorted buckets or plain shuffled batches (``sort_by_length``).

Features come from the cached ``.npy`` named by a manifest record (``feats``; read with the loader
decoding uses too) or, when the record has none or when augmenting, are computed from the source
file with the same code as at inference.  A record whose cached file is missing is reported and
left out before training starts (``drop_missing_features``), never silently recomputed.
"""

from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from .config import DataConfig, FeatureConfig
from .features import FeatureError, extract
from .features.cache import load_cached
from .features.cmvn import CMVN
from .features.cmvn import apply as apply_cmvn
from .manifest import Utterance
from .tokens import SymbolTable


def ctc_min_frames(labels: list[int]) -> int:
    """Frames a CTC path needs for ``labels``: one per label plus a blank between repeats."""
    return len(labels) + sum(1 for a, b in zip(labels, labels[1:]) if a == b)


@dataclass
class Example:
    id: str
    feats: torch.Tensor  # (T, D)
    labels: list[int]
    text: str
    targets: torch.Tensor | None = None  # other outputs than CTC: see recog.targets


class UtteranceDataset(torch.utils.data.Dataset):
    def __init__(
        self,
        utts: list[Utterance],
        feat_cfg: FeatureConfig,
        symbols: SymbolTable | None = None,
        cmvn: CMVN | None = None,
        augment: Callable | None = None,
        use_cache: bool = True,
        feature_augment: Callable | None = None,
        targets: Callable | None = None,
    ):
        self.utts = utts
        self.cfg = feat_cfg
        self.symbols = symbols
        self.cmvn = cmvn
        self.augment = augment
        self.use_cache = use_cache
        self.feature_augment = feature_augment  # applied after CMVN (SpecAugment)
        self.targets = targets  # record -> (labels, targets) (recog.targets.TargetReader); None: CTC

    def __len__(self) -> int:
        return len(self.utts)

    def features(self, u: Utterance) -> np.ndarray:
        if self.use_cache and u.feats and self.augment is None:
            f = load_cached(u.id, u.feats)
        else:
            f = extract(u.path, self.cfg, augment=self.augment)
        if self.cmvn is not None:
            f = apply_cmvn(self.cmvn, f, u.speaker)
        if self.feature_augment is not None:
            f = self.feature_augment(f)
        return f

    def __getitem__(self, i: int) -> Example:
        u = self.utts[i]
        if self.targets is not None:
            labels, targets = self.targets(u)
        else:
            labels, targets = (self.symbols.encode(u.text or "") if self.symbols is not None else []), None
        feats = torch.from_numpy(np.ascontiguousarray(self.features(u)))
        return Example(u.id, feats, labels, u.text or "", targets)


def _report(headline: str, lines: list[str], log, shown: int = 20) -> None:
    """Log a headline and the first ``shown`` of ``lines``, indented, then how many more."""
    log(headline)
    for b in lines[:shown]:
        log(f"  {b}")
    if len(lines) > shown:
        log(f"  ... and {len(lines) - shown} more")


def drop_missing_features(utts: list[Utterance], what: str, log=print) -> list[Utterance]:
    """Leave out (and report) the records whose cached feature file is missing."""
    missing = {u.id: u.feats for u in utts if u.feats and not os.path.exists(u.feats)}
    if missing:
        _report(f"{what}: {len(missing)} of {len(utts)} records have no cached features; left out:",
                [f"{uid}: {f} not found" for uid, f in missing.items()], log)
    return [u for u in utts if u.id not in missing]


def filter_trainable(
    utts: list[Utterance], symbols: SymbolTable, out_frames: Callable[[int], int], log=print
) -> list[Utterance]:
    """Drop (and report) utterances without frame counts, with unknown symbols, or whose labels
    cannot fit the model's output frames (CTC would give an infinite loss)."""
    keep, bad = [], []
    for u in utts:
        try:
            labels = symbols.encode(u.text or "")
        except ValueError as e:
            bad.append(f"{u.id}: {e}")
            continue
        if not labels:
            bad.append(f"{u.id}: empty transcript")
            continue
        if not u.num_frames:
            bad.append(f"{u.id}: no frame count (run the features stage)")
            continue
        need, have = ctc_min_frames(labels), out_frames(u.num_frames)
        if need > have:
            bad.append(f"{u.id}: {need} output frames needed for {len(labels)} labels, only {have} available")
            continue
        keep.append(u)
    if bad:
        _report(f"skipping {len(bad)} of {len(utts)} utterances:", bad, log)
    return keep


class BucketBatchSampler(torch.utils.data.Sampler):
    """Batches of similar length: sort by length, cut into batches, shuffle the batch order.

    Deterministic for (seed, epoch).  Under DistributedDataParallel the batches are cut
    ``world`` times as large (``batch_size`` and ``max_frames`` are per process) and each global
    batch is split into ``world`` contiguous slices, rank r taking slice r.  So ``world``
    processes with batch B see exactly the batches one process with batch ``world``·B sees, and
    with the loss scaled by ``global_sizes`` (the train loop does) they follow the same
    trajectory.  Global batches too small to give every rank an utterance are dropped.
    ``start`` skips batches already done in an epoch, for exact resumption.  ``sort=False``:
    plain batches of a shuffled order (lengths then only count for ``max_frames``).
    """

    def __init__(
        self,
        lengths: list[int],
        batch_size: int,
        max_frames: int = 0,
        shuffle: bool = True,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
        sort: bool = True,
    ):
        self.lengths = lengths
        self.sort = sort
        self.batch_size, self.max_frames = batch_size, max_frames
        self.shuffle, self.seed = shuffle, seed
        self.rank, self.world = rank, world
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def batches(self) -> list[list[int]]:
        """This rank's batches for the current epoch (all of them, ``start`` not applied)."""
        return [g[self._slice(len(g))] for g in self.global_batches()]

    def global_sizes(self) -> list[int]:
        """Utterances in each global batch (all ranks together): the loss normaliser."""
        return [len(g) for g in self.global_batches()]

    def _slice(self, n: int) -> slice:
        # contiguous, sizes differing by at most one: rank r gets [r*n//w, (r+1)*n//w)
        return slice(self.rank * n // self.world, (self.rank + 1) * n // self.world)

    def global_batches(self) -> list[list[int]]:
        rng = random.Random(self.seed * 100003 + self.epoch)
        size, max_frames = self.batch_size * self.world, self.max_frames * self.world
        out, cur, longest = [], [], 0
        for i in self._order(rng):
            longest_new = max(longest, self.lengths[i])
            too_many = len(cur) >= size
            too_long = max_frames and cur and longest_new * (len(cur) + 1) > max_frames
            if cur and (too_many or too_long):
                out.append(cur)
                cur, longest_new = [], self.lengths[i]
            cur.append(i)
            longest = longest_new
        if cur:
            out.append(cur)
        if self.shuffle:
            rng.shuffle(out)
        return [b for b in out if len(b) >= self.world]

    def _order(self, rng: random.Random) -> list[int]:
        if not self.sort:
            order = list(range(len(self.lengths)))
            if self.shuffle:
                rng.shuffle(order)
            return order
        order = sorted(range(len(self.lengths)), key=lambda i: (self.lengths[i], i))
        if self.shuffle:
            # jitter within length ties/neighbourhoods so batches differ between epochs
            order = sorted(order, key=lambda i: self.lengths[i] * (1 + 0.1 * rng.random()))
        return order

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches()[self.start :])

    def __len__(self) -> int:
        return max(0, len(self.batches()) - self.start)


@dataclass
class Batch:
    ids: list[str]
    feats: torch.Tensor  # (B, T, D) padded (``padding`` side, with data.padding_value)
    lengths: torch.Tensor  # (B,)
    labels: torch.Tensor  # (sum of label lengths,)
    label_lengths: torch.Tensor  # (B,)
    texts: list[str]
    targets: torch.Tensor | None = None  # other outputs than CTC, valid frames first (pad_targets)
    padding: str = "right"


def pad_targets(targets: list[torch.Tensor]) -> torch.Tensor:
    """One batch tensor of the examples' targets, per-frame ones with each sequence's valid frames
    first (as the model's outputs have them):

        class ()        -> (B,)          values (D,)        -> (B, D)
        classes (T,)    -> (B, T), -100 past the end (cross-entropy's ignore index)
        values (T, D)   -> (B, T, D), zeros past the end
    """
    t0 = targets[0]
    if (t0.dtype == torch.long and t0.dim() == 0) or (t0.dtype != torch.long and t0.dim() == 1):
        return torch.stack(targets)
    T = max(t.shape[0] for t in targets)
    out = torch.full((len(targets), T, *t0.shape[1:]), -100 if t0.dtype == torch.long else 0, dtype=t0.dtype)
    for i, t in enumerate(targets):
        out[i, : t.shape[0]] = t
    return out


def _cut(e: Example, n: int) -> Example:
    """``e`` cut to its first ``n`` frames, per-frame targets with it."""
    t = e.targets
    if t is not None and (t.dim() == 2 or (t.dtype == torch.long and t.dim() == 1)):
        t = t[:n]
    return Example(e.id, e.feats[:n], e.labels, e.text, t)


def collate(examples: list[Example], padding: str = "right", value: float = 0.0, shortest: bool = False) -> Batch:
    """Pad a list of examples into a batch: on the ``padding`` side with ``value``; with
    ``shortest`` every example is first cut to the shortest one's length."""
    if shortest:
        n = min(e.feats.shape[0] for e in examples)
        examples = [_cut(e, n) for e in examples]
    B = len(examples)
    T = max(e.feats.shape[0] for e in examples)
    D = examples[0].feats.shape[1]
    x = torch.zeros(B, T, D) if value == 0 else torch.full((B, T, D), value)
    for i, e in enumerate(examples):
        n = e.feats.shape[0]
        if padding == "left":
            x[i, T - n :] = e.feats
        else:
            x[i, :n] = e.feats
    targets = [e.targets for e in examples]
    return Batch(
        ids=[e.id for e in examples],
        feats=x,
        lengths=torch.tensor([e.feats.shape[0] for e in examples]),
        labels=torch.tensor([l for e in examples for l in e.labels], dtype=torch.long),
        label_lengths=torch.tensor([len(e.labels) for e in examples]),
        texts=[e.text for e in examples],
        targets=pad_targets(targets) if all(t is not None for t in targets) else None,
        padding=padding,
    )


def batcher(cfg: DataConfig, training: bool = False) -> Callable[[list[Example]], Batch]:
    """The collate function ``data.*`` asks for (``shortest`` cuts training batches only: at
    inference an utterance's output must not depend on what it is batched with)."""
    import functools

    return functools.partial(collate, padding=cfg.padding_direction, value=cfg.padding_value,
                             shortest=training and cfg.sequence_length == "shortest")


def perturbed_copies(utts: list[Utterance], perturbations: list[str]) -> list[Utterance]:
    """``utts`` followed by one copy per perturbation, with ids ``<perturbation>-<id>`` and the
    perturbation named in the record (``extra["perturbation"]``), Kaldi's speed-perturbation
    convention."""
    out = list(utts)
    for p in perturbations:
        out += [Utterance(f"{p}-{u.id}", u.path, u.text, u.speaker, None, None, {**u.extra, "perturbation": p})
                for u in utts]
    return out


def compute_features(utts: list[Utterance], cfg: FeatureConfig, out_dir, log=print, progress: bool = True):
    """Write one .npy per utterance (float16 for images, float32 for audio), of the perturbed
    audio for a record with ``extra["perturbation"]``; report and skip bad files; return the
    records that succeeded, with ``feats`` and ``num_frames`` set.  Existing complete outputs are
    reused, so an interrupted run resumes."""
    from pathlib import Path

    from tqdm import tqdm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dtype = np.float16 if cfg.modality == "image" else np.float32
    good, failed = [], 0
    for u in tqdm(utts, desc=f"features {out_dir.name}", disable=not progress, mininterval=5, file=sys.stderr):
        dst = out_dir / f"{u.id}.npy"
        try:
            if dst.exists():
                n = int(np.load(dst, mmap_mode="r").shape[0])
            else:
                f = extract(u.path, cfg, perturbation=u.extra.get("perturbation", "")).astype(dtype)
                tmp = dst.with_suffix(".tmp.npy")
                np.save(tmp, f)
                tmp.replace(dst)
                n = f.shape[0]
        except FeatureError as e:
            log(f"error: {e}; skipped")
            failed += 1
            continue
        good.append(Utterance(u.id, u.path, u.text, u.speaker, str(dst.resolve()), n, dict(u.extra)))
    if failed:
        log(f"{failed} of {len(utts)} files could not be read (see above)")
    return good
