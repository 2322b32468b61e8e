"""Tests for CTC prefix beam search against greedy decoding and brute force."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest

from recog.decode import greedy, prefix_beam_search


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def _collapse(path: tuple[int, ...], blank: int = 0) -> tuple[int, ...]:
    out = []
    prev = None
    for s in path:
        if s != prev and s != blank:
            out.append(s)
        prev = s
    return tuple(out)


def _exhaustive(lp: np.ndarray) -> dict[tuple[int, ...], float]:
    """Log probability of every label sequence, summing all V^T paths."""
    T, V = lp.shape
    probs: dict[tuple[int, ...], float] = defaultdict(float)
    p = np.exp(lp)
    for path in itertools.product(range(V), repeat=T):
        probs[_collapse(path)] += float(np.prod(p[np.arange(T), path]))
    return {k: float(np.log(v)) for k, v in probs.items()}


def test_beam1_equals_greedy_on_peaky() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        T, V = int(rng.integers(1, 30)), int(rng.integers(2, 8))
        logits = rng.standard_normal((T, V))
        logits[np.arange(T), rng.integers(0, V, size=T)] += 10.0  # one dominant symbol per frame
        lp = _log_softmax(logits)
        b, g = prefix_beam_search(lp, beam=1)[0], greedy(lp)
        assert b.tokens == g.tokens
        assert b.start_frames == g.start_frames and b.end_frames == g.end_frames


@pytest.mark.parametrize("seed", range(12))
def test_beam_matches_exhaustive(seed: int) -> None:
    rng = np.random.default_rng(seed)
    T = int(rng.integers(1, 6))
    lp = _log_softmax(1.5 * rng.standard_normal((T, 3)))
    exact = _exhaustive(lp)
    best = max(exact, key=exact.get)
    hyps = prefix_beam_search(lp, beam=1000, prune_logp=None, nbest=len(exact))
    assert tuple(hyps[0].tokens) == best
    assert hyps[0].score == pytest.approx(exact[best], abs=1e-6)
    # with an unlimited beam every prefix's score is exact
    assert len(hyps) == len(exact)
    for h in hyps:
        assert h.score == pytest.approx(exact[tuple(h.tokens)], abs=1e-6)


def test_repeated_label_needs_blank() -> None:
    # frames strongly say a, blank, a -> "a a"; a, a, a -> "a"
    a_blank_a = np.log(np.array([[0.01, 0.98, 0.01], [0.98, 0.01, 0.01], [0.01, 0.98, 0.01]]))
    assert prefix_beam_search(a_blank_a, beam=5)[0].tokens == [1, 1]
    aaa = np.log(np.array([[0.01, 0.98, 0.01]] * 3))
    assert prefix_beam_search(aaa, beam=5)[0].tokens == [1]


def test_nbest_sorted_and_frames_valid() -> None:
    rng = np.random.default_rng(3)
    T, V = 25, 6
    lp = _log_softmax(2.0 * rng.standard_normal((T, V)))
    hyps = prefix_beam_search(lp, beam=8, nbest=5)
    assert len(hyps) == 5
    scores = [h.score for h in hyps]
    assert scores == sorted(scores, reverse=True)
    assert len({tuple(h.tokens) for h in hyps}) == 5
    for h in hyps:
        n = len(h.tokens)
        assert len(h.start_frames) == len(h.end_frames) == len(h.confidences) == n
        for i in range(n):
            assert 0 <= h.start_frames[i] <= h.end_frames[i] < T
            assert 0.0 <= h.confidences[i] <= 1.0
            if i:
                assert h.start_frames[i] > h.end_frames[i - 1]


def test_frames_on_clear_case_match_greedy() -> None:
    rng = np.random.default_rng(11)
    ids = [0, 1, 1, 0, 2, 2, 0, 0, 1, 3, 3, 0]
    logits = rng.standard_normal((len(ids), 4))
    logits[np.arange(len(ids)), ids] += 12.0
    lp = _log_softmax(logits)
    b, g = prefix_beam_search(lp, beam=4)[0], greedy(lp)
    assert b.tokens == g.tokens == [1, 2, 1, 3]
    assert b.start_frames == g.start_frames
    assert b.end_frames == g.end_frames
    assert b.confidences == pytest.approx(g.confidences)


def test_empty_input_and_pruning() -> None:
    h = prefix_beam_search(np.zeros((0, 4)))[0]
    assert h.tokens == [] and h.score == 0.0
    lp = np.log(np.array([[0.9, 0.1 - 1e-6, 1e-6]] * 4))
    # symbol 2 is below the prune threshold everywhere, so it never appears
    for h in prefix_beam_search(lp, beam=50, nbest=50):
        assert 2 not in h.tokens
