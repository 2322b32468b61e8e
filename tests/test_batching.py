"""MATLAB's batching options (data.*): left or right padding with any value gives the same outputs
on the valid frames, chunks of N frames with the state carried give the unsplit forward pass,
``shortest`` cuts examples with their per-frame targets, and unsorted batches are plain shuffles."""

from __future__ import annotations

import pytest
import torch

from recog.config import Config, ConfigError
from recog.data import BucketBatchSampler, Example, batcher, collate
from recog.models import CTCModel
from recog.models.rnn import RecurrentEncoder, align, valid_first, restore

CELLS = ["lstm", "gru", "rnn", "peephole_lstm"]
LENGTHS = [9, 5, 1, 7]


def _sequences(lengths=LENGTHS, dim=3, seed=0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, dim, generator=g) for n in lengths]


def _pad(seqs: list[torch.Tensor], side: str, value: float) -> tuple[torch.Tensor, torch.Tensor]:
    b = collate([Example(str(i), s, [], "") for i, s in enumerate(seqs)], padding=side, value=value)
    return b.feats, b.lengths


def _valid(out: torch.Tensor, lengths: torch.Tensor, side: str) -> list[torch.Tensor]:
    T = out.shape[1]
    return [out[i, T - n :] if side == "left" else out[i, :n] for i, n in enumerate(lengths.tolist())]


