"""Streaming the model (recog.models.streaming) and the latency-controlled BLSTM (recog.models.latency):
a sequence fed piece by piece gives the one-shot outputs; an LC-BLSTM's stream equals its own
whole-utterance LC forward pass, which with chunks as long as the sequence is the ordinary BLSTM's."""

from __future__ import annotations

import pytest
import torch

from recog.config import Config, ConfigError
from recog.data import Example, collate
from recog.models import CTCModel
from recog.models.streaming import ModelStream

CELLS = ["lstm", "gru", "rnn", "peephole_lstm"]
SIZES = [1, 2, 3, 7, 50]  # 1, sizes that do not divide the length (37), one longer than it


def _model(cell: str, bidirectional: bool, *over: str, stack: int = 3, subsample: int = 2, seed: int = 0) -> CTCModel:
    cfg = Config.load(None, ["features.modality=audio", "features.audio.num_mel_bins=5", "features.audio.deltas=0",
                             "model.frontend=stack", f"model.stack={stack}", f"model.subsample={subsample}",
                             f"model.cell={cell}", "model.hidden=6", "model.layers=2", "model.dropout=0",
                             f"model.bidirectional={str(bidirectional).lower()}", *over])
    torch.manual_seed(seed)
    return CTCModel(cfg, 5).eval()


def _whole(model: CTCModel, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        out, n = model(x.unsqueeze(0), torch.tensor([x.shape[0]]))
    return out[0, : n[0]]


def _streamed(model: CTCModel, x: torch.Tensor, size: int, **window) -> torch.Tensor:
    s = ModelStream(model, **window)
    outs = [s.push(x[a : a + size]) for a in range(0, x.shape[0], size)]
    return torch.cat(outs + [s.push(x[:0], final=True)])


def _diff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape
    return float((a - b).abs().max())


@pytest.mark.parametrize("cell", CELLS)
def test_a_unidirectional_model_streams_its_one_shot_outputs(cell):
    model = _model(cell, False)
    x = torch.randn(37, 6)  # 37 frames: stacking 3 with step 2 leaves a frame over at a boundary
    whole = _whole(model, x)
    assert whole.shape[0] == 18
    for size in SIZES:
        assert _diff(_streamed(model, x, size), whole) <= 1e-5, f"pieces of {size}"
    # every output comes as soon as its stacked frames are in: nothing is held back to the end
    s = ModelStream(model)
    assert s.push(x[:3]).shape[0] == 1 and s.push(x[3:4]).shape[0] == 0 and s.push(x[4:5]).shape[0] == 1


@pytest.mark.parametrize("cell", CELLS)
def test_an_lc_blstm_streams_its_own_whole_utterance_outputs(cell):
    model = _model(cell, True, "model.chunk=4", "model.right_context=2")
    x = torch.randn(37, 6)
    whole = _whole(model, x)
    for size in SIZES:
        assert _diff(_streamed(model, x, size), whole) <= 1e-5, f"pieces of {size}"
    plain = _model(cell, True)  # same weights, ordinary BLSTM: the chunks really cut its context
    assert _diff(_whole(plain, x), whole) > 1e-3


@pytest.mark.parametrize("cell", CELLS)
def test_an_lc_blstm_with_chunks_as_long_as_the_input_is_the_blstm(cell):
    x = torch.randn(37, 6)
    plain = _whole(_model(cell, True), x)
    for over in (["model.chunk=18"], ["model.chunk=40", "model.right_context=3"]):
        assert _diff(_whole(_model(cell, True, *over), x), plain) <= 1e-5
    # a plain BLSTM streamed latency-controlled with a chunk as long as the input: its own outputs
    assert _diff(_streamed(_model(cell, True), x, 5, chunk=18), plain) <= 1e-5


@pytest.mark.parametrize("side", ["right", "left"])
def test_an_lc_blstm_batch_gives_each_sequence_its_own_outputs(side):
    model = _model("lstm", True, "model.chunk=3", "model.right_context=2", stack=1, subsample=1)
    seqs = [torch.randn(n, 6) for n in (11, 4, 1, 9)]
    b = collate([Example(str(i), s, [], "") for i, s in enumerate(seqs)], padding=side, value=7.0)
    with torch.no_grad():
        out, n = model(b.feats, b.lengths, side)
    for i, s in enumerate(seqs):
        assert _diff(out[i, : n[i]], _whole(model, s)) <= 1e-5


def test_the_right_context_is_read_and_then_dropped():
    """An output of chunk k depends on frames up to the end of its right context and on no later one."""
    model = _model("gru", True, "model.chunk=4", "model.right_context=2", stack=1, subsample=1)
    x = torch.randn(20, 6)
    a = _whole(model, x)
    y = x.clone()
    y[9] += 1.0  # chunk 1 is frames 4-7, its right context 8-9
    b = _whole(model, y)
    assert _diff(a[:4], b[:4]) == 0.0  # chunk 0 reads frames 0-5
    assert _diff(a[4:8], b[4:8]) > 1e-6
    z = x.clone()
    z[10] += 1.0  # past chunk 1's context
    assert _diff(_whole(model, z)[:8], a[:8]) == 0.0


def test_a_tiny_lc_blstm_learns():
    model = _model("lstm", True, "model.chunk=3", "model.right_context=2", stack=1, subsample=1, seed=1).train()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 16, 6, generator=g)
    lengths = torch.tensor([16, 14, 12, 16])
    targets = torch.randint(1, 5, (4, 3), generator=g)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(40):
        logp, n = model(x, lengths)
        loss = torch.nn.functional.ctc_loss(logp.transpose(0, 1), targets, n, torch.full((4,), 3))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses[:: 10]


@pytest.mark.parametrize("over, problem", [
    (["model.right_context=2"], "needs model.chunk"),
    (["model.chunk=4", "model.bidirectional=false"], "bidirectional"),
    (["model.chunk=4", "data.sequence_length=8"], "use one"),
    (["model.chunk=-1"], ">= 0"),
])
def test_lc_settings_that_cannot_work_are_refused(over, problem):
    with pytest.raises(ConfigError, match=problem):
        Config.load(None, over)


def test_what_cannot_stream_is_refused():
    with pytest.raises(ValueError, match="chunk size"):
        ModelStream(_model("lstm", True))  # a plain BLSTM needs an LC window
    with pytest.raises(ValueError, match="right context"):
        ModelStream(_model("lstm", False), right_context=2)
    label = CTCModel(Config.load(None, ["features.modality=audio", "model.frontend=stack", "model.output=label",
                                        "model.hidden=4", "model.layers=1"]), 3)
    with pytest.raises(ValueError, match="one output per sequence"):
        ModelStream(label)
    image = CTCModel(Config.load(None, ["model.hidden=4", "model.layers=1", "model.bidirectional=false"]), 3)
    with pytest.raises(ValueError, match="stack front end"):
        ModelStream(image)


def test_activations_of_an_lc_blstm_are_refused_not_misdrawn():
    from recog.models.inspect import layer_states

    with pytest.raises(ValueError, match="overlapping windows"):
        layer_states(_model("lstm", True, "model.chunk=4"), torch.randn(20, 6), 0)
