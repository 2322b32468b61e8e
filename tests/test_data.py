"""Data pipeline: CTC frame needs, filtering, the bucketed sampler (incl. resume and DDP), collate."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from recog.config import FeatureConfig
from recog.data import BucketBatchSampler, Example, UtteranceDataset, collate, ctc_min_frames, filter_trainable
from recog.features.cmvn import CMVN
from recog.manifest import Utterance
from recog.tokens import SymbolTable


def test_ctc_min_frames_known_answers():
    assert ctc_min_frames([1, 1, 2]) == 4
    assert ctc_min_frames([1, 2, 3]) == 3
    assert ctc_min_frames([]) == 0
    assert ctc_min_frames([5]) == 1
    assert ctc_min_frames([2, 2, 2]) == 5
    assert ctc_min_frames([1, 2, 1]) == 3


def test_filter_trainable():
    st = SymbolTable.from_texts(["ab", "a b"])
    utts = [
        Utterance("good", "g.png", "a b", num_frames=20),
        Utterance("unknown", "u.png", "a z", num_frames=20),
        Utterance("short", "s.png", "aa", num_frames=4),     # needs 3 output frames, has 4 // 2 = 2
        Utterance("exact", "e.png", "aa", num_frames=6),     # needs 3, has 3: fits
        Utterance("empty", "x.png", "", num_frames=20),
        Utterance("notext", "n.png", None, num_frames=20),
        Utterance("noframes", "f.png", "ab", num_frames=None),
    ]
    logged: list[str] = []
    keep = filter_trainable(utts, st, lambda n: n // 2, log=logged.append)
    assert [u.id for u in keep] == ["good", "exact"]
    text = "\n".join(logged)
    assert "skipping 5 of 7" in text
    for uid in ("unknown", "short", "empty", "notext", "noframes"):
        assert any(line.strip().startswith(f"{uid}:") for line in logged), uid
    assert "z" in next(line for line in logged if "unknown:" in line)
    assert "3 output frames needed" in next(line for line in logged if "short:" in line)


def test_filter_trainable_silent_when_all_good():
    st = SymbolTable.from_texts(["ab"])
    logged: list[str] = []
    keep = filter_trainable([Utterance("a", "a", "ab", num_frames=5)], st, lambda n: n, log=logged.append)
    assert len(keep) == 1 and logged == []


# ---- BucketBatchSampler -----------------------------------------------------------------------


def _lengths(n=53, seed=0):
    rng = random.Random(seed)
    return [rng.randint(5, 120) for _ in range(n)]


def test_sampler_covers_every_index_once_and_respects_batch_size():
    lengths = _lengths()
    s = BucketBatchSampler(lengths, batch_size=4, seed=3)
    for epoch in range(3):
        s.set_epoch(epoch)
        batches = list(s)
        flat = [i for b in batches for i in b]
        assert sorted(flat) == list(range(len(lengths)))
        assert all(1 <= len(b) <= 4 for b in batches)
        assert len(s) == len(batches) == 14  # ceil(53 / 4)


def test_sampler_batches_similar_lengths():
    lengths = _lengths()
    s = BucketBatchSampler(lengths, batch_size=4, seed=0)
    spread = np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in s])
    assert spread < 25  # random batches of 4 from 5..120 would spread ~60


def test_sampler_max_frames():
    lengths = _lengths()
    s = BucketBatchSampler(lengths, batch_size=16, max_frames=200, seed=1)
    batches = list(s)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        longest = max(lengths[i] for i in b)
        assert len(b) == 1 or longest * len(b) <= 200, (b, longest)
        assert len(b) <= 16
    # items longer than max_frames still get a batch of their own
    s = BucketBatchSampler([300, 10, 10, 250], batch_size=4, max_frames=100, shuffle=False)
    assert [sorted(b) for b in s] == [[1, 2], [3], [0]]


def test_sampler_without_shuffle_is_sorted():
    s = BucketBatchSampler([5, 1, 4, 2, 3], batch_size=2, shuffle=False)
    assert list(s) == [[1, 3], [4, 2], [0]]


def test_sampler_deterministic_per_seed_and_epoch():
    lengths = _lengths()
    a = BucketBatchSampler(lengths, batch_size=4, seed=7)
    b = BucketBatchSampler(lengths, batch_size=4, seed=7)
    for e in (0, 5):
        a.set_epoch(e)
        b.set_epoch(e)
        assert list(a) == list(b)
    a.set_epoch(0)
    e0 = list(a)
    a.set_epoch(1)
    e1 = list(a)
    assert e0 != e1
    c = BucketBatchSampler(lengths, batch_size=4, seed=8)
    assert list(c) != e0


def test_sampler_resume_mid_epoch():
    lengths = _lengths()
    s = BucketBatchSampler(lengths, batch_size=4, seed=2)
    s.set_epoch(4)
    full = list(s)
    for k in (0, 1, 5, len(full)):
        r = BucketBatchSampler(lengths, batch_size=4, seed=2)
        r.set_epoch(4, start=k)
        assert list(r) == full[k:]
        assert len(r) == len(full) - k


@pytest.mark.parametrize("n", [53, 8])
def test_sampler_two_ranks_split_the_single_process_batches_of_twice_the_size(n):
    lengths = _lengths(n)
    ranks = []
    for rank in range(2):
        s = BucketBatchSampler(lengths, batch_size=4, seed=5, rank=rank, world=2)
        s.set_epoch(2)
        ranks.append(list(s))
        assert len(s) == len(ranks[-1])
    r0, r1 = ranks
    assert len(r0) == len(r1) > 0
    i0, i1 = {i for b in r0 for i in b}, {i for b in r1 for i in b}
    assert not i0 & i1
    # batch k of rank 0 + batch k of rank 1 = batch k of one process with batch 8
    single = BucketBatchSampler(lengths, batch_size=8, seed=5)
    single.set_epoch(2)
    assert [a + b for a, b in zip(r0, r1)] == list(single)
    assert single.global_sizes() == s.global_sizes() == [len(a) + len(b) for a, b in zip(r0, r1)]
    assert all(abs(len(a) - len(b)) <= 1 for a, b in zip(r0, r1))


def test_sampler_max_frames_is_per_process():
    lengths = _lengths(40)
    two = [BucketBatchSampler(lengths, batch_size=99, max_frames=300, seed=1, rank=r, world=2) for r in range(2)]
    one = BucketBatchSampler(lengths, batch_size=99, max_frames=600, seed=1)
    assert [a + b for a, b in zip(*(s.batches() for s in two))] == one.batches()


# ---- collate and dataset ----------------------------------------------------------------------


def test_collate_pads_with_zeros():
    e1 = Example("a", torch.ones(3, 2), [1, 2], "ab")
    e2 = Example("b", torch.full((5, 2), 2.0), [3], "c")
    e3 = Example("c", torch.full((1, 2), -1.0), [], "")
    b = collate([e1, e2, e3])
    assert b.ids == ["a", "b", "c"]
    assert b.feats.shape == (3, 5, 2) and b.feats.dtype == torch.float32
    assert torch.equal(b.feats[0, :3], torch.ones(3, 2))
    assert torch.equal(b.feats[0, 3:], torch.zeros(2, 2))
    assert torch.equal(b.feats[1], torch.full((5, 2), 2.0))
    assert torch.equal(b.feats[2, 0], torch.tensor([-1.0, -1.0]))
    assert torch.equal(b.feats[2, 1:], torch.zeros(4, 2))
    assert b.lengths.tolist() == [3, 5, 1]
    assert b.labels.tolist() == [1, 2, 3] and b.labels.dtype == torch.long
    assert b.label_lengths.tolist() == [2, 1, 0]
    assert b.texts == ["ab", "c", ""]


def test_dataset_reads_cache_applies_cmvn_and_encodes(tmp_path):
    f = np.arange(12, dtype=np.float16).reshape(4, 3)
    np.save(tmp_path / "u1.npy", f)
    st = SymbolTable.from_texts(["a b"])
    u = Utterance("u1", str(tmp_path / "missing.png"), "b a", feats=str(tmp_path / "u1.npy"), num_frames=4)
    cmvn = CMVN(np.array([1.0, 1.0, 1.0]), np.array([2.0, 2.0, 2.0]))
    ds = UtteranceDataset([u], FeatureConfig(), st, cmvn=cmvn)
    ex = ds[0]
    assert len(ds) == 1 and ex.id == "u1" and ex.text == "b a"
    assert ex.feats.dtype == torch.float32
    np.testing.assert_allclose(ex.feats.numpy(), (f.astype(np.float32) - 1.0) / 2.0)
    assert ex.labels == st.encode("b a") == [st.index["b"], st.index["<space>"], st.index["a"]]


def test_sampler_gives_every_rank_a_share_of_a_small_batch():
    from recog.data import BucketBatchSampler

    per_rank = [BucketBatchSampler([5, 6, 7], batch_size=8, rank=r, world=2).batches() for r in range(2)]
    assert [len(b) for b in per_rank] == [1, 1]
    assert sorted(per_rank[0][0] + per_rank[1][0]) == [0, 1, 2]
