"""Documents the CTC loss the toolkit trains with: torch's ctc_loss equals brute force."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F


def _collapse(path: tuple[int, ...], blank: int = 0) -> tuple[int, ...]:
    out = []
    prev = None
    for s in path:
        if s != prev and s != blank:
            out.append(s)
        prev = s
    return tuple(out)


def _brute_force_nll(lp: torch.Tensor, label: tuple[int, ...]) -> float:
    T, V = lp.shape
    p = lp.double().exp()
    total = 0.0
    for path in itertools.product(range(V), repeat=T):
        if _collapse(path) == label:
            total += math.prod(float(p[t, s]) for t, s in enumerate(path))
    return -math.log(total) if total > 0 else math.inf


def _torch_nll(lp: torch.Tensor, label: tuple[int, ...], zero_infinity: bool = False) -> float:
    T = lp.shape[0]
    loss = F.ctc_loss(
        lp.unsqueeze(1),  # (T, N=1, V)
        torch.tensor([list(label)], dtype=torch.long),
        input_lengths=torch.tensor([T]),
        target_lengths=torch.tensor([len(label)]),
        blank=0,
        reduction="sum",
        zero_infinity=zero_infinity,
    )
    return float(loss)


@pytest.mark.parametrize(
    "T, V, label, seed",
    [
        (3, 3, (1,), 0),
        (4, 3, (1, 2), 1),
        (5, 3, (2, 1, 2), 2),
        (4, 3, (1, 1), 3),  # repeated symbol: needs a blank between the copies
        (5, 3, (1, 1), 4),
        (5, 4, (3, 3, 1), 5),
        (3, 3, (), 6),  # empty label: all-blank path only
    ],
)
def test_ctc_loss_equals_brute_force(T: int, V: int, label: tuple[int, ...], seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    lp = torch.log_softmax(torch.randn(T, V, generator=g, dtype=torch.float64), dim=-1)
    assert _torch_nll(lp, label) == pytest.approx(_brute_force_nll(lp, label), rel=1e-9, abs=1e-9)


def test_label_longer_than_frames_is_infinite() -> None:
    lp = torch.log_softmax(torch.randn(2, 3, dtype=torch.float64), dim=-1)
    assert math.isinf(_torch_nll(lp, (1, 2, 1)))
    assert math.isinf(_brute_force_nll(lp, (1, 2, 1)))
    # a repeated pair needs 3 frames (a, blank, a): 2 frames are not enough
    assert math.isinf(_torch_nll(lp, (1, 1)))
    assert _torch_nll(lp, (1, 2, 1), zero_infinity=True) == 0.0
