"""The optimiser and the learning-rate schedule (state that checkpoints exactly)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from .config import Config


@dataclass
class Schedule:
    """Learning rate: optional linear warm-up, then plateau decay on the dev metric, cosine
    decay over all steps, or constant.  Its state is a plain dict, so it checkpoints exactly."""

    base_lr: float
    kind: str
    warmup: int
    factor: float
    patience: int
    min_lr: float
    total_steps: int
    current: float = 0.0
    best: float = math.inf
    bad: int = 0
    history: list = field(default_factory=list)

    def __post_init__(self):
        self.current = self.current or self.base_lr

    def lr(self, step: int) -> float:
        lr = self.current
        if self.kind == "cosine":
            p = min(1.0, step / max(1, self.total_steps))
            lr = self.min_lr + 0.5 * (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * p))
        if self.warmup and step < self.warmup:
            lr *= (step + 1) / self.warmup
        return lr

    def epoch_end(self, metric: float) -> None:
        if self.kind != "plateau":
            return
        if metric < self.best - 1e-9:
            self.best, self.bad = metric, 0
        else:
            self.bad += 1
            if self.bad > self.patience:
                self.current, self.bad = max(self.min_lr, self.current * self.factor), 0

    def state_dict(self) -> dict:
        return {"current": self.current, "best": self.best, "bad": self.bad}

    def load_state_dict(self, d: dict) -> None:
        self.current, self.best, self.bad = d["current"], d["best"], d["bad"]


def make_optimizer(cfg: Config, params):
    t = cfg.train
    if t.optimizer == "adam":
        return torch.optim.Adam(params, lr=t.lr, weight_decay=t.weight_decay)
    if t.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=t.lr, weight_decay=t.weight_decay)
    return torch.optim.SGD(params, lr=t.lr, momentum=t.momentum, weight_decay=t.weight_decay)
