"""Tests for greedy CTC decoding (single utterance and batched)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recog.decode import Hypothesis, greedy, greedy_batch


def _hand_matrix() -> np.ndarray:
    # frames: blank a a blank b b b blank a c   (V = 4: blank, a=1, b=2, c=3)
    best = [0, 1, 1, 0, 2, 2, 2, 0, 1, 3]
    peak = [0.9, 0.6, 0.8, 0.7, 0.5, 0.95, 0.6, 0.9, 0.7, 0.55]
    V = 4
    p = np.zeros((len(best), V))
    for t, (k, q) in enumerate(zip(best, peak)):
        p[t] = (1 - q) / (V - 1)
        p[t, k] = q
    return np.log(p)


def test_greedy_hand_matrix() -> None:
    lp = _hand_matrix()
    h = greedy(lp)
    assert isinstance(h, Hypothesis)
    assert h.tokens == [1, 2, 1, 3]
    assert h.start_frames == [1, 4, 8, 9]
    assert h.end_frames == [2, 6, 8, 9]
    assert h.confidences == pytest.approx([0.8, 0.95, 0.7, 0.55])
    assert h.score == pytest.approx(lp.max(axis=1).sum())


def test_greedy_accepts_tensor_and_collapses_repeats() -> None:
    lp = torch.log_softmax(torch.tensor([[0.0, 5.0], [0.0, 5.0], [5.0, 0.0], [0.0, 5.0]]), dim=-1)
    h = greedy(lp)
    assert h.tokens == [1, 1]
    assert h.start_frames == [0, 3] and h.end_frames == [1, 3]
    assert all(0.0 <= c <= 1.0 for c in h.confidences)


def test_greedy_empty_and_all_blank() -> None:
    assert greedy(np.zeros((0, 3))).tokens == []
    h = greedy(np.log(np.full((4, 3), [0.8, 0.1, 0.1])))
    assert h.tokens == [] and h.start_frames == [] and h.confidences == []


def test_greedy_custom_blank() -> None:
    lp = np.log(np.array([[0.1, 0.9], [0.9, 0.1], [0.1, 0.9]]))
    assert greedy(lp, blank=1).tokens == [0]


def test_greedy_batch_matches_single() -> None:
    g = torch.Generator().manual_seed(0)
    B, T, V = 4, 12, 5
    lp = torch.log_softmax(3 * torch.randn(B, T, V, generator=g), dim=-1)
    lengths = torch.tensor([12, 7, 1, 0])
    hyps = greedy_batch(lp, lengths)
    assert len(hyps) == B
    for b in range(B):
        ref = greedy(lp[b, : lengths[b]])
        assert hyps[b].tokens == ref.tokens
        assert hyps[b].start_frames == ref.start_frames
        assert hyps[b].end_frames == ref.end_frames
        assert hyps[b].confidences == pytest.approx(ref.confidences)
        assert hyps[b].score == pytest.approx(ref.score)
    assert greedy_batch(lp)[0].tokens == greedy(lp[0]).tokens
    with pytest.raises(ValueError):
        greedy_batch(lp, [1, 2])
