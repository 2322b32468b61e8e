"""Scores of the output types beside CTC: accuracy with a confusion matrix for classes (label and
frame models), RMSE and MAE for regression.

Both compare ``{id: values}`` maps, as read from ``<id> <values...>`` text files (what ``recog
transcribe`` prints for such models):

* classes: position by position, ``<id> <label>`` (one per sequence) or ``<id> l1 l2 ...`` (one per
  frame); accuracy = correct / reference labels, error rate = 100 − accuracy (per cent).  A missing
  hypothesis, or one shorter than its reference, counts its missing labels as errors (``<none>``).
* regression: all numbers of an utterance, ``RMSE = √(Σ (y − ŷ)² / n)``, ``MAE = Σ |y − ŷ| / n``;
  a hypothesis must have as many numbers as its reference.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

NONE = "<none>"


@dataclass
class LabelReport:
    n_utts: int = 0
    total: int = 0
    correct: int = 0
    confusion: Counter = field(default_factory=Counter)  # (ref, hyp) -> count, correct pairs included
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    name: str = "ER"

    @property
    def accuracy(self) -> float:
        return 100.0 * self.correct / self.total if self.total else 100.0

    @property
    def error_rate(self) -> float:
        """Per cent wrong labels, 100 − accuracy (what model selection minimises)."""
        return 100.0 - self.accuracy

    def format(self, matrix: bool = True) -> str:
        lines = [f"%ACC {self.accuracy:.2f} [ {self.correct} / {self.total} ], %ER {self.error_rate:.2f}, "
                 f"over {self.n_utts} utterances"]
        if self.missing:
            lines.append(f"missing hypotheses: {len(self.missing)} (scored as errors)")
        if self.extra:
            lines.append(f"hypotheses without reference: {len(self.extra)} (ignored)")
        if matrix and self.confusion:
            lines.append(confusion_table(self.confusion))
        return "\n".join(lines)


def confusion_table(confusion: Counter) -> str:
    """Counts with a row per reference class and a column per hypothesis class, and each row's
    accuracy (recall)."""
    refs = sorted({r for r, _ in confusion})
    hyps = sorted({h for _, h in confusion} | set(refs), key=lambda c: (c == NONE, c))
    corner = "ref\\hyp"
    w = max(len(c) for c in refs + hyps + [corner])
    cw = max(len(str(n)) for n in list(confusion.values()) + hyps)
    lines = ["confusion matrix (rows: reference, columns: hypothesis):",
             f"{corner:<{w}} " + " ".join(f"{h:>{cw}}" for h in hyps) + "   acc%"]
    for r in refs:
        row = [confusion.get((r, h), 0) for h in hyps]
        acc = 100.0 * confusion.get((r, r), 0) / max(1, sum(row))
        lines.append(f"{r:<{w}} " + " ".join(f"{n:>{cw}}" for n in row) + f" {acc:6.1f}")
    return "\n".join(lines)


def score_labels(refs: dict[str, list[str]], hyps: dict[str, list[str]]) -> LabelReport:
    rep = LabelReport()
    for uid, ref in refs.items():
        if uid not in hyps:
            rep.missing.append(uid)
        hyp = hyps.get(uid, [])
        rep.n_utts += 1
        rep.total += len(ref)
        for k, r in enumerate(ref):
            h = hyp[k] if k < len(hyp) else NONE
            rep.confusion[(r, h)] += 1
            rep.correct += r == h
    rep.extra = [uid for uid in hyps if uid not in refs]
    return rep


@dataclass
class RegressionReport:
    n_utts: int = 0
    n_values: int = 0
    squared: float = 0.0
    absolute: float = 0.0
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    name: str = "RMSE"

    @property
    def rmse(self) -> float:
        return math.sqrt(self.squared / self.n_values) if self.n_values else 0.0

    @property
    def mae(self) -> float:
        return self.absolute / self.n_values if self.n_values else 0.0

    @property
    def error_rate(self) -> float:
        """The RMSE: what model selection minimises, under the name the training loop reads."""
        return self.rmse

    def format(self) -> str:
        lines = [f"RMSE {self.rmse:.6g} MAE {self.mae:.6g} over {self.n_utts} utterances ({self.n_values} values)"]
        if self.missing:
            lines.append(f"missing hypotheses: {len(self.missing)} (left out)")
        if self.extra:
            lines.append(f"hypotheses without reference: {len(self.extra)} (ignored)")
        return "\n".join(lines)


def score_regression(refs: dict[str, list[float]], hyps: dict[str, list[float]]) -> RegressionReport:
    """ValueError naming the utterance when a hypothesis has another number of values."""
    rep = RegressionReport()
    for uid, ref in refs.items():
        if uid not in hyps:
            rep.missing.append(uid)
            continue
        hyp = hyps[uid]
        if len(hyp) != len(ref):
            raise ValueError(f"{uid}: {len(hyp)} values in the hypothesis, {len(ref)} in the reference")
        rep.n_utts += 1
        rep.n_values += len(ref)
        rep.squared += sum((a - b) ** 2 for a, b in zip(ref, hyp))
        rep.absolute += sum(abs(a - b) for a, b in zip(ref, hyp))
    rep.extra = [uid for uid in hyps if uid not in refs]
    return rep


def parse_numbers(texts: dict[str, str], where: str) -> dict[str, list[float]]:
    """``{id: "0.5 1.2"}`` -> ``{id: [0.5, 1.2]}``; ValueError naming the file and id otherwise."""
    out = {}
    for uid, text in texts.items():
        try:
            out[uid] = [float(v) for v in text.split()]
        except ValueError:
            raise ValueError(f"{where}: {uid}: expected numbers, got {text!r}") from None
    return out


def score_text(refs: dict[str, str], hyps: dict[str, str], unit: str, ref_name: str = "ref", hyp_name: str = "hyp"):
    """Score two ``{id: text}`` maps with ``unit`` ``label`` (whitespace-separated classes) or
    ``regression`` (numbers)."""
    if unit == "label":
        return score_labels({k: v.split() for k, v in refs.items()}, {k: v.split() for k, v in hyps.items()})
    if unit == "regression":
        return score_regression(parse_numbers(refs, ref_name), parse_numbers(hyps, hyp_name))
    raise ValueError(f"unknown unit {unit!r}; expected label or regression")
