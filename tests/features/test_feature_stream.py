"""Features of audio that arrives in pieces (recog.features.stream) are the whole signal's; the
streaming CMVN (RunningCMVN) does not depend on where the pieces are cut."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchaudio

from recog.config import AudioFeatures
from recog.features.audio import waveform_features
from recog.features.cmvn import CMVN, RunningCMVN, UtteranceCMVN, stream_normaliser
from recog.features.stream import AudioFeatureStream, StreamResampler


def _pieces(x, sizes):
    """x cut into pieces of the sizes in turn (cycled)."""
    out, a, k = [], 0, 0
    while a < len(x):
        out.append(x[a : a + sizes[k % len(sizes)]])
        a += sizes[k % len(sizes)]
        k += 1
    return out


@pytest.mark.parametrize("kind, deltas", [("fbank", 2), ("fbank", 0), ("mfcc", 1)])
def test_streamed_features_are_the_whole_signals(kind, deltas):
    cfg = AudioFeatures(kind=kind, deltas=deltas)
    wav = torch.from_numpy(np.random.default_rng(0).uniform(-0.3, 0.3, 12345).astype(np.float32))
    whole = waveform_features(wav, cfg)
    for sizes in ([1000], [1, 159, 161, 400], [7], [20000]):
        s = AudioFeatureStream(cfg)
        got = np.concatenate([s.push(p) for p in _pieces(wav, sizes)] + [s.push(wav[:0], final=True)])
        assert got.shape == whole.shape
        # float32 rounding: log-mel values of 10-20, MFCC C0 about 100
        np.testing.assert_allclose(got, whole, rtol=1e-6, atol=1e-4, err_msg=str(sizes))


def test_frames_come_as_soon_as_the_deltas_can_be_computed():
    cfg = AudioFeatures(deltas=2)  # 25 ms frames every 10 ms at 16 kHz: 400 and 160 samples
    s = AudioFeatureStream(cfg)
    # 9 frames need 400 + 8 * 160 samples; Δ+ΔΔ hold back the last 4 of them
    assert s.push(torch.zeros(400 + 8 * 160 - 1)).shape[0] == 4
    assert s.push(torch.zeros(1)).shape[0] == 1
    assert s.push(torch.zeros(0), final=True).shape[0] == 4


@pytest.mark.parametrize("orig, new", [(22050, 16000), (8000, 16000), (44100, 16000)])
def test_a_streamed_resampling_is_the_whole_signals(orig, new):
    x = torch.from_numpy(np.random.default_rng(1).uniform(-1, 1, 9000).astype(np.float32))
    whole = torchaudio.functional.resample(x, orig, new)
    for sizes in ([1000], [1, 333, 2048], [50000]):
        r = StreamResampler(orig, new)
        got = torch.cat([r.push(p) for p in _pieces(x, sizes)] + [r.push(x[:0], final=True)])
        assert got.shape == whole.shape and float((got - whole).abs().max()) <= 1e-5, sizes


def test_running_cmvn_does_not_depend_on_the_pieces_and_ends_at_the_utterance_statistics():
    f = np.random.default_rng(2).normal(3.0, 2.0, (50, 4)).astype(np.float32)
    one = RunningCMVN()(f)
    r = RunningCMVN()
    cut = np.concatenate([r(p) for p in _pieces(f, [1, 7, 3])])
    assert np.abs(one - cut).max() <= 1e-5
    assert np.abs(one[-1] - UtteranceCMVN()(f)[-1]).max() <= 1e-4  # the last frame has seen them all
    assert np.abs(one[:10] - UtteranceCMVN()(f)[:10]).max() > 0.1  # early frames differ
    assert np.all(one[0] == 0)
    g = CMVN(np.ones(4), np.ones(4) * 2)
    assert stream_normaliser(g) is g and isinstance(stream_normaliser(UtteranceCMVN()), RunningCMVN)
    assert stream_normaliser(None) is None
