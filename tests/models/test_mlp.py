"""The framewise MLP (model.cell: mlp): a window of 2w + 1 frames, zeros outside each sequence,
the same valid-frame outputs for left and right padding of any value and for a sequence alone."""

from __future__ import annotations

import pytest
import torch

from recog.config import Config
from recog.data import Example, collate
from recog.models import CTCModel
from recog.models.mlp import FramewiseMLP

LENGTHS = [9, 5, 1, 7]


def _pad(seqs, side, value):
    b = collate([Example(str(i), s, [], "") for i, s in enumerate(seqs)], padding=side, value=value)
    return b.feats, b.lengths


def test_padding_side_and_value_do_not_change_valid_frames():
    torch.manual_seed(0)
    mlp = FramewiseMLP(3, 8, layers=2, context=2, dropout=0.0).eval()
    seqs = [torch.randn(n, 3) for n in LENGTHS]
    with torch.no_grad():
        right, lens = _pad(seqs, "right", 0.0)
        left, _ = _pad(seqs, "left", 37.5)
        out_r, out_l = mlp(right, lens, "right"), mlp(left, lens, "left")
        T = right.shape[1]
        for i, (s, n) in enumerate(zip(seqs, LENGTHS)):
            alone = mlp(s.unsqueeze(0), torch.tensor([n]))[0]
            assert torch.allclose(out_r[i, :n], alone, atol=1e-6)
            assert torch.allclose(out_l[i, T - n :], alone, atol=1e-6)


@pytest.mark.parametrize("w", [0, 1, 3])
def test_a_frame_sees_w_frames_each_side_and_no_more(w):
    torch.manual_seed(1)
    mlp = FramewiseMLP(2, 5, layers=3, context=w, dropout=0.0).eval()
    x = torch.randn(1, 12, 2)
    lens = torch.tensor([12])
    t = 5
    with torch.no_grad():
        base = mlp(x, lens)[0, t]
        for k in range(12):
            y = x.clone()
            y[0, k] += 1.0
            changed = not torch.allclose(mlp(y, lens)[0, t], base)
            assert changed == (abs(k - t) <= w), (k, t, w)


def test_a_frame_model_with_an_mlp_encoder_builds_and_runs():
    cfg = Config.from_dict({"features": {"modality": "audio", "audio": {"num_mel_bins": 8, "deltas": 0}},
                            "model": {"frontend": "none", "cell": "mlp", "context": 2, "hidden": 16, "layers": 2,
                                      "output": "frame", "dropout": 0.0}})
    model = CTCModel(cfg, 5).eval()
    x = torch.randn(2, 11, model.frontend.output_size)
    out, lens = model(x, torch.tensor([11, 6]))
    assert out.shape == (2, 11, 5) and lens.tolist() == [11, 6]
    with pytest.raises(ValueError, match="layers"):
        FramewiseMLP(3, 4, layers=0, context=1, dropout=0.0)