def _max_diff(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    """Largest difference (equal infinities, such as the blank's -inf of class outputs, count as 0)."""
    return max(float(torch.where(x == y, 0.0, (x - y).abs()).max()) for x, y in zip(a, b))


# ---- (a) left and right padding: the same valid-frame outputs ---------------------------------


@pytest.mark.parametrize("bidirectional", [True, False], ids=["bi", "uni"])
@pytest.mark.parametrize("cell", CELLS)
def test_left_and_right_padding_give_the_same_valid_frames(cell, bidirectional):
    torch.manual_seed(0)
    enc = RecurrentEncoder(cell, 3, 6, layers=2, bidirectional=bidirectional, dropout=0.0).eval()
    seqs = _sequences()
    with torch.no_grad():
        right, lens = _pad(seqs, "right", 0.0)
        left, _ = _pad(seqs, "left", 37.5)  # padding far from the data: it must not leak in
        out_r = _valid(enc(right, lens, "right"), lens, "right")
        out_l = _valid(enc(left, lens, "left"), lens, "left")
        alone = [enc(s.unsqueeze(0), torch.tensor([len(s)]))[0] for s in seqs]
    assert _max_diff(out_r, out_l) <= 1e-5
    assert _max_diff(out_r, alone) <= 1e-5
    # padding on the left *without* telling the encoder changes the outputs: the test can fail
    with torch.no_grad():
        wrong = _valid(enc(left, lens, "right"), lens, "left")
    assert _max_diff(out_r, wrong) > 1e-3


def test_valid_first_and_restore_are_inverse_permutations():
    x = torch.arange(2 * 5, dtype=torch.float32).view(2, 5, 1)
    lens = torch.tensor([5, 3])
    left = align(x, lens, "left")
    assert left.squeeze(-1).tolist() == [[0, 1, 2, 3, 4], [8, 9, 5, 6, 7]]  # [5 6 7] moved to the end
    assert valid_first(left, lens, "left").squeeze(-1)[1, :3].tolist() == [5, 6, 7]
    assert valid_first(left, lens, "left", reverse=True).squeeze(-1)[1, :3].tolist() == [7, 6, 5]
    for side in ("left", "right"):
        for rev in (False, True):
            assert torch.equal(restore(valid_first(left, lens, side, rev), lens, side, rev), left)


NONE, STACK = ["model.frontend=none"], ["model.frontend=stack", "model.stack=3", "model.subsample=2"]


@pytest.mark.parametrize("frontend,output", [(NONE, "ctc"), (NONE, "frame"), (NONE, "label"), (STACK, "ctc"),
                                             (STACK, "label")], ids=["none-ctc", "none-frame", "none-label",
                                                                     "stack3-sub2-ctc", "stack3-sub2-label"])
def test_model_outputs_do_not_depend_on_padding_side_or_value(frontend, output):
    cfg = Config.load(None, ["features.modality=audio", "features.audio.kind=mfcc", "features.audio.num_ceps=3",
                             "features.audio.deltas=0", "model.hidden=8", "model.layers=2", "model.dropout=0",
                             f"model.output={output}", *frontend])
    torch.manual_seed(1)
    model = CTCModel(cfg, 4).eval()
    seqs = _sequences([11, 6, 4, 9])
    with torch.no_grad():
        r, lens = _pad(seqs, "right", 0.0)
        out_r, n_r = model(r, lens, "right")
        out_l, n_l = model(_pad(seqs, "left", -5.0)[0], lens, "left")
    assert torch.equal(n_r, n_l)
    if out_r.dim() == 3:  # frame outputs come back with the valid frames first whatever the side
        out_r, out_l = _valid(out_r, n_r, "right"), _valid(out_l, n_l, "right")
    else:
        out_r, out_l = list(out_r), list(out_l)
    assert _max_diff(out_r, out_l) <= 1e-5


def test_cnn_front_end_reads_left_padding_and_other_values_as_right_zero_padding():
    cfg = Config.load(None, ["features.image.height=16", "model.cnn_channels=[4,8]", "model.cnn_pool=[[2,2],[2,1]]",
                             "model.hidden=8", "model.layers=1", "model.dropout=0"])
    torch.manual_seed(2)
    model = CTCModel(cfg, 5)  # training mode: batch norm's batch statistics must not see the padding either
    seqs = [torch.rand(n, 16) for n in (13, 8, 5)]
    with torch.no_grad():
        r, lens = _pad(seqs, "right", 0.0)
        out_r, n = model(r, lens, "right")
        out_l, _ = model(_pad(seqs, "left", 3.0)[0], lens, "left")
    assert _max_diff(_valid(out_r, n, "right"), _valid(out_l, n, "right")) <= 1e-5


# ---- (b) chunks of N frames ---------------------------------------------------------------------


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("cell", CELLS)
def test_chunks_with_the_state_carried_give_the_unsplit_forward_pass(cell, side):
    torch.manual_seed(3)
    enc = RecurrentEncoder(cell, 3, 6, layers=2, bidirectional=False, dropout=0.0).eval()
    seqs = _sequences([13, 9, 4, 2, 8])
    x, lens = _pad(seqs, side, 0.5)
    with torch.no_grad():
        whole = _valid(enc(x, lens, side), lens, side)
        for n in (1, 4, 5):
            chunked = _valid(enc(x, lens, side, chunk=n), lens, side)
            assert _max_diff(whole, chunked) <= 1e-5, f"chunk {n}"


def test_chunks_stop_gradients_at_their_boundaries():
    """Truncated backpropagation through time: the last chunk's outputs carry no gradient back into
    the frames of earlier chunks (the unsplit run does)."""
    torch.manual_seed(4)
    enc = RecurrentEncoder("lstm", 2, 4, layers=1, bidirectional=False, dropout=0.0)
    x = torch.randn(1, 8, 2, requires_grad=True)
    lens = torch.tensor([8])
    for chunk, first_chunk_grad in ((4, False), (0, True)):
        x.grad = None
        enc(x, lens, "right", chunk=chunk)[:, 4:].sum().backward()
        assert bool(x.grad[0, :4].abs().sum() > 0) == first_chunk_grad
        assert x.grad[0, 4:].abs().sum() > 0


def test_a_bidirectional_encoder_runs_every_chunk_on_its_own():
    torch.manual_seed(5)
    enc = RecurrentEncoder("gru", 3, 5, layers=2, bidirectional=True, dropout=0.0).eval()
    seq = _sequences([10])[0]
    with torch.no_grad():
        chunked = enc(seq.unsqueeze(0), torch.tensor([10]), chunk=4)[0]
        parts = [enc(seq[a : a + 4].unsqueeze(0), torch.tensor([len(seq[a : a + 4])]))[0] for a in (0, 4, 8)]
    assert _max_diff([chunked], [torch.cat(parts)]) <= 1e-6


def test_the_model_runs_its_encoder_in_chunks_of_data_sequence_length():
    over = ["features.modality=audio", "model.frontend=none", "model.hidden=6", "model.layers=1", "model.dropout=0",
            "model.bidirectional=true"]
    cfg, cfg4 = Config.load(None, over), Config.load(None, over + ["data.sequence_length=4"])
    torch.manual_seed(6)
    a = CTCModel(cfg, 3).eval()
    b = CTCModel(cfg4, 3).eval()
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 12, a.frontend.output_size)
    with torch.no_grad():
        assert b.chunk == 4 and a.chunk == 0
        assert not torch.allclose(a(x, torch.tensor([12]))[0], b(x, torch.tensor([12]))[0])  # chunk-local context


