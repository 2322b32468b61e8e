"""Greedy decoding of log-probs that arrive block by block (GreedyStream) is greedy of them all."""

from __future__ import annotations

import numpy as np

from recog.decode.greedy import GreedyStream, greedy


def _logp(ids: list[int], V: int = 4) -> np.ndarray:
    x = np.full((len(ids), V), np.log(0.1 / (V - 1)))
    x[np.arange(len(ids)), ids] = np.log(0.9)
    return x


def test_a_symbol_repeated_across_a_block_boundary_is_one_symbol():
    x = _logp([0, 2, 2, 2, 0, 2, 3, 3])  # "2 2 3": the blank separates the two 2s
    for cut in range(1, 8):
        g = GreedyStream()
        g.push(x[:cut])
        g.push(x[cut:])
        h = g.hypothesis()
        assert h.tokens == [2, 2, 3] and h.start_frames == [1, 5, 6] and h.end_frames == [3, 5, 7], cut


def test_any_blocks_give_greedy_of_the_whole():
    rng = np.random.default_rng(0)
    for trial in range(100):
        T = int(rng.integers(0, 30))
        x = np.log(rng.dirichlet(np.full(3, 0.3), size=T) + 1e-12)
        g, a = GreedyStream(), 0
        while a < T:
            b = a + int(rng.integers(1, 5))
            g.push(x[a:b])
            a = b
        h, ref = g.hypothesis(), greedy(x.reshape(T, 3))
        assert (h.tokens, h.start_frames, h.end_frames, h.confidences) == \
               (ref.tokens, ref.start_frames, ref.end_frames, ref.confidences), trial
        assert abs(h.score - ref.score) <= 1e-9
    assert GreedyStream().hypothesis().tokens == []
