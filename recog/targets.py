"""Training targets of every output type (``model.output``), read from manifest records.

=============  ==========================  =====================================================
output         record key                  target of one utterance
=============  ==========================  =====================================================
ctc            ``text``                    symbol indices (the transcript)
label          ``label``                   one class index, a 0-d long tensor
frame          ``frame_labels``            one class index per feature frame, (T,) long
regression     ``target``                  (D,) float  (``model.regression=sequence``)
regression     ``frame_targets`` (.npy)    (T, D) float (``model.regression=frame``)
=============  ==========================  =====================================================

Class tables: index 0 is the symbol table's blank and never a class; the classes are ``--tokens``
when given, else the sorted class names of the training records.  Regression models have no
classes (a table holding the blank alone) and ``D`` outputs, D read from the training targets.
"""

from __future__ import annotations

import os
from collections import Counter

import numpy as np
import torch

from .config import ModelConfig
from .data import _report, filter_trainable
from .manifest import Utterance
from .tokens import BLANK, SymbolTable

# the record key each output type trains on
KEYS = {"ctc": "text", "label": "label", "frame": "frame_labels", "regression": "target"}


def target_key(m: ModelConfig) -> str:
    if m.output == "regression" and m.regression == "frame":
        return "frame_targets"
    return KEYS[m.output]


def class_names(u: Utterance, output: str) -> list[str]:
    """The class names a label or frame record names (empty when it has none)."""
    if output == "label":
        return [u.label] if u.label is not None else []
    return u.frame_labels or []


def output_symbols(m: ModelConfig, utts: list[Utterance], tokens=None) -> SymbolTable:
    """The symbol table a model trains with: ``tokens`` for CTC; for label and frame models
    ``tokens`` if given, else the training records' class names; for regression the blank alone."""
    if m.output == "regression":
        return SymbolTable([BLANK], "word")
    if tokens or m.output == "ctc":
        return SymbolTable.read(tokens)
    names = sorted({c for u in utts for c in class_names(u, m.output)})
    if not names:
        raise ValueError(f"no training record has a {target_key(m)!r} (model.output={m.output})")
    return SymbolTable([BLANK] + names, "word")


def target_dims(u: Utterance, m: ModelConfig) -> int | None:
    """D of a regression record's target (None when it has none or its file is missing)."""
    if m.regression == "sequence":
        return len(u.target) if u.target is not None else None
    if not u.frame_targets or not os.path.exists(u.frame_targets):
        return None
    shape = np.load(u.frame_targets, mmap_mode="r").shape
    return 1 if len(shape) == 1 else int(shape[1])


def num_outputs(m: ModelConfig, symbols: SymbolTable, utts: list[Utterance]) -> int:
    """Width of the output layer: the table's size, or for regression the commonest target size."""
    if m.output != "regression":
        return len(symbols)
    dims = Counter(d for d in (target_dims(u, m) for u in utts) if d)
    if not dims:
        raise ValueError(f"no training record has a usable {target_key(m)!r} (model.output=regression)")
    return dims.most_common(1)[0][0]


class TargetReader:
    """``reader(u)`` -> (labels, targets) for a record's ``Example``; ``reader.problem(u)`` says
    why a record cannot be trained or scored on ("" when it can)."""

    def __init__(self, m: ModelConfig, symbols: SymbolTable, dims: int = 0):
        self.output, self.key, self.symbols, self.dims = m.output, target_key(m), symbols, dims
        self.model_cfg = m

    def __call__(self, u: Utterance) -> tuple[list[int], torch.Tensor | None]:
        if self.output == "ctc":
            return self.symbols.encode(u.text or ""), None
        if self.output in ("label", "frame"):
            ids = [self.symbols.index[c] for c in class_names(u, self.output)]
            return ids, torch.tensor(ids[0] if self.output == "label" else ids, dtype=torch.long)
        if self.key == "target":
            return [], torch.tensor(u.target, dtype=torch.float32)
        t = np.load(u.frame_targets).astype(np.float32)
        return [], torch.from_numpy(t.reshape(t.shape[0], -1))

    def problem(self, u: Utterance) -> str:
        if not u.num_frames:
            return "no frame count (run the features stage)"
        if u.extra.get(self.key) is None:
            return f"no {self.key!r}"
        if self.output in ("label", "frame"):
            names = class_names(u, self.output)
            unknown = sorted({c for c in names if c not in self.symbols.index or c == BLANK})
            if unknown:
                return f"classes not in the table: {' '.join(unknown)}"
            if self.output == "frame" and len(names) != u.num_frames:
                return f"{len(names)} frame labels for {u.num_frames} frames"
            return ""
        return self._regression_problem(u)

    def _regression_problem(self, u: Utterance) -> str:
        d = target_dims(u, self.model_cfg)
        if d is None:
            return f"{u.frame_targets}: not found"
        if d != self.dims:
            return f"{d} target values, the model has {self.dims}"
        if self.key == "frame_targets":
            n = np.load(u.frame_targets, mmap_mode="r").shape[0]
            if n != u.num_frames:
                return f"{u.frame_targets}: {n} frames of targets for {u.num_frames} frames"
        return ""


def usable(utts: list[Utterance], reader: TargetReader, out_frames, log=print) -> list[Utterance]:
    """The records a model can train on; the others are reported (CTC: ``filter_trainable``)."""
    if reader.output == "ctc":
        return filter_trainable(utts, reader.symbols, out_frames, log)
    keep, bad = [], []
    for u in utts:
        why = reader.problem(u)
        if why:
            bad.append(f"{u.id}: {why}")
        else:
            keep.append(u)
    if bad:
        _report(f"skipping {len(bad)} of {len(utts)} utterances:", bad, log)
    return keep
