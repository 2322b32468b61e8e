"""Results of the output types beside CTC (label, frame, regression): from model outputs to
per-utterance predictions, their text, and the validation score that picks ``best.pt``.

Text, as ``recog transcribe`` and ``recog decode`` print it after the id:

* label: the class name (``<id> dog``);
* frame: one class name per frame (``<id> sil sil d d o o``);
* regression: the values, ``%.6g``; per frame, frame after frame (T·D numbers).

A :class:`Prediction` is a :class:`~recog.decode.types.Hypothesis` (tokens: the class indices,
confidences: their posteriors, start/end frames: the frames each covers), so code written for CTC
hypotheses reads it too; regression values are in ``values``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .config import Config
from .data import BucketBatchSampler, UtteranceDataset, batcher
from .decode.types import Hypothesis
from .manifest import Utterance
from .target_metrics import score_labels, score_regression
from .tokens import SymbolTable


@dataclass
class Prediction(Hypothesis):
    kind: str = ""  # label | frame | regression
    values: list = field(default_factory=list)  # regression: D numbers, or per frame T lists of D


def _classes(logp: torch.Tensor, n: int) -> Prediction:
    """logp (C,) or (T, C) of a sequence of ``n`` frames -> the most likely class (per frame) with
    its posterior; a label covers frames 0..n−1, a frame's class its frame."""
    best, ids = logp.max(dim=-1)
    ids, best = ids.reshape(-1).tolist(), best.reshape(-1)
    per_frame = logp.dim() == 2
    start, end = (list(range(n)), list(range(n))) if per_frame else ([0], [max(0, n - 1)])
    return Prediction(tokens=ids, score=float(best.sum()), start_frames=start, end_frames=end,
                      confidences=best.exp().tolist(), kind="frame" if per_frame else "label")


def predictions(kind: str, out: torch.Tensor, lengths: torch.Tensor) -> list[Prediction]:
    """One prediction per utterance of a batch's outputs (see recog.models.heads for shapes)."""
    out = out.float().cpu()
    per_frame = out.dim() == 3
    res = []
    for i in range(out.shape[0]):
        n = int(lengths[i])
        o = out[i, :n] if per_frame else out[i]
        if kind == "regression":
            res.append(Prediction(tokens=[], score=0.0, kind=kind, values=o.tolist()))
        else:
            res.append(_classes(o, n))
    return res


def result_text(hyp: Hypothesis, symbols: SymbolTable) -> str:
    """The text after the id: a CTC transcript, class names, or numbers."""
    kind = getattr(hyp, "kind", "")
    if kind == "regression":
        return " ".join(f"{v:.6g}" for v in np.asarray(hyp.values, dtype=np.float64).ravel())
    if kind:
        return " ".join(symbols.symbols[t] for t in hyp.tokens)
    return symbols.decode(hyp.tokens)


def reference(u: Utterance, cfg: Config) -> list:
    """A record's reference for scoring: class names, or all its target values in order."""
    m = cfg.model
    if m.output == "label":
        return [u.label]
    if m.output == "frame":
        return u.frame_labels
    if m.regression == "sequence":
        return u.target
    return np.load(u.frame_targets).astype(np.float64).ravel().tolist()


def metric_name(output: str, unit: str) -> str:
    """What the validation score of a model is called in the log: CER/PER/WER, ER, RMSE."""
    if output == "ctc":
        return {"char": "CER", "phone": "PER", "word": "WER"}[unit]
    return "RMSE" if output == "regression" else f"{output} ER"


def metric_column(output: str) -> str:
    """Its column in metrics.csv: ``valid_er`` (per cent errors) or ``valid_rmse``."""
    return "valid_rmse" if output == "regression" else "valid_er"


@torch.no_grad()
def evaluate_targets(model, utts: list[Utterance], cfg: Config, symbols: SymbolTable, cmvn, device,
                     batch_size: int = 16):
    """Predict ``utts`` and score them: a LabelReport (error rate = 100 − accuracy) or a
    RegressionReport (its ``error_rate`` is the RMSE)."""
    model.eval()
    ds = UtteranceDataset(utts, cfg.features, None, cmvn)
    sampler = BucketBatchSampler([u.num_frames or 0 for u in utts], batch_size, shuffle=False)
    loader = torch.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=batcher(cfg.data))
    hyps: dict[str, list] = {}
    for b in loader:
        out, lens = model(b.feats.to(device), b.lengths.to(device), b.padding)
        for uid, p in zip(b.ids, predictions(cfg.model.output, out, lens.cpu())):
            hyps[uid] = (np.asarray(p.values, dtype=np.float64).ravel().tolist() if p.kind == "regression"
                         else [symbols.symbols[t] for t in p.tokens])
    refs = {u.id: reference(u, cfg) for u in utts}
    model.train()
    if cfg.model.output == "regression":
        return score_regression(refs, hyps)
    rep = score_labels(refs, hyps)
    rep.name = f"{cfg.model.output} ER"
    return rep