# ---- collate, shortest, sorting -----------------------------------------------------------------


def test_collate_pads_on_either_side_with_the_value():
    e = [Example("a", torch.ones(3, 2), [1], "x"), Example("b", torch.full((1, 2), 2.0), [2], "y")]
    left = collate(e, padding="left", value=-1.0)
    assert left.padding == "left" and left.lengths.tolist() == [3, 1]
    assert left.feats[1, :, 0].tolist() == [-1.0, -1.0, 2.0]
    right = collate(e)
    assert right.feats[1, :, 0].tolist() == [2.0, 0.0, 0.0] and right.targets is None


def test_shortest_cuts_features_and_per_frame_targets_but_not_sequence_targets():
    e = [Example("a", torch.ones(5, 2), [], "", torch.tensor([1, 2, 1, 2, 1])),
         Example("b", torch.ones(3, 2), [], "", torch.tensor([2, 2, 1]))]
    b = collate(e, shortest=True)
    assert b.feats.shape == (2, 3, 2) and b.lengths.tolist() == [3, 3]
    assert b.targets.tolist() == [[1, 2, 1], [2, 2, 1]]
    seq = [Example("a", torch.ones(5, 1), [], "", torch.tensor([0.5, 1.0])),
           Example("b", torch.ones(2, 1), [], "", torch.tensor([2.0, 3.0]))]
    assert collate(seq, shortest=True).targets.tolist() == [[0.5, 1.0], [2.0, 3.0]]
    frames = [Example("a", torch.ones(4, 1), [], "", torch.ones(4, 2)),
              Example("b", torch.ones(2, 1), [], "", torch.ones(2, 2))]
    padded = collate(frames).targets
    assert padded.shape == (2, 4, 2) and padded[1, 2:].abs().sum() == 0
    labels = collate([Example("a", torch.ones(3, 1), [], "", torch.tensor([1, 1, 2])),
                      Example("b", torch.ones(1, 1), [], "", torch.tensor([2]))]).targets
    assert labels.tolist() == [[1, 1, 2], [2, -100, -100]]  # cross-entropy's ignore index past the end


def test_shortest_applies_to_training_batches_only_and_not_to_ctc():
    cfg = Config.load(None, ["model.output=label", "data.sequence_length=shortest"])
    e = [Example("a", torch.ones(5, 2), [], ""), Example("b", torch.ones(3, 2), [], "")]
    assert batcher(cfg.data, training=True)(e).feats.shape[1] == 3
    assert batcher(cfg.data)(e).feats.shape[1] == 5  # inference: never depends on the batch-mates
    with pytest.raises(ConfigError, match="CTC transcripts"):
        Config.load(None, ["data.sequence_length=shortest"])


@pytest.mark.parametrize("value,ok", [("longest", True), ("shortest", True), (7, True), ("12", True), (0, False),
                                      ("middle", False), (True, False)])
def test_sequence_length_values(value, ok):
    d = {"model": {"output": "frame"}, "data": {"sequence_length": value}}
    if ok:
        n = Config.from_dict(d).data.sequence_length
        assert n == (int(value) if str(value).isdigit() else value)
    else:
        with pytest.raises(ConfigError, match="sequence_length"):
            Config.from_dict(d)


def test_unsorted_batches_are_plain_shuffles():
    lengths = list(range(1, 41))
    s = BucketBatchSampler(lengths, batch_size=4, seed=3, sort=False)
    batches = s.batches()
    assert sorted(i for b in batches for i in b) == list(range(40)) and all(len(b) == 4 for b in batches)
    spread = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches]
    assert sum(spread) / len(spread) > 10  # sorted buckets would hold lengths within a few of each other
    sorted_spread = [max(lengths[i] for i in b) - min(lengths[i] for i in b)
                     for b in BucketBatchSampler(lengths, batch_size=4, seed=3).batches()]
    assert max(sorted_spread) <= 6
    assert batches == BucketBatchSampler(lengths, batch_size=4, seed=3, sort=False).batches()  # deterministic
    s.set_epoch(1)
    assert s.batches() != batches
    assert BucketBatchSampler(lengths, 4, shuffle=False, sort=False).batches()[0] == [0, 1, 2, 3]
