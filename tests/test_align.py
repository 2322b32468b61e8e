"""Forced alignment: known answers, torchaudio vs our Viterbi, CTM round trip, boundary scoring."""

from __future__ import annotations

import torch

from recog.align import (Segment, apply_offsets, boundary_accuracy, fit_offsets, forced_align, read_ctm,
                         spans_to_segments, viterbi_align, write_ctm)


def _peaky(T: int, V: int, path: list[int], seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(T, V, generator=g)
    for t, s in enumerate(path):
        x[t, s] += 6.0
    return torch.log_softmax(x, -1)


def test_alignment_recovers_the_planted_path():
    path = [0, 1, 1, 0, 2, 0, 0, 2, 3, 3, 0]
    logp = _peaky(len(path), 5, path)
    spans = forced_align(logp, [1, 2, 2, 3])
    assert spans == [(1, 1, 2), (2, 4, 4), (2, 7, 7), (3, 8, 9)]
    assert viterbi_align(logp, [1, 2, 2, 3]) == path


def test_our_viterbi_matches_torchaudio_on_random_inputs():
    from torchaudio.functional import forced_align as ta

    for seed in range(5):
        logp = torch.log_softmax(torch.randn(30, 6, generator=torch.Generator().manual_seed(seed)), -1)
        targets = [1, 3, 3, 2, 5, 4]
        ours = viterbi_align(logp, targets)
        theirs = ta(logp.unsqueeze(0), torch.tensor([targets], dtype=torch.int32))[0][0].tolist()
        score = lambda p: float(sum(logp[t, s] for t, s in enumerate(p)))  # noqa: E731
        assert abs(score(ours) - score(theirs)) < 1e-4


def test_segments_tile_and_ctm_round_trip(tmp_path):
    segs = spans_to_segments([(1, 2, 3), (2, 6, 6), (1, 9, 11)], ["<blk>", "a", "b"], 0.02, total=0.3)
    assert [(s.symbol, s.start, s.end) for s in segs] == [("a", 0.04, 0.12), ("b", 0.12, 0.18), ("a", 0.18, 0.3)]
    write_ctm(tmp_path / "x.ctm", [("u1", segs)])
    back = read_ctm(tmp_path / "x.ctm")["u1"]
    assert [(s.symbol, s.start, round(s.end, 3)) for s in back] == [("a", 0.04, 0.12), ("b", 0.12, 0.18), ("a", 0.18, 0.3)]


def test_boundary_accuracy_counts_within_tolerances():
    ref = {"u": [Segment("a", 0.0, 0.1), Segment("b", 0.1, 0.3)], "v": [Segment("a", 0.0, 0.1)]}
    hyp = {"u": [Segment("a", 0.005, 0.115), Segment("b", 0.115, 0.35)], "v": [Segment("b", 0.0, 0.1)]}
    r = boundary_accuracy(ref, hyp)
    assert r["boundaries"] == 3 and r["skipped"] == ["v"]
    # boundaries: 0.0 vs 0.005 (5 ms), 0.1 vs 0.115 (15 ms), 0.3 vs 0.35 (50 ms)
    assert [round(r["within"][t], 2) for t in (0.010, 0.020, 0.040)] == [33.33, 66.67, 66.67]


def _segs(starts, symbols, end):
    return [Segment(sym, a, b) for sym, a, b in zip(symbols, starts, starts[1:] + [end])]


def test_fit_offsets_recovers_per_symbol_bias_and_apply_fixes_it():
    # the aligner puts every "t" 30 ms late and every "a" 10 ms early, and ends 20 ms late
    ref, hyp = {}, {}
    for i in range(6):
        r = _segs([0.1 * i, 0.1 * i + 0.2, 0.1 * i + 0.35], ["t", "a", "t"], 0.1 * i + 0.5)
        ref[f"u{i}"] = r
        hyp[f"u{i}"] = _segs([r[0].start + 0.03, r[1].start - 0.01, r[2].start + 0.03], ["t", "a", "t"], r[-1].end + 0.02)
    hyp["odd"], ref["odd"] = _segs([0.0], ["a"], 0.1), _segs([0.0, 0.05], ["a", "t"], 0.1)  # sequences differ: unused
    off = fit_offsets(ref, hyp)
    assert off == {"<end>": -0.02, "a": 0.01, "t": -0.03}
    fixed = {u: apply_offsets(s, off) for u, s in hyp.items()}
    assert boundary_accuracy(ref, hyp)["within"][0.010] < 30
    assert boundary_accuracy(ref, fixed)["within"][0.010] == 100.0
    # rare symbols get no correction
    assert fit_offsets(ref, hyp, min_count=100) == {}


def test_apply_offsets_keeps_segments_ordered_and_tiling():
    segs = _segs([0.0, 0.02, 0.05], ["k", "a", "k"], 0.2)
    out = apply_offsets(segs, {"k": -0.03, "a": -0.05, "<end>": 0.01})
    starts = [s.start for s in out]
    assert starts == [0.0, 0.0, 0.02] and out[-1].end == 0.21
    assert all(a.end == b.start for a, b in zip(out, out[1:]))
    assert apply_offsets([], {"k": 1.0}) == []
